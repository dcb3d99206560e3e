#!/usr/bin/env python3
"""Refits the instrument rows of a tag head on every bank's notes, with the encoder frozen.

usage: instrument_rows.py --earmark BIN --model MODEL --labels LABELS --vocab VOCAB
                          --head HEAD --cache DIR --out OUT

Stage 2 of the recipe trains its classifier on the banks the encoder is fine-tuned on. Measured
bank by bank (leave one bank out: fit on the others, score the one left out), a linear classifier
fitted on the clip embeddings of *every* bank's notes and phrases names the instrument family of a
bank it has never heard better than the stage-2 classifier does (model card, "The instrument rows").
For drum kinds and the other labels it does not, so only the rows of the instrument families and
choir are replaced; the others stay as stage 2 made them.

1. Every file of the train split of LABELS is embedded by `earmark embed --pad-short` with MODEL
   (whole file, a short one with silence after it, as the tag heads hear it; unit-length clip
   embedding), in chunks cached under DIR: run again after an interruption.
2. Of each label's files, the 5th, 15th, 25th... are set apart to calibrate (as `earmark finetune`
   does); a softmax classifier over every label of VOCAB is fitted on the rest: full-batch AdamW,
   300 updates, learning rate 1e-2, weight decay 1.0, inputs scaled by 8, label smoothing 0.1, each
   label weighted equally.
3. Each instrument row is calibrated on the set-apart files as `earmark finetune` calibrates its
   head (Platt scaling, both classes weighted equally) and written into HEAD's place: OUT scores
   `sigmoid(tags.weight · e/|e| + tags.bias)` like every Earmark head.
"""
import argparse
import csv
import os
import subprocess
import sys

import numpy as np

from average_models import read, write

# The labels whose training files are notes and phrases rendered from the soundfont banks.
REFIT_GROUPS = {"instruments"}
REFIT_LABELS = {"choir"}
CHUNK = 4000


def train_rows(path):
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if r["split"] == "train"]
    return [r["path"] for r in rows], [r["label"] for r in rows]


def embed(earmark, model, paths, cache):
    """The unit-length clip embedding of each path, in order (one `earmark embed` per chunk)."""
    os.makedirs(cache, exist_ok=True)
    out = []
    for start in range(0, len(paths), CHUNK):
        part = paths[start:start + CHUNK]
        file = os.path.join(cache, f"train-{start // CHUNK:03d}-{len(part)}.safetensors")
        if not os.path.exists(file):
            tmp = file + ".part.safetensors"
            subprocess.run([earmark, "embed", "--pad-short", "--model", model, "--out", tmp, *part],
                           check=True, stdout=subprocess.DEVNULL)
            os.replace(tmp, file)
        _, tensors = read(file)
        missing = [p for p in part if p not in tensors]
        if missing:
            raise SystemExit(f"{file} lacks {missing[0]} (and {len(missing) - 1} more)")
        out.extend(tensors[p][2].astype(np.float32).reshape(-1) for p in part)
        print(f"embedded {min(start + CHUNK, len(paths))} / {len(paths)}", file=sys.stderr)
    x = np.stack(out)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def set_apart(labels):
    """True for the 5th, 15th, 25th… file of each label (the calibration files)."""
    seen, held = {}, []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        held.append(seen[label] % 10 == 5)
    return np.array(held)


def fit_softmax(x, y, classes, steps=300, lr=1e-2, decay=1.0, scale=8.0, smoothing=0.1):
    """Weights (dim × classes) and biases of a label-balanced softmax classifier of `scale·x`."""
    rng = np.random.default_rng(0)
    n, dim = x.shape
    w = (rng.uniform(-1, 1, (dim, classes)) / np.sqrt(dim)).astype(np.float32)
    b = np.zeros(classes, np.float32)
    counts = np.bincount(y, minlength=classes).astype(np.float32)
    weight = 1.0 / np.maximum(counts, 1.0)[y]
    weight /= weight.sum()
    target = np.full((n, classes), smoothing / classes, np.float32)
    target[np.arange(n), y] += 1.0 - smoothing
    xs = x * scale
    moments = [[np.zeros_like(w), np.zeros_like(b)], [np.zeros_like(w), np.zeros_like(b)]]
    for t in range(1, steps + 1):
        z = xs @ w + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - target) * weight[:, None]
        for k, (param, grad) in enumerate([(w, xs.T @ g), (b, g.sum(axis=0))]):
            m, v = moments[0][k], moments[1][k]
            m *= 0.9
            m += 0.1 * grad
            v *= 0.999
            v += 0.001 * grad * grad
            if k == 0:
                param *= 1.0 - lr * decay
            param -= lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return w * scale, b


def platt(z, positive):
    """`(a, c)` of `σ(a·z + c)`: Platt scaling with both classes weighted equally and Platt's
    smoothed targets, by damped Newton steps (Earmark's `finetune_io::platt`)."""
    n_pos, n_neg = max(positive.sum(), 1), max((~positive).sum(), 1)
    y = np.where(positive, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    w = np.where(positive, 0.5 / n_pos, 0.5 / n_neg)

    def objective(a, c):
        t = a * z + c
        return (w * (np.maximum(t, 0) + np.log1p(np.exp(-np.abs(t))) - y * t)).sum()

    a, c = 1.0, 0.0
    f = objective(a, c)
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(a * z + c, -500, 500)))
        r, s = w * (p - y), w * p * (1 - p)
        grad = np.array([r @ z, r.sum()])
        hess = np.array([[s @ (z * z) + 1e-9, s @ z], [s @ z, s.sum() + 1e-9]])
        step = np.linalg.solve(hess, grad)
        t, improved = 1.0, False
        for _ in range(40):
            na, nc = a - t * step[0], c - t * step[1]
            nf = objective(na, nc)
            if nf <= f:
                a, c, f, improved = na, nc, nf, True
                break
            t *= 0.5
        if not improved or np.abs(t * step).max() < 1e-10:
            break
    return max(a, 1e-3), c


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name in ["earmark", "model", "labels", "vocab", "head", "cache", "out"]:
        ap.add_argument(f"--{name}", required=True)
    args = ap.parse_args()
    with open(args.vocab, newline="") as f:
        vocab_rows = list(csv.DictReader(f, delimiter="\t"))
    meta, head = read(args.head)
    vocab = [line.strip() for line in open(os.path.splitext(args.head)[0] + ".vocab.txt")]
    vocab = [label for label in vocab if label]
    refit = [r["label"] for r in vocab_rows
             if r["group"] in REFIT_GROUPS or r["label"] in REFIT_LABELS]
    paths, labels = train_rows(args.labels)
    known = [i for i, label in enumerate(labels) if label in vocab]
    paths, labels = [paths[i] for i in known], [labels[i] for i in known]
    x = embed(args.earmark, args.model, paths, args.cache)
    y = np.array([vocab.index(label) for label in labels])
    held = set_apart(labels)
    w, b = fit_softmax(x[~held], y[~held], len(vocab))
    z = x[held] @ w + b
    dtype, shape, weight = head["tags.weight"]
    weight = weight.astype(np.float32).reshape(shape).copy()
    bias = head["tags.bias"][2].astype(np.float32).copy()
    for label in refit:
        j = vocab.index(label)
        a, c = platt(z[:, j].astype(np.float64), y[held] == j)
        weight[j] = a * w[:, j]
        bias[j] = a * b[j] + c
    tensors = dict(head)
    tensors["tags.weight"] = (dtype, shape, weight.reshape(-1))
    tensors["tags.bias"] = (head["tags.bias"][0], head["tags.bias"][1], bias)
    write(args.out, meta, tensors)
    with open(os.path.splitext(args.out)[0] + ".vocab.txt", "w") as f:
        f.write("".join(f"{label}\n" for label in vocab))
    print(f"{args.out}: {len(refit)} rows refitted on {len(paths)} files "
          f"({held.sum()} set apart to calibrate): {', '.join(refit)}")


if __name__ == "__main__":
    main()
