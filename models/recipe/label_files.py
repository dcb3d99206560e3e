#!/usr/bin/env python3
"""Writes OUT/labels.tsv: one row per labelled file (path, label, package, split).

usage: label_files.py OUT

Labels come from three places:
  * renders (OUT/midi/*.tsv from make_notes.py): the label of the program or drum note played;
  * speech made by make_speech.py: speech; noise made by make_noise.py: noise;
  * real sample files, by the names their packages give them (folder and file name). The rules
    below are conservative: a file is labelled only when its name says plainly what it is; every
    other file stays unlabelled (it still serves self-supervised pretraining).
Split by package: freepats and sonic-pi-samples are heldout; lmms-common and the drum samples of
chuck-data, exadrums and performous are val; the rest train
(csound GM bank renders made with the validation seed are the one exception, marked val; see SETS
in make_notes.py).
"""
import glob
import hashlib
import os
import re
import subprocess
import sys

AUDIO = re.compile(r"\.(wav|ogg|oga|flac|mp3|opus|aiff?)$", re.I)
SPLIT_OF_PACKAGE = {"freepats": "heldout", "sonic-pi-samples": "heldout", "lmms-common": "val",
                    "chuck-data": "val", "exadrums": "val", "performous": "val"}
RENDER_PACKAGE = {"opl3": "opl3-soundfont", "csound": "csound-soundfont", "freepats": "freepats",
                  "avlpearl": "avldrums.lv2-soundfont", "avlzeppelin": "avldrums.lv2-soundfont",
                  "musescore": "musescore-general-soundfont", "generaluser": "minuet-data",
                  "a320": "denemo-data", "timcsound": "csound-soundfont",
                  "timopl3": "opl3-soundfont", "timavlpearl": "avldrums.lv2-soundfont",
                  "timavlzeppelin": "avldrums.lv2-soundfont"}


def rule(pairs):
    """[(regex, label)] -> function(name) -> label or None (first match wins; label None = skip)."""
    compiled = [(re.compile(p, re.I), label) for p, label in pairs]

    def match(name):
        for p, label in compiled:
            if p.search(name):
                return label
        return None
    return match


# ---- lmms-common (val): /usr/share/lmms/samples/<folder>/<name> -------------------------------
LMMS = rule([
    (r"^drums/(bassdrum|kick)", "kick"),
    (r"^drums/(snare_rim|sidestick|rim|nasty_rim)", "rimshot"),
    (r"^drums/(nasty_)?snare", "snare"),
    (r"^drums/clap", "clap"),
    (r"^drums/hihat_(closed|foot_pedal)", "hihat-closed"),
    (r"^drums/hihat_open", "hihat-open"),
    (r"^drums/tom", "tom"),
    (r"^drums/crash", "crash"),
    (r"^drums/ride", "ride"),
    (r"^drums/shaker", "shaker"),
    (r"^beats/(electro_beat|909beat|house_loop|break|jungle)", "drum-loop"),
    (r"^instruments/(piano|harpsichord|e_piano)", "piano"),
    (r"^instruments/(church_organ|e_organ)", "organ"),
    (r"^instruments/(cello|violin_fingered|violin_double_stop)", "bowed-strings"),
    (r"^instruments/trumpet", "brass"),
    (r"^instruments/flute", "flute"),
    (r"^instruments/bassslap", "bass"),
    (r"^(basses|bassloops)/", "bass"),
    (r"^stringsnpads/(strings|heaven_strings|orion_string)", "bowed-strings"),
    (r"^stringsnpads/juno_pad", "synth-pad"),
    (r"^stringsnpads/rave_choir", "choir"),
    (r"^latin/latin_guitar", "acoustic-guitar"),
    (r"^latin/latin_brass", "brass"),
    (r"^misc/(applause|raving_crowd)", "crowd"),
    (r"^effects/explode", "explosion"),
])

# ---- real drum one-shots of three more packages (val), by file name; names that do not say which
# kind (a plain "hihat" may be closed or open, a "cymbal" crash or ride) are left out --------------
VAL_DRUMS = {
    "chuck-data": ("/usr/share/doc/chuck-data/examples", rule([
        (r"^kick", "kick"), (r"^snare", "snare"), (r"^hihat-open", "hihat-open"),
        (r"^clap", "clap"), (r"^cowbell", "cowbell")])),
    "exadrums": ("/usr/share/exadrums", rule([
        (r"^BD_", "kick"), (r"^Snr_", "snare"), (r"^Tom", "tom"), (r"^Crash", "crash"),
        (r"^Ride", "ride")])),
    "performous": ("/usr/share/games/performous/sounds", rule([
        (r"^drum_bass", "kick"), (r"^drum_snare", "snare"), (r"^drum_tom", "tom")])),
}

# ---- sonic-pi-samples (heldout): /usr/share/sonic-pi/samples/<name>.flac ----------------------
SONIC_PI = rule([
    (r"^(bd_|drum_bass_|drum_heavy_kick|elec_hollow_kick|elec_soft_kick)", "kick"),
    (r"^(sn_|drum_snare_|elec_(hi_|lo_|mid_|filt_)?snare)", "snare"),
    (r"^drum_cymbal_(closed|pedal)", "hihat-closed"),
    (r"^drum_cymbal_open", "hihat-open"),
    (r"^drum_splash_", "crash"),
    (r"^(drum_tom_|elec_fuzz_tom)", "tom"),
    (r"^drum_cowbell", "cowbell"),
    (r"^tabla_", "hand-drum"),
    (r"^loop_(amen|amen_full|breakbeat|tabla)\.", "drum-loop"),
    (r"^ambi_choir", "choir"),
    (r"^ambi_piano", "piano"),
    (r"^guit_e_(fifths|slide)", "electric-guitar"),
    (r"^bass_", "bass"),
    (r"^misc_crow", "animal"),
    (r"^perc_door", "door"),
    (r"^perc_impact", "impact"),
    (r"^(perc_swoosh|ambi_swoosh|ambi_dark_woosh)", "whoosh"),
    (r"^vinyl_hiss", "noise"),
    (r"^glitch_(perc|robot)", "glitch"),
    (r"^(perc_bell|elec_bell)", "bell"),
])

# ---- train packages, by the link name in OUT/train/pkg and the path below it --------------------
SCRATCH = rule([
    (r"^Animal/", "animal"),
    (r"^Effects/BellToll", "bell"),
    (r"^Effects/(Bubbles|WaterDrop|WaterRunning)", "water"),
    (r"^Effects/(CarPassing|MotorcyclePassing)", "engine"),
    (r"^Effects/Door", "door"),
    (r"^Electronic/Laser", "laser"),
    (r"^Electronic/ComputerBeeps", "glitch"),
    (r"^Human/Footsteps", "footsteps"),
    (r"^Human/PartyNoise", "crowd"),
    (r"^Instruments/GuitarStrum", "acoustic-guitar"),
    (r"^Instruments/Trumpet", "brass"),
    (r"^Instruments/Tambura", "plucked"),
    (r"^Music Loops/(Drum|DrumMachine|DrumSet\d)\.", "drum-loop"),
    # Genre-named loops (HipHop, Jungle, Techno) may be beats alone: left unlabelled.
    (r"^Music Loops/(Cave|Eggs|Garden|Medieval\d|Triumph)\.", "music"),
    (r"^Music Loops/xylo\d", "mallets"),
    (r"^Percussion/CymbalCrash", "crash"),
    (r"^Percussion/HandClap", "clap"),
    (r"^Percussion/RideCymbal", "ride"),
    (r"^Percussion/Shaker", "shaker"),
])
HEDGEWARS_SOUNDS = rule([
    (r"^voices/Singer/", None),
    (r"^voices/[^/]+/(laugh|ooff|ow\d|ouch|poison|hmm|nooo|jump|firepunch|uh-oh)", None),
    (r"^voices/", "speech"),
    (r"^explosion\.", "explosion"),
    (r"^(shotgunfire|gun|minigun)\.", "gunshot"),
    (r"(impact|^firepunch_hit|^bump|^baseballbat|^hammer)\.", "impact"),
    (r"^(splash|droplet\d)\.", "water"),
    (r"^steps\.", "footsteps"),
    (r"^plane\.", "engine"),
    (r"^(sinegun|portalshot|ice_beam|warp)\.", "laser"),
    (r"^beep\.", "alert"),
])
STK_SFX = rule([
    (r"^explosion\.", "explosion"),
    (r"^(crash\d?|metal_clang|anvil)\.", "impact"),
    (r"^(engine_large|engine_small|car_accel|car_revup|airplane_jetEngine)\.", "engine"),
    (r"^(rain|river_loop|waterfall_loop_2|splash)\.", "water"),
    (r"^exotic-birds", "animal"),
    (r"^static-radio\.", "noise"),
])
OPENARENA = rule([
    (r"sound/player/footsteps/", "footsteps"),
    (r"sound/weapons/(machinegun/machgf|shotgun/sshotf|vulcan/vulcanf)", "gunshot"),
    (r"sound/weapons/(plasma/hyprbf|railgun/railgf|lightning/lg_fire|bfg/bfg_fire)", "laser"),
    (r"sound/(items|world)/(telein|teleout|quaddamage|poweruprespawn)", "laser"),
    (r"sound/(weapons/rocket/rocklx|weapons/proxmine/wstbexpl|items/kam_explode)", "explosion"),
    (r"sound/movers/doors/", "door"),
    (r"sound/world/(wind\d|demonwind)", "wind-ambience"),
    (r"sound/(world/waterfall|world/drops|player/watr_(in|out))", "water"),
    (r"sound/voices/", "speech"),
    (r"sound/feedback/(?!hit)", "speech"),
    (r"sound/teamplay/voc_", "speech"),
])
TUXPAINT_STAMPS = rule([
    (r"_desc", "speech"),
    (r"^animals__", "animal"),
    (r"^hobbies__music__percussion__cymbal_crash\.", "crash"),
    (r"^hobbies__music__percussion__drum_tomtom", "tom"),
    (r"^hobbies__music__string__(cello|violin)\.", "bowed-strings"),
    (r"^hobbies__music__wind__bassoon\.", "reed"),
])
FREEDESKTOP = rule([
    (r"^audio-channel-", "speech"),
    (r"^(audio-test-signal|camera-shutter|trash-empty)\.", None),
    (r".", "alert"),
])
OXYGEN = rule([(r"(Trash-Emptied|Window-)", None), (r".", "alert")])
POOL_RULES = {
    "scratch": SCRATCH,
    "hedgewars-sounds": HEDGEWARS_SOUNDS,
    "hedgewars-music": rule([(r".", "music")]),
    "supertuxkart-sfx": STK_SFX,
    "supertuxkart-music": rule([(r".", "music")]),
    "neverball-music": rule([(r".", "music")]),
    "neverball-sounds": rule([(r"^bump(big|lil)?\.", "impact")]),
    "etr-music": rule([(r".", "music")]),
    "etr-sounds": rule([(r"^tree_hit\.", "impact")]),
    "frozen-bubble": rule([(r"zik", "music"), (r"^applause\.", "crowd")]),
    "pingus": rule([(r"^splash\.", "water")]),
    "tuxpaint": rule([(r"^typewriterbell\.", "bell"), (r"^harp\.", "plucked"),
                      (r"^bleep\.", "alert")]),
    "tuxpaint-stamps": TUXPAINT_STAMPS,
    "freedesktop": FREEDESKTOP,
    "yaru": rule([(r"^trash-empty\.", None), (r".", "alert")]),
    "oxygen": OXYGEN,
    "openarena": OPENARENA,
}


def audio_files(root):
    for dirpath, _, files in os.walk(root, followlinks=True):
        for f in sorted(files):
            if AUDIO.search(f):
                yield os.path.join(dirpath, f)


def packages_of(paths):
    """Debian package owning each real path (dpkg -S), None where no package owns it."""
    owner = {}
    paths = sorted(set(paths))
    for i in range(0, len(paths), 400):
        chunk = paths[i:i + 400]
        res = subprocess.run(["dpkg", "-S"] + chunk, capture_output=True, text=True)
        for line in res.stdout.splitlines():
            pkg, _, path = line.partition(": ")
            if "," not in pkg and "diversion" not in pkg:
                owner[path] = pkg.split(":")[0]
    return owner


def pk3_packages(out):
    """openarena extract folder name -> package owning the pk3 it came from."""
    pk3s = glob.glob("/usr/share/games/openarena/*/*.pk3")
    owner = packages_of(pk3s)
    return {f"{os.path.basename(os.path.dirname(p))}-{os.path.basename(p)[:-4]}": owner.get(p)
            for p in pk3s}


def main():
    out = os.path.abspath(sys.argv[1])
    rows = []
    # Renders.
    for tsv in sorted(glob.glob(os.path.join(out, "midi", "*.tsv"))):
        synth, split = os.path.basename(tsv).split("-")[:2]
        with open(tsv) as f:
            for line in f:
                rel, label = line.split("\t")[:2]
                path = os.path.join(out, rel)
                if os.path.exists(path):
                    rows.append((path, label, RENDER_PACKAGE[synth], split))
    # Speech and noise made here.
    for engine in ("espeak-ng", "flite"):
        for path in audio_files(os.path.join(out, "train", "speech", engine)):
            rows.append((path, "speech", engine, "train"))
    for path in audio_files(os.path.join(out, "train", "renders", "sox-noise")):
        rows.append((path, "noise", "sox", "train"))
    # lmms-common and sonic-pi-samples, by their real paths.
    root = "/usr/share/lmms/samples"
    for path in audio_files(root):
        label = LMMS(os.path.relpath(path, root))
        if label:
            rows.append((path, label, "lmms-common", "val"))
    # The other real drum samples: one copy of each (chuck-data repeats files across its examples).
    seen = set()
    for package, (root, match) in VAL_DRUMS.items():
        for path in audio_files(root):
            label = match(os.path.basename(path))
            if not label:
                continue
            with open(path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                rows.append((path, label, package, "val"))
    root = "/usr/share/sonic-pi/samples"
    for path in audio_files(root):
        label = SONIC_PI(os.path.basename(path))
        if label:
            rows.append((path, label, "sonic-pi-samples", "heldout"))
    # Train packages, by their paths in the pool.
    pool = os.path.join(out, "train", "pkg")
    pending = []
    for link in sorted(os.listdir(pool)):
        match = POOL_RULES.get(link)
        if match is None:
            continue
        for path in audio_files(os.path.join(pool, link)):
            rel = os.path.relpath(path, os.path.join(pool, link))
            if link == "openarena":
                rel = rel.split("/", 1)[1]
            elif link != "scratch" and link != "hedgewars-sounds":
                rel = os.path.basename(rel) if link != "tuxpaint-stamps" else rel
            label = match(rel)
            if label:
                pending.append((path, label))
    owner = packages_of([os.path.realpath(p) for p, _ in pending if not
                         os.path.realpath(p).startswith(out + "/")])
    oa = pk3_packages(out)
    for path, label in pending:
        real = os.path.realpath(path)
        if real.startswith(out + "/"):
            pkg = oa.get(os.path.relpath(real, os.path.join(pool, "openarena")).split("/")[0])
        else:
            pkg = owner.get(real)
        if not pkg:
            print(f"label_files: no package owns {real}; left out", file=sys.stderr)
            continue
        rows.append((path, label, pkg, SPLIT_OF_PACKAGE.get(pkg, "train")))
    rows.sort(key=lambda r: (r[3], r[2], r[1], r[0]))
    with open(os.path.join(out, "labels.tsv.tmp"), "w") as f:
        f.write("path\tlabel\tpackage\tsplit\n")
        for r in rows:
            f.write("\t".join(r) + "\n")
    os.replace(os.path.join(out, "labels.tsv.tmp"), os.path.join(out, "labels.tsv"))
    print(f"label_files: {len(rows)} labelled files")


if __name__ == "__main__":
    main()
