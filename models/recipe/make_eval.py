#!/usr/bin/env python3
"""Builds the evaluation folders for `earmark eval --folders DIR` (DIR/<label>/<files>, hard links).

usage: make_eval.py OUT

Reads OUT/labels.tsv and OUT/midi/*.tsv (what each render played) and writes OUT/eval/<set>:
  drums-heldout        drum one-shots: freepats renders (timidity) and sonic-pi-samples
  instruments-heldout  single instrument notes rendered from freepats
  drums-val            real drum samples: lmms-common, chuck-data, exadrums, performous
  instruments-val      lmms-common instrument samples (labels with at least 5 files)
  instruments-val-csound-seed1607
                       notes of csound's GM bank rendered with the validation seed. The bank is a
                       train soundfont: these notes are not trained on, but its samples are (a
                       weaker check, for choosing checkpoints only).
  sonicpi-heldout      the sonic-pi-samples pack in folders by its own name prefixes.
Renders of one drum sample differ only in velocity and reverb, so a drum set keeps one render per
(kit, note): near-copies would make nearest-neighbour scores meaningless. Instrument notes are
spread over the programs of a label, one per (program, pitch). At most 40 files per label; labels
with fewer than 5 files are left out. Built again from scratch on each run.
"""
import collections
import glob
import os
import re
import shutil
import sys

CAP, MIN = 40, 5
DRUMS = ["kick", "snare", "rimshot", "clap", "hihat-closed", "hihat-open", "tom", "crash", "ride",
         "cowbell", "tambourine", "shaker", "hand-drum"]
INSTRUMENTS = ["piano", "mallets", "organ", "acoustic-guitar", "electric-guitar", "bass",
               "bowed-strings", "plucked", "choir", "brass", "reed", "flute", "synth-lead",
               "synth-pad"]
SONIC_PI_PREFIXES = ["ambi", "bass", "bd", "drum", "elec", "glitch", "loop", "perc", "tabla"]
SHORT = {"sonic-pi-samples": "sonicpi", "lmms-common": "lmms", "freepats": "freepats",
         "csound-soundfont": "csound"}


def render_info(out):
    """wav path -> what was played (from the batch tables)."""
    info = {}
    for tsv in glob.glob(os.path.join(out, "midi", "*.tsv")):
        with open(tsv) as f:
            for line in f:
                rel, _, _, _, what = line.rstrip("\n").split("\t")
                info[os.path.join(out, rel)] = what
    return info


def spread(items, key, cap):
    """Up to `cap` items, one per key, taking keys in turn from each group (round robin)."""
    groups = collections.OrderedDict()
    seen = set()
    for item in items:
        k = key(item)
        if k in seen:
            continue
        seen.add(k)
        groups.setdefault(k[0], []).append(item)
    picked, queues = [], [list(g) for g in groups.values()]
    while queues and len(picked) < cap:
        for q in list(queues):
            if q and len(picked) < cap:
                picked.append(q.pop(0))
            if not q:
                queues.remove(q)
    return picked


def link(src, dest):
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    try:
        os.link(os.path.realpath(src), dest)
    except OSError:
        shutil.copyfile(src, dest)


def write_set(out, name, by_label):
    root = os.path.join(out, "eval", name)
    shutil.rmtree(root, ignore_errors=True)
    kept = {}
    for label, rows in sorted(by_label.items()):
        rows = rows[:CAP]
        if len(rows) < MIN:
            continue
        kept[label] = len(rows)
        for path, package in rows:
            link(path, os.path.join(root, label, f"{SHORT.get(package, package)}__{os.path.basename(path)}"))
    print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in kept.items()))
    return kept


def main():
    out = os.path.abspath(sys.argv[1])
    info = render_info(out)
    rows = collections.defaultdict(list)  # (package, label) -> [path]
    with open(os.path.join(out, "labels.tsv")) as f:
        next(f)
        for line in f:
            path, label, package, split = line.rstrip("\n").split("\t")
            if package == "csound-soundfont" and split != "val":
                continue
            rows[(package, label)].append(path)

    def renders(package, label, kind):
        return sorted(p for p in rows[(package, label)] if os.path.basename(p).startswith(kind))

    def one_per_sample(paths, package):
        # key: (group, sample) -> (program or kit, note or pitch)
        def key(item):
            what = info.get(item[0], "")
            m = re.search(r"(program|kit) (\d+).* pitch (\d+)", what)
            return (m.group(2), m.group(3)) if m else (item[0], "")
        return spread([(p, package) for p in paths], key, CAP)

    sets = {}
    drums = {}
    for label in DRUMS:
        fp = one_per_sample(renders("freepats", label, "hit-"), "freepats")
        sp = [(p, "sonic-pi-samples") for p in sorted(rows[("sonic-pi-samples", label)])]
        drums[label] = sp + fp  # real recordings first, renders fill up to the cap
    sets["drums-heldout"] = drums
    sets["instruments-heldout"] = {
        label: one_per_sample(renders("freepats", label, "note-"), "freepats") for label in INSTRUMENTS}
    val_drums = ["lmms-common", "chuck-data", "exadrums", "performous"]
    sets["drums-val"] = {label: [(p, pkg) for pkg in val_drums for p in sorted(rows[(pkg, label)])]
                         for label in DRUMS}
    sets["instruments-val"] = {label: [(p, "lmms-common") for p in sorted(rows[("lmms-common", label)])]
                               for label in INSTRUMENTS}
    sets["instruments-val-csound-seed1607"] = {
        label: one_per_sample(renders("csound-soundfont", label, "note-"), "csound-soundfont")
        for label in INSTRUMENTS}
    sonic = collections.defaultdict(list)
    for f in sorted(glob.glob("/usr/share/sonic-pi/samples/*.flac")):
        prefix = os.path.basename(f).split("_")[0]
        if prefix in SONIC_PI_PREFIXES:
            sonic[prefix].append((f, "sonic-pi-samples"))
    sets["sonicpi-heldout"] = sonic
    summary = {name: write_set(out, name, by_label) for name, by_label in sets.items()}
    with open(os.path.join(out, "eval", "sets.txt"), "w") as f:
        for name, kept in summary.items():
            f.write(f"{name}\t{sum(kept.values())} files\t" +
                    ", ".join(f"{k} {v}" for k, v in kept.items()) + "\n")


if __name__ == "__main__":
    main()
