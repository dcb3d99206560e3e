#!/usr/bin/env python3
"""Plots a training run's loss curves from its log.jsonl (written by `earmark train`).

usage: plot_curves.py RUN/log.jsonl OUT.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def smooth(xs, k=25):
    out, acc = [], []
    for x in xs:
        acc.append(x)
        if len(acc) > k:
            acc.pop(0)
        out.append(sum(acc) / len(acc))
    return out


def main():
    steps, pred, cls, ppl, lr = [], [], [], [], []
    ev_step, ev_pred, ev_cls = [], [], []
    last = {}
    for line in open(sys.argv[1]):
        e = json.loads(line)
        if e["event"] == "step":
            last[e["stats"]["step"]] = e["stats"]
        elif e["event"] == "eval":
            ev_step.append(e["step"])
            ev_pred.append(e["loss_pred"])
            ev_cls.append(e["loss_cls"])
    for k in sorted(last):
        s = last[k]
        steps.append(k + 1)
        pred.append(s["loss_pred"])
        cls.append(s["loss_cls"])
        ppl.append(s["teacher_perplexity"])
        lr.append(s["lr"])
    fig, ax = plt.subplots(2, 2, figsize=(11, 7))
    ax[0, 0].plot(steps, pred, alpha=0.3, color="C0")
    ax[0, 0].plot(steps, smooth(pred), color="C0", label="train")
    ax[0, 0].plot(ev_step, ev_pred, "o-", color="C3", label="held-out")
    ax[0, 0].set_title("prediction loss (2 − 2·cos)")
    ax[0, 0].legend()
    ax[0, 1].plot(steps, cls, alpha=0.3, color="C1")
    ax[0, 1].plot(steps, smooth(cls), color="C1", label="train")
    ax[0, 1].plot(ev_step, ev_cls, "o-", color="C3", label="held-out")
    ax[0, 1].set_title("classification loss")
    ax[0, 1].legend()
    ax[1, 0].plot(steps, ppl, color="C2")
    ax[1, 0].set_title("teacher perplexity (1 = collapse)")
    ax[1, 1].plot(steps, lr, color="C4")
    ax[1, 1].set_title("learning rate")
    for a in ax.flat:
        a.set_xlabel("update")
        a.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=90)


if __name__ == "__main__":
    main()
