#!/usr/bin/env python3
"""Counts the files of labels.tsv per label, split and package.

usage: count_labels.py OUT/labels.tsv > OUT/counts.txt
"""
import collections
import sys


def main():
    counts = collections.Counter()
    with open(sys.argv[1]) as f:
        next(f)
        for line in f:
            _, label, package, split = line.rstrip("\n").split("\t")
            counts[(label, split, package)] += 1
    by_label = collections.defaultdict(collections.Counter)
    for (label, split, _), n in counts.items():
        by_label[label][split] += n
    splits = ["train", "val", "heldout"]
    print("# files per label and split")
    print("label\t" + "\t".join(splits) + "\ttotal")
    for label in sorted(by_label):
        c = by_label[label]
        print(f"{label}\t" + "\t".join(str(c[s]) for s in splits) + f"\t{sum(c.values())}")
    tot = collections.Counter()
    for c in by_label.values():
        tot.update(c)
    print("all\t" + "\t".join(str(tot[s]) for s in splits) + f"\t{sum(tot.values())}")
    print()
    print("# files per label, split and package")
    print("label\tsplit\tpackage\tfiles")
    for (label, split, package), n in sorted(counts.items()):
        print(f"{label}\t{split}\t{package}\t{n}")


if __name__ == "__main__":
    main()
