#!/usr/bin/env python3
"""Writes short General MIDI phrases, one instrument each, for rendering with fluidsynth.

usage: make_midi.py OUT_DIR SEED COUNT

Each file is OUT_DIR/<family>/<family>-<seed>-<n>.mid: a random phrase (melody, chords or a drum
groove) of 6 to 12 seconds for one instrument family. The families are the labels of the
evaluation folders in the bundled model's card.
"""
import os
import random
import struct
import sys

# family -> General MIDI programs (0-based); None = percussion channel.
FAMILIES = {
    "piano": [0, 1, 2, 4],
    "organ": [16, 17, 19],
    "guitar": [24, 25, 26, 27],
    "bass": [32, 33, 34, 38],
    "strings": [40, 41, 42, 48, 49],
    "brass": [56, 57, 60, 61],
    "reed": [64, 65, 66, 71],
    "flute": [73, 74, 75, 79],
    "drums": [None],
}
DRUM_NOTES = [35, 36, 38, 40, 42, 44, 46, 49, 51, 45, 48]


def var_len(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def track(events):
    """events: (tick, bytes) sorted by tick."""
    data = b""
    last = 0
    for tick, msg in sorted(events, key=lambda e: e[0]):
        data += var_len(tick - last) + msg
        last = tick
    data += b"\x00\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(data)) + data


def phrase(rng, family):
    ppq = 480
    tempo_bpm = rng.choice([70, 90, 100, 120, 140])
    seconds = rng.uniform(6, 12)
    beats = int(seconds * tempo_bpm / 60)
    ev = [(0, b"\xff\x51\x03" + struct.pack(">I", int(60e6 / tempo_bpm))[1:])]
    if family == "drums":
        ch = 9
        for b in range(beats * 2):
            t = b * ppq // 2
            for note in rng.sample(DRUM_NOTES, rng.randint(1, 3)):
                vel = rng.randint(60, 120)
                ev.append((t, bytes([0x90 | ch, note, vel])))
                ev.append((t + ppq // 4, bytes([0x80 | ch, note, 0])))
        return ev
    ch = 0
    program = rng.choice(FAMILIES[family])
    ev.append((0, bytes([0xC0 | ch, program])))
    low = 36 if family == "bass" else 52
    root = rng.randint(low, low + 12)
    scale = rng.choice([[0, 2, 4, 5, 7, 9, 11], [0, 2, 3, 5, 7, 8, 10], [0, 2, 4, 7, 9]])
    t = 0
    chords = family in ("piano", "organ", "guitar", "strings") and rng.random() < 0.5
    while t < beats * ppq:
        dur = rng.choice([ppq // 2, ppq, ppq, 2 * ppq])
        deg = rng.randrange(len(scale) * 2)
        note = root + scale[deg % len(scale)] + 12 * (deg // len(scale))
        notes = [note, note + 4, note + 7] if chords else [note]
        vel = rng.randint(60, 110)
        for n in notes:
            ev.append((t, bytes([0x90 | ch, n, vel])))
            ev.append((t + dur - 10, bytes([0x80 | ch, n, 0])))
        t += dur
    return ev


def main():
    out, seed, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    for family in FAMILIES:
        os.makedirs(os.path.join(out, family), exist_ok=True)
        for n in range(count):
            data = b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480) + track(phrase(rng, family))
            with open(os.path.join(out, family, f"{family}-{seed}-{n}.mid"), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
