#!/usr/bin/env python3
"""Cuts a rendered batch (make_notes.py) into one mono WAV per segment.

usage: cut_segments.py BATCH.tsv BATCH.wav

BATCH.tsv sits in OUT/midi; each row names a WAV path relative to OUT, its label, and the segment's
start and end in seconds. Segments whose peak stays under -50 dBFS, or that do not rise clearly
above what precedes their start (a note the synthesizer has no sound for), are not written; they
are listed in BATCH.dropped. Segments that clip are scaled down.
Existing files are kept.
"""
import audioop  # noqa: deprecated in Python 3.13; present in 3.11 (Debian 12)
import os
import sys
import wave

SILENT = int(32768 * 10 ** (-50 / 20))


def main():
    tsv, wav_path = sys.argv[1], sys.argv[2]
    out = os.path.dirname(os.path.dirname(os.path.abspath(tsv)))
    with wave.open(wav_path, "rb") as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        frames = w.readframes(w.getnframes())
    if width != 2:
        raise SystemExit(f"{wav_path}: expected 16-bit samples")
    if channels == 2:
        frames = audioop.tomono(frames, 2, 0.5, 0.5)
    elif channels != 1:
        raise SystemExit(f"{wav_path}: {channels} channels")
    total = len(frames) // 2
    dropped, written = [], 0
    with open(tsv) as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    for rel, label, start, end, what in rows:
        dest = os.path.join(out, rel)
        if os.path.exists(dest):
            continue
        a, b = int(float(start) * rate), min(total, int(float(end) * rate))
        seg = frames[2 * a:2 * b]
        peak = audioop.max(seg, 2) if seg else 0
        # Every segment starts to sound 20 ms in: before that there must be (near) silence, and
        # the first 300 ms must rise well above it, else the synthesizer had nothing to play.
        pre = audioop.max(seg[:2 * int(0.015 * rate)], 2) if seg else 0
        attack = audioop.max(seg[:2 * int(0.3 * rate)], 2) if seg else 0
        if peak < SILENT or attack < 4 * max(pre, 8):
            dropped.append(f"{rel}\t{label}\t{what}\tpeak {peak} before {pre} attack {attack}\n")
            continue
        if peak >= 32767:
            seg = audioop.mul(seg, 2, 0.7)
        # 10 ms fade-out so that the cut never clicks.
        fade = min(len(seg) // 2, rate // 100)
        if fade:
            head, tail = seg[:-2 * fade], seg[-2 * fade:]
            tail = b"".join(audioop.mul(tail[2 * i:2 * i + 2], 2, 1 - i / fade) for i in range(fade))
            seg = head + tail
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with wave.open(dest + ".tmp", "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(seg)
        os.replace(dest + ".tmp", dest)
        written += 1
    with open(tsv[:-4] + ".dropped", "w") as f:
        f.writelines(dropped)
    print(f"{os.path.basename(tsv)[:-4]}: {written} written, {len(dropped)} silent dropped")


if __name__ == "__main__":
    main()
