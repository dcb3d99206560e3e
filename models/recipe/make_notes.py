#!/usr/bin/env python3
"""Writes the MIDI batches that make-dataset.sh renders into labelled notes, hits, loops and pieces.

usage: make_notes.py OUT
       make_notes.py --soundfont BATCH   (prints the soundfont BATCH is rendered from, or nothing)

Each batch is one long MIDI file, OUT/midi/<synth>-<set>-<kind>-<k>.mid, holding many segments one
after another with silence between them, and a table OUT/midi/<same>.tsv with one row per segment:
wav path (relative to OUT), label, start and end in seconds, and what was played. Rendering a batch
once and cutting it (cut_segments.py) is much faster than starting the synthesizer for every note
(a large soundfont takes seconds to load).

The label of a segment is known from what was played: the General MIDI program for instruments
(PROGRAMS), the drum note for hits (DRUM_NOTES), a kick/snare/hat pattern for drum-loop, several
instruments with drums for music. Seeds are fixed, so the files are the same on every run.
"""
import os
import random
import re
import struct
import sys

# label -> General MIDI programs (0-based). Left out on purpose: accordion and harmonica (21-23,
# free reeds, not organs), pizzicato strings (45, plucked but played on bowed instruments),
# timpani (47), orchestra hit (55), ethnic and percussive programs 108-119, sound effects 120-127.
PROGRAMS = {
    "piano": [0, 1, 2, 3, 4, 5, 6, 7],
    "mallets": [8, 9, 10, 11, 12, 13, 14, 15],
    "organ": [16, 17, 18, 19, 20],
    "acoustic-guitar": [24, 25],
    "electric-guitar": [26, 27, 28, 29, 30, 31],
    "bass": [32, 33, 34, 35, 36, 37, 38, 39],
    "bowed-strings": [40, 41, 42, 43, 44, 48, 49, 50, 51],
    "plucked": [46, 104, 105, 106, 107],
    "choir": [52, 53, 54],
    "brass": [56, 57, 58, 59, 60, 61, 62, 63],
    "reed": [64, 65, 66, 67, 68, 69, 70, 71],
    "flute": [72, 73, 74, 75, 76, 77, 78, 79],
    "synth-lead": [80, 81, 82, 83, 84, 85, 86, 87],
    "synth-pad": [88, 89, 90, 91, 92, 93, 94, 95],
}

# Natural range (MIDI notes) of each program.
RANGE = {p: (36, 96) for p in range(8)}
RANGE.update({6: (41, 89), 7: (41, 84), 8: (60, 96), 9: (72, 100), 10: (60, 96), 11: (53, 89),
              12: (45, 84), 13: (65, 96), 14: (60, 77), 15: (55, 84)})
RANGE.update({p: (36, 84) for p in range(16, 21)})
RANGE.update({24: (40, 76), 25: (40, 76)})
RANGE.update({p: (40, 79) for p in range(26, 32)})
RANGE.update({p: (28, 55) for p in range(32, 40)})
RANGE.update({40: (55, 93), 41: (48, 81), 42: (36, 72), 43: (28, 55), 44: (43, 84)})
RANGE.update({p: (40, 84) for p in range(48, 52)})
RANGE.update({46: (36, 91), 104: (48, 77), 105: (48, 81), 106: (50, 79), 107: (55, 84)})
RANGE.update({p: (48, 79) for p in (52, 53, 54)})
RANGE.update({56: (55, 82), 57: (40, 72), 58: (28, 58), 59: (55, 82), 60: (41, 77), 61: (48, 77),
              62: (40, 77), 63: (40, 77)})
RANGE.update({64: (56, 87), 65: (49, 80), 66: (44, 75), 67: (36, 69), 68: (58, 91), 69: (52, 81),
              70: (34, 72), 71: (50, 91)})
RANGE.update({72: (74, 100), 73: (60, 96), 74: (60, 96), 75: (60, 96), 76: (60, 84),
              77: (55, 84), 78: (60, 96), 79: (60, 84)})
RANGE.update({p: (48, 84) for p in range(80, 88)})
RANGE.update({p: (36, 84) for p in range(88, 96)})

# Instruments that play chords in phrases now and then.
CHORDAL = set(range(0, 8)) | set(range(16, 21)) | {24, 25, 26, 27, 28} | {46} \
    | set(range(48, 55)) | {61, 62, 63} | set(range(88, 96))

# drum label -> General MIDI percussion notes (channel 10).
DRUM_NOTES = {
    "kick": [35, 36],
    "snare": [38, 40],
    "rimshot": [37],
    "clap": [39],
    "hihat-closed": [42, 44],
    "hihat-open": [46],
    "tom": [41, 43, 45, 47, 48, 50],
    "crash": [49, 57, 55, 52],
    "ride": [51, 59, 53],
    "cowbell": [56],
    "tambourine": [54],
    "shaker": [69, 70, 82],
    "hand-drum": [60, 61, 62, 63, 64, 65, 66, 67, 68],
}


def kit_notes(kit):
    """The drum notes a kit (GS/GM2 drum-set program) plays as the General MIDI sound they name.

    Brush kits play brush slaps and swirls on 39/40, the orchestra kit timpani on 41-53 and
    concert cymbals on 55/57/59: those notes are left out there. Kits from 49 up (SFX, marching,
    metronome) are not used at all.
    """
    notes = {n for ns in DRUM_NOTES.values() for n in ns}
    if 40 <= kit < 48:
        notes -= {39, 40}
    if kit == 48:
        notes -= set(range(39, 54)) | {55, 57, 59}
    return notes


def sf_presets(path):
    """(bank, program) of every preset in a SoundFont 2/3 file (read from its PHDR chunk)."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if cid == b"LIST" and data[pos + 8:pos + 12] == b"pdta":
            p, end = pos + 12, pos + 8 + size
            while p < end:
                sid, ssize = data[p:p + 4], struct.unpack("<I", data[p + 4:p + 8])[0]
                if sid == b"phdr":
                    out = set()
                    for i in range(ssize // 38 - 1):
                        rec = data[p + 8 + i * 38:p + 8 + (i + 1) * 38]
                        prog, bank = struct.unpack("<HH", rec[20:24])
                        out.add((bank, prog))
                    return out
                p += 8 + ssize + (ssize & 1)
        pos += 8 + size + (size & 1)
    raise ValueError(f"{path}: no preset headers")


def timidity_entries(cfg):
    """(section kind, section number, entry number) of each mapping line of a timidity config:
    kind "bank" (entry = program) or "drumset" (entry = note)."""
    section = None
    with open(cfg) as f:
        for line in f:
            line = line.split("#")[0].strip()
            m = re.match(r"(bank|drumset)\s+(\d+)$", line)
            if m:
                section = (m.group(1), int(m.group(2)))
                continue
            m = re.match(r"(\d+)\s+\S+", line)
            if m and section:
                yield section[0], section[1], int(m.group(1))


def timidity_presets(cfg):
    """(bank, program) of the instruments a timidity config maps; drum sets as bank 128."""
    out = set()
    for kind, number, entry in timidity_entries(cfg):
        if kind == "drumset":
            out.add((128, number))
        elif number == 0:
            out.add((0, entry))
    return out


def timidity_drum_notes(cfg, kit=0):
    return {entry for kind, number, entry in timidity_entries(cfg)
            if (kind, number) == ("drumset", kit)}


# ---- MIDI writing -----------------------------------------------------------------------------
PPQ = 500  # with 120 bpm (500000 us per quarter), one tick is one millisecond
GAP = 2.5  # seconds of silence after each segment (reverb tails die there)


def var_len(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def smf(events):
    """events: (seconds, bytes). One track, 1 tick = 1 ms."""
    events = sorted(((int(round(t * 1000)), i, m) for i, (t, m) in enumerate(events)))
    data = b"\x00\xff\x51\x03" + struct.pack(">I", 500000)[1:]
    last = 0
    for tick, _, msg in events:
        data += var_len(tick - last) + msg
        last = tick
    data += b"\x00\xff\x2f\x00"
    return b"MThd" + struct.pack(">IHHH", 6, 0, 1, PPQ) + b"MTrk" + struct.pack(">I", len(data)) + data


class Batch:
    """Segments laid one after another on one timeline."""

    def __init__(self):
        self.events = []
        self.rows = []
        self.t = 0.5
        # A silent note at 0 keeps timidity from skipping the leading silence.
        self.events += [(0.0, bytes([0xBF, 7, 0])), (0.0, bytes([0x9F, 60, 1])),
                        (0.01, bytes([0x8F, 60, 0]))]

    def add(self, rel_wav, label, length, seg_events, what, rng):
        t0 = self.t
        for ch in range(16):
            self.events.append((t0 - 0.3, bytes([0xB0 | ch, 121, 0])))  # reset controllers
        for ch in {m[0] & 0x0F for _, m in seg_events}:
            self.events.append((t0 - 0.29, bytes([0xB0 | ch, 7, 100])))
            self.events.append((t0 - 0.29, bytes([0xB0 | ch, 91, rng.randint(0, 50)])))
            self.events.append((t0 - 0.29, bytes([0xB0 | ch, 93, rng.randint(0, 25)])))
        for dt, msg in seg_events:
            self.events.append((t0 + dt, msg))
        for ch in range(16):
            self.events.append((t0 + length, bytes([0xB0 | ch, 120, 0])))  # all sound off
            self.events.append((t0 + length, bytes([0xB0 | ch, 123, 0])))
        self.rows.append((rel_wav, label, f"{t0:.3f}", f"{t0 + length:.3f}", what))
        self.t = t0 + length + GAP

    def write(self, path, midi=True):
        """Writes the segment table, and the MIDI file unless `midi` is false."""
        with open(path + ".tsv.tmp", "w") as f:
            for row in self.rows:
                f.write("\t".join(row) + "\n")
        os.replace(path + ".tsv.tmp", path + ".tsv")
        if not midi:
            return
        # A last silent note after the end so that no renderer stops early.
        self.events += [(self.t, bytes([0x9F, 60, 1])), (self.t + 0.01, bytes([0x8F, 60, 0]))]
        with open(path + ".mid.tmp", "wb") as f:
            f.write(smf(self.events))
        os.replace(path + ".mid.tmp", path + ".mid")


def program_change(ch, program):
    """Bank 0 (drum kits on channel 10 need no bank select), sent before the segment starts."""
    if ch == 9:
        return [(-0.25, bytes([0xC0 | ch, program]))]
    return [(-0.26, bytes([0xB0 | ch, 0, 0])), (-0.25, bytes([0xC0 | ch, program]))]


def note(ch, t, dur, pitch, vel):
    return [(t, bytes([0x90 | ch, pitch, vel])), (t + dur, bytes([0x80 | ch, pitch, 0]))]


SCALES = [[0, 2, 4, 5, 7, 9, 11], [0, 2, 3, 5, 7, 8, 10], [0, 2, 4, 7, 9], [0, 3, 5, 7, 10]]


def single_note(rng, program):
    lo, hi = RANGE[program]
    hold = rng.uniform(0.8, 2.3)
    length = hold + 0.7
    ev = program_change(0, program) + note(0, 0.02, hold, rng.randint(lo, hi), rng.randint(35, 127))
    return length, ev


def phrase(rng, program):
    lo, hi = RANGE[program]
    length = rng.uniform(3.0, 6.0)
    beat = 60 / rng.choice([70, 90, 100, 110, 120, 140])
    scale = rng.choice(SCALES)
    root = rng.randint(lo, max(lo, hi - 12))
    chords = program in CHORDAL and rng.random() < 0.4
    ev = program_change(0, program)
    t = 0.02
    while t < length - 0.5:
        dur = min(rng.choice([0.5, 1, 1, 1.5, 2]) * beat, length - 0.4 - t)
        deg = rng.randrange(len(scale) * 2)
        pitch = min(hi, root + scale[deg % len(scale)] + 12 * (deg // len(scale)))
        vel = rng.randint(45, 120)
        for p in ([pitch, pitch + 4, pitch + 7] if chords else [pitch]):
            if p <= 127:
                ev += note(0, t, dur * 0.95, p, vel)
        t += dur
    return length, ev


def drum_hit(rng, kit, pitch, ch=9):
    length = rng.uniform(0.8, 1.5)
    return length, program_change(ch, kit) + note(ch, 0.02, 0.15, pitch, rng.randint(35, 127))


GM_GROOVE = {"kick": [35, 36], "snare": [38, 40], "hat": [42, 42, 44, 51], "open": 46,
             "tom": [41, 45, 48]}


def groove(rng, length, t0=0.0, beat=None, ch=9, kit=GM_GROOVE):
    """A kick/snare/hat pattern (on channel 10 unless `ch` says otherwise)."""
    beat = beat or 60 / rng.randint(80, 150)
    step = beat / (4 if rng.random() < 0.3 else 2)
    kick, snare = rng.choice(kit["kick"]), rng.choice(kit["snare"])
    hat = rng.choice(kit["hat"])
    kicks = rng.choice([{0, 4}, {0, 3, 4}, {0, 2, 5}, {0, 4, 6}, {0, 3, 6}])  # eighths of a bar
    ev = []
    n = 0
    t = t0 + 0.02
    per_bar = int(round(4 * beat / step))
    while t < t0 + length - 0.2:
        pos = n % per_bar
        eighth = per_bar // 8
        if pos % eighth == 0 and pos // eighth in kicks:
            ev += note(ch, t, 0.1, kick, rng.randint(90, 127))
        if pos in (2 * eighth, 6 * eighth):
            ev += note(ch, t, 0.1, snare, rng.randint(85, 125))
        h = kit["open"] if (pos == per_bar - 1 and rng.random() < 0.3) else hat
        ev += note(ch, t, 0.05, h, rng.randint(50, 100))
        if rng.random() < 0.04:
            ev += note(ch, t, 0.1, rng.choice(kit["tom"]), rng.randint(70, 110))
        t += step
        n += 1
    return ev


def drum_loop(rng, kit, ch=9, notes=GM_GROOVE):
    length = rng.uniform(4.0, 6.0)
    return length, program_change(ch, kit) + groove(rng, length, ch=ch, kit=notes)


def music(rng, programs, kits):
    """Bass, chords and a melody (three or four instruments) with drums, 6 to 10 s."""
    length = rng.uniform(6.0, 10.0)
    beat = 60 / rng.randint(80, 140)
    key = rng.randint(0, 11)
    scale = rng.choice(SCALES[:2])
    pick = lambda label: rng.choice(programs[label])  # noqa: E731
    parts = [(0, pick("bass"), "bass"),
             (1, pick(rng.choice(["piano", "organ", "acoustic-guitar", "synth-pad", "bowed-strings",
                                   "electric-guitar"])), "chords"),
             (2, pick(rng.choice(["flute", "reed", "brass", "synth-lead", "mallets", "piano",
                                   "electric-guitar", "bowed-strings"])), "melody")]
    if rng.random() < 0.5:
        parts.append((3, pick(rng.choice(["bowed-strings", "synth-pad", "choir", "organ"])), "pad"))
    ev = []
    for ch, prog, _ in parts:
        ev += program_change(ch, prog)
    progression = rng.choice([[0, 5, 3, 4], [0, 3, 4, 0], [0, 4, 5, 3], [5, 3, 0, 4]])
    bar = 4 * beat
    t, i = 0.02, 0
    while t < length - 0.3:
        deg = progression[i % 4]
        root = 48 + key + scale[deg % 7]
        chord = [root + scale[(deg + k) % 7] - scale[deg % 7] + (12 if (deg + k) >= 7 else 0)
                 for k in (0, 2, 4)]
        dur = min(bar, length - 0.2 - t)
        for ch, prog, role in parts:
            vel = rng.randint(60, 100)
            if role == "bass":
                for b in range(4):
                    if t + b * beat < t + dur:
                        ev += note(ch, t + b * beat, beat * 0.9, root - 12 + (7 if b == 2 else 0), vel)
            elif role in ("chords", "pad"):
                for p in chord:
                    ev += note(ch, t, dur * 0.95, p + (12 if role == "pad" else 0), vel - 10)
            else:
                m = t
                while m < t + dur - 0.05:
                    d = min(rng.choice([0.5, 1, 1]) * beat, t + dur - m)
                    p = 72 + key + rng.choice(scale) - 12 * (rng.random() < 0.3)
                    ev += note(ch, m, d * 0.9, p, vel)
                    m += d
        t += bar
        i += 1
    kit = rng.choice(kits)
    ev += program_change(9, kit) + groove(rng, length, beat=beat)
    return length, ev


# ---- what each synthesizer renders --------------------------------------------------------------
# name: (seed, folder under OUT, notes, phrases, hits, loops, pieces) per label. The part of the name
# before the first "-" says which synthesizer and sound set make-dataset.sh renders it with.
SETS = {
    "opl3-train": (1602, "train/renders/opl3", 130, 60, 120, 100, 60),
    "freepats-heldout": (1603, "heldout/renders/freepats", 60, 25, 60, 40, 30),
    "csound-train": (1606, "train/renders/csound", 130, 60, 120, 100, 60),
    "csound-val": (1607, "val/renders/csound-seed1607", 30, 10, 0, 0, 0),
    "avlpearl-train": (1608, "train/renders/avl-black-pearl", 0, 0, 100, 80, 0),
    "avlzeppelin-train": (1609, "train/renders/avl-red-zeppelin", 0, 0, 100, 80, 0),
    "generaluser-train": (1610, "train/renders/generaluser", 130, 60, 120, 100, 60),
    # A320U's drum kits match csound's (the same kit programs and notes, shared samples): only its
    # instruments are rendered, so that one bank's drums do not count twice.
    "a320-train": (1611, "train/renders/a320u", 130, 60, 0, 0, 0),
}
# A second synthesizer: timidity plays these training banks again (not freepats, which is held
# out), so that the training drums and notes are not heard through fluidsynth alone. The same
# kinds and counts as the fluidsynth set of each bank; new seeds (1612 on) and folders.
for _seed, _bank in enumerate(["csound", "opl3", "avlpearl", "avlzeppelin"], start=1612):
    _, _folder, *_counts = SETS[f"{_bank}-train"]
    SETS[f"tim{_bank}-train"] = (_seed, _folder.replace("renders/", "renders/timidity-"), *_counts)
# MuseScore_General is a fork of FluidR3Mono, and most of its instruments still play FluidR3
# samples: FluidR3 (fluid-soundfont-gm) is kept for evaluation outside the project, so these sets
# are rendered only on request (EARMARK_DATA_MUSESCORE=1), never by default.
MUSESCORE_SETS = {
    "musescore-train": (1601, "train/renders/musescore", 130, 60, 120, 100, 60),
    "musescore-val": (1604, "val/renders/musescore-seed1604", 30, 10, 0, 0, 0),
}
BATCH_SECONDS = 900

# The AVL drum kits (avldrums.lv2-soundfont) are one melodic preset each, with their own note map
# (read from the kits' sample names: 48 is a hi-hat swish, 60 a cymbal, 64 a maraca).
AVL_NOTES = {
    "kick": [36], "rimshot": [37], "snare": [38, 40], "clap": [39], "tom": [41, 43, 45, 47],
    "hihat-closed": [42, 44], "hihat-open": [46], "crash": [49, 55, 57], "ride": [51, 53, 59],
    "tambourine": [54], "cowbell": [56], "shaker": [64],
}
AVL_GROOVE = {"kick": [36], "snare": [38, 40], "hat": [42, 42, 44, 51], "open": 46,
              "tom": [41, 45, 47]}


def plan(name, presets, drum_notes_of, out, sets=SETS, avl=False):
    seed, folder, n_notes, n_phrases, n_hits, n_loops, n_pieces = sets[name]
    rng = random.Random(seed)
    programs = {label: [p for p in progs if (0, p) in presets] for label, progs in PROGRAMS.items()}
    kits = sorted(p for b, p in presets if b == 128 and p < 49)
    loop_kits = [k for k in kits if k < 48]
    jobs = []  # (rel_wav, label, maker, what)
    for label, progs in programs.items():
        if not progs:
            continue
        for i in range(n_notes):
            prog = progs[i % len(progs)]
            jobs.append((f"{folder}/{label}/note-p{prog:03d}-{i:04d}.wav", label,
                         lambda r, p=prog: single_note(r, p), f"program {prog} note"))
        for i in range(n_phrases):
            prog = progs[i % len(progs)]
            jobs.append((f"{folder}/{label}/phrase-p{prog:03d}-{i:04d}.wav", label,
                         lambda r, p=prog: phrase(r, p), f"program {prog} phrase"))
    if n_hits and avl:
        for label, notes in AVL_NOTES.items():
            for i in range(n_hits):
                n = notes[i % len(notes)]
                jobs.append((f"{folder}/{label}/hit-k000-n{n:02d}-{i:04d}.wav", label,
                             lambda r, n=n: drum_hit(r, 0, n, ch=0), f"kit 0 note {n}"))
        for i in range(n_loops):
            jobs.append((f"{folder}/drum-loop/loop-k000-{i:04d}.wav", "drum-loop",
                         lambda r: drum_loop(r, 0, ch=0, notes=AVL_GROOVE), "kit 0 loop"))
    elif n_hits:
        for label, notes in DRUM_NOTES.items():
            combos = [(k, n) for k in kits for n in notes if n in kit_notes(k) and n in drum_notes_of(k)]
            if not combos:
                continue
            for i in range(n_hits):
                k, n = combos[i % len(combos)]
                jobs.append((f"{folder}/{label}/hit-k{k:03d}-n{n:02d}-{i:04d}.wav", label,
                             lambda r, k=k, n=n: drum_hit(r, k, n), f"kit {k} note {n}"))
        for i in range(n_loops):
            k = loop_kits[i % len(loop_kits)]
            jobs.append((f"{folder}/drum-loop/loop-k{k:03d}-{i:04d}.wav", "drum-loop",
                         lambda r, k=k: drum_loop(r, k), f"kit {k} loop"))
        for i in range(n_pieces):
            jobs.append((f"{folder}/music/piece-{i:04d}.wav", "music",
                         lambda r: music(r, programs, loop_kits), "several programs and drums"))
    batches, batch = [], None
    for rel, label, maker, what in jobs:
        if batch is None:
            batch = Batch()
        length, ev = maker(rng)
        if "note" in what or "kit" in what and "loop" not in what:
            what += f" pitch {next(m[1] for _, m in ev if m[0] & 0xF0 == 0x90)}"
        batch.add(rel, label, length, ev, what, rng)
        if batch.t > BATCH_SECONDS:
            batches.append(batch)
            batch = None
    if batch is not None:
        batches.append(batch)
    for k, b in enumerate(batches):
        path = os.path.join(out, "midi", f"{name}-{k:02d}")
        b.write(path, midi=not os.path.exists(path + ".mid") and not os.path.exists(path + ".cut"))
    return len(jobs)


def find_file(package, pattern):
    import subprocess
    files = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True)
    if files.returncode != 0:
        raise SystemExit(f"{package} is not installed (make-dataset.sh installs it)")
    for line in files.stdout.splitlines():
        if re.search(pattern, line):
            return line
    raise SystemExit(f"{package}: no file matching {pattern}")


# Each soundfont bank: the package that installs it and its file's path pattern (read from the
# package's own file list, never through /etc/alternatives). A set named BANK-… is rendered from it
# by fluidsynth, timBANK-… by timidity; freepats-… by timidity's freepats patches.
SOUNDFONTS = {
    "opl3": ("opl3-soundfont", r"/OPL-3_FM_128M\.sf2$"),
    "csound": ("csound-soundfont", r"/sounds/sf2/sf_GMbank\.sf2$"),
    "avlpearl": ("avldrums.lv2-soundfont", r"/sounds/sf2/Black_Pearl_4_LV2\.sf2$"),
    "avlzeppelin": ("avldrums.lv2-soundfont", r"/sounds/sf2/Red_Zeppelin_4_LV2\.sf2$"),
    "generaluser": ("minuet-data", r"/GeneralUser[^/]*\.sf2$"),
    "a320": ("denemo-data", r"/A320U\.sf2$"),
    "musescore": ("musescore-general-soundfont", r"/MuseScore_General(_Full)?\.sf3$"),
}


def soundfont(bank):
    return find_file(*SOUNDFONTS[bank])


def batch_soundfont(batch):
    """The soundfont a batch (`timopl3-train-03`) is rendered from; "" for freepats."""
    bank = batch.removeprefix("tim").split("-")[0]
    if bank == "freepats":
        return ""
    if bank not in SOUNDFONTS:
        raise SystemExit(f"unknown batch {batch}")
    return soundfont(bank)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--soundfont":
        print(batch_soundfont(sys.argv[2]))
        return
    out = sys.argv[1]
    os.makedirs(os.path.join(out, "midi"), exist_ok=True)
    all_notes = lambda kit: set(range(128))  # noqa: E731
    cfg = "/etc/timidity/freepats.cfg"
    opl3 = sf_presets(soundfont("opl3"))
    n = plan("opl3-train", opl3, all_notes, out)
    n += plan("freepats-heldout", timidity_presets(cfg), lambda kit: timidity_drum_notes(cfg, kit), out)
    csound = sf_presets(soundfont("csound"))
    n += plan("csound-train", csound, all_notes, out)
    n += plan("csound-val", csound, all_notes, out)
    n += plan("avlpearl-train", set(), all_notes, out, avl=True)
    n += plan("avlzeppelin-train", set(), all_notes, out, avl=True)
    n += plan("timcsound-train", csound, all_notes, out)
    n += plan("timopl3-train", opl3, all_notes, out)
    n += plan("timavlpearl-train", set(), all_notes, out, avl=True)
    n += plan("timavlzeppelin-train", set(), all_notes, out, avl=True)
    gu = sf_presets(soundfont("generaluser"))
    n += plan("generaluser-train", gu, all_notes, out)
    n += plan("a320-train", sf_presets(soundfont("a320")), all_notes, out)
    if os.environ.get("EARMARK_DATA_MUSESCORE") == "1":
        ms = sf_presets(soundfont("musescore"))
        n += plan("musescore-train", ms, all_notes, out, sets=MUSESCORE_SETS)
        n += plan("musescore-val", ms, all_notes, out, sets=MUSESCORE_SETS)
    print(f"make_notes: {n} segments planned")


if __name__ == "__main__":
    main()
