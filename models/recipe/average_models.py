#!/usr/bin/env python3
"""Averages the weights of two Earmark files of the same shape: (1 - alpha) * A + alpha * B.

usage: average_models.py A B ALPHA OUT

A and B are two fine-tuned encoders that started from the same model (weight averaging of such
runs keeps what each learned: Wortsman et al., "Robust fine-tuning of zero-shot models", 2022), or
their two tag heads (the average of two linear heads is the average of their logits). OUT keeps
A's metadata, with a note of what was averaged. Tensors are summed in float32 and written back in
each tensor's own type (F16 or F32).
"""
import json
import os
import struct
import sys

import numpy as np

TYPES = {"F16": np.float16, "F32": np.float32}


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    body = data[8 + n:]
    tensors = {}
    for name, t in header.items():
        lo, hi = t["data_offsets"]
        tensors[name] = (t["dtype"], t["shape"], np.frombuffer(body[lo:hi], TYPES[t["dtype"]]))
    return meta, tensors


def write(path, meta, tensors):
    header, chunks, offset = {"__metadata__": meta}, [], 0
    for name in sorted(tensors):
        dtype, shape, values = tensors[name]
        raw = values.astype(TYPES[dtype]).tobytes()
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))
    os.replace(tmp, path)


def main():
    a_path, b_path, alpha, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    meta, a = read(a_path)
    _, b = read(b_path)
    if a.keys() != b.keys():
        raise SystemExit(f"{a_path} and {b_path} hold different tensors")
    mixed = {}
    for name, (dtype, shape, va) in a.items():
        db, sb, vb = b[name]
        if (dtype, shape) != (db, sb):
            raise SystemExit(f"{name}: {dtype}{shape} in {a_path}, {db}{sb} in {b_path}")
        v = (1.0 - alpha) * va.astype(np.float32) + alpha * vb.astype(np.float32)
        mixed[name] = (dtype, shape, v)
    note = f"weights averaged: {1 - alpha:g} x {os.path.basename(os.path.dirname(a_path))} + " \
           f"{alpha:g} x {os.path.basename(os.path.dirname(b_path))}"
    if "earmark.trained" in meta:
        meta["earmark.trained"] += f"; {note}"
    write(out, meta, mixed)
    print(f"{out}: {len(mixed)} tensors, {note}")


if __name__ == "__main__":
    main()
