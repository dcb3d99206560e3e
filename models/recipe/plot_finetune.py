#!/usr/bin/env python3
"""Plots the curves of Earmark's bundled model: the self-supervised run (prediction and
classification losses, teacher perplexity; `earmark train`'s log.jsonl, up to STOP updates) and
the supervised fine-tuning (training loss and accuracy, validation accuracy; `earmark
finetune`'s log.jsonl). A resumed run logs some updates twice: the last entry of each wins.

usage: plot_finetune.py SSL_LOG STOP FINETUNE_LOG OUT.png
       plot_finetune.py FINETUNE_LOG OUT.png      (one fine-tuning run on its own: the refine stage)
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from plot_curves import smooth  # noqa: E402  (beside this script)


def read(path):
    steps, evals = {}, {}
    for line in open(path):
        e = json.loads(line)
        if e.get("event") == "step":
            steps[e["stats"]["step"]] = e["stats"]
        elif e.get("event") in ("eval", "val"):
            evals[e["step"]] = e
    return steps, evals


def plot_supervised(ax, ft_log, title):
    ft, ft_val = read(ft_log)
    kf = sorted(ft)
    ax.plot([k + 1 for k in kf], smooth([ft[k]["loss"] for k in kf], 50), label="training loss")
    ax.plot([k + 1 for k in kf], smooth([ft[k]["accuracy"] for k in kf], 50),
            label="training accuracy")
    vs = sorted(ft_val)
    ax.plot(vs, [ft_val[k]["accuracy"] for k in vs], "o-", label="validation accuracy")
    ax.set_title(title)
    ax.set_xlabel("update")
    ax.legend()


def main():
    if len(sys.argv) == 3:
        fig, ax = plt.subplots(1, 1, figsize=(6, 4))
        plot_supervised(ax, sys.argv[1], "refine: fine-tuning on every source (47 labels)")
        fig.tight_layout()
        fig.savefig(sys.argv[2], dpi=80)
        return
    ssl_log, stop, ft_log, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    ssl, ssl_eval = read(ssl_log)
    fig, ax = plt.subplots(1, 3, figsize=(15, 4))
    ks = [k for k in sorted(ssl) if k < stop]
    ax[0].plot([k + 1 for k in ks], smooth([ssl[k]["loss_pred"] for k in ks]), label="prediction")
    ax[0].plot([k + 1 for k in ks], smooth([ssl[k]["loss_cls"] / 4 for k in ks]),
               label="classification / 4")
    ev = [k for k in sorted(ssl_eval) if k <= stop]
    ax[0].plot(ev, [ssl_eval[k]["loss_pred"] for k in ev], "o", label="held-out prediction")
    ax[0].set_title("self-supervised pretraining")
    ax[0].set_xlabel("update")
    ax[0].legend()
    ax[1].plot([k + 1 for k in ks], smooth([ssl[k]["teacher_perplexity"] for k in ks]))
    ax[1].set_title("teacher perplexity (of 1024 prototypes)")
    ax[1].set_xlabel("update")
    plot_supervised(ax[2], ft_log, "supervised fine-tuning (47 labels)")
    fig.tight_layout()
    fig.savefig(out, dpi=80)


if __name__ == "__main__":
    main()
