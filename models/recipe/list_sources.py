#!/usr/bin/env python3
"""Writes sources.tsv: every Debian package the data set of Earmark's bundled model uses.

usage: list_sources.py > models/recipe/sources.tsv

Versions come from dpkg on the machine that built the data. Licences are those the package's
/usr/share/doc/PKG/copyright gives for the sounds used (summarised by hand below).
"""
import subprocess

# package, licence of the sounds used, what it gave, split
SOURCES = [
    ("opl3-soundfont", "GPL-3+ / CC-BY-SA-4.0",
     "OPL3 FM General MIDI soundfont, rendered with fluidsynth (and timidity): instrument notes and "
     "phrases, drum hits of its kit, drum loops, short pieces", "train"),
    ("csound-soundfont", "public-domain",
     "csound's GM/GS bank sf_GMbank.sf2, rendered with fluidsynth (and timidity): instrument notes "
     "and phrases, "
     "drum hits of its 8 kits, drum loops, short pieces; a val-seed set of notes", "train (val-seed notes: val)"),
    ("avldrums.lv2-soundfont", "GPL-2+ (kits marked CC-BY-SA)",
     "AVL Drumkits Black Pearl and Red Zeppelin (multi-velocity acoustic kits), rendered with "
     "fluidsynth (and timidity): drum hits and drum loops", "train"),
    ("minuet-data", "GPL-2+3+KDEeV (Debian's copyright, Files: *); GeneralUser GS v1.47 by S. Christian Collins",
     "GeneralUser GS bank (GeneralUser-v1.47.sf2), rendered with fluidsynth: instrument notes and "
     "phrases, drum hits of its kits, drum loops, short pieces", "train"),
    ("denemo-data", "GPL-2 (A320U.sf2, Milton Paredes 2005)",
     "A320U GM bank, rendered with fluidsynth: instrument notes and phrases only (its drum kits "
     "match csound's: same kits and notes, shared samples)", "train"),
    ("freepats", "GPL-2+ with sound exception",
     "Freepats GUS patches, rendered with timidity: instrument notes and phrases, drum hits, drum "
     "loops, short pieces", "heldout"),
    ("sonic-pi-samples", "CC0 (samples) / MIT",
     "Sonic Pi sample pack: drums, tabla, bass, loops, effects (labelled by file-name prefix)", "heldout"),
    ("lmms-common", "GPL-2+",
     "LMMS samples: drums, beats, instruments, basses, pads, effects (labelled by folder and name)", "val"),
    ("chuck-data", "GPL-2+", "drum samples of the ChucK examples: kicks, snares, a clap, a cowbell, an "
     "open hi-hat (by file name, one copy of each)", "val"),
    ("exadrums", "BSD-3-Clause", "the drum module's acoustic kit samples: kick, snare, toms, crash, "
     "ride (by file name)", "val"),
    ("performous", "GPL-2+", "the game's drum sounds: kick, snare, toms (by file name)", "val"),
    ("espeak-ng", "GPL-3+", "synthesized speech, eleven languages, many voice variants", "train"),
    ("espeak-ng-data", "GPL-3+", "voices and language data for espeak-ng", "train"),
    ("flite", "BSD-like (CMU)", "synthesized English speech, five voices", "train"),
    ("scratch", "GPL-2 / CC-BY-SA-3.0 (media)",
     "Scratch sound library: animals, effects, electronic, human, instruments, percussion, loops", "train"),
    ("supertuxkart-data", "CC0 / CC-BY / CC-BY-SA / GPL per file", "game sound effects and music", "train"),
    ("hedgewars-data", "GFDL-1.3 / CC-BY-SA-3.0 / GPL-2", "game sound effects, character voices, music", "train"),
    ("neverball-common", "GPL-2+", "game sound effects and music (neverball-data pulls it in)", "train"),
    ("extremetuxracer-data", "GPL-2+", "game sound effects and music", "train"),
    ("frozen-bubble-data", "GPL-2", "game sound effects and music", "train"),
    ("pingus-data", "GPL-2+", "game sound effects", "train"),
    ("openarena-data", "GPL-2+", "game sounds (from its pk3 archives): weapons, footsteps, voices", "train"),
    ("openarena-081-misc", "GPL-2+", "game sounds (pk3): announcer voices, items", "train"),
    ("openarena-081-players", "GPL-2+", "player sounds (pk3), unlabelled", "train"),
    ("openarena-085-data", "GPL-2+", "game sounds (pk3 patch), unlabelled", "train"),
    ("tuxpaint-data", "GPL-2+", "Tux Paint tool sounds", "train"),
    ("tuxpaint-stamps-default", "GPL-2", "stamp sounds (animals, instruments) and spoken stamp names", "train"),
    ("sound-theme-freedesktop", "CC-BY-SA-3.0 / CC-BY-3.0 / GPL-2+", "desktop notification sounds", "train"),
    ("yaru-theme-sound", "CC-BY-SA-4.0", "desktop notification sounds", "train"),
    ("oxygen-sounds", "LGPL-3.0-or-later", "desktop notification sounds", "train"),
    ("sox", "GPL-2+ / LGPL-2.1+", "synthesized white, pink and brown noise (label noise)", "train"),
    ("fluidsynth", "LGPL-2.1+", "renderer (no sounds)", "-"),
    ("timidity", "GPL-2+", "renderer for freepats, and a second renderer of the OPL3, csound and AVL "
     "banks for the optional renderers stage (no sounds)", "-"),
    ("musescore-general-soundfont", "MIT (fork of FluidR3Mono)",
     "not used: most instruments still play FluidR3 samples, and FluidR3 is reserved", "-"),
]


def version(package):
    res = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True)
    return res.stdout.strip() or "not installed"


def main():
    print("package\tversion\tlicence\twhat it gave\tsplit")
    for package, licence, what, split in SOURCES:
        print(f"{package}\t{version(package)}\t{licence}\t{what}\t{split}")


if __name__ == "__main__":
    main()
