#!/usr/bin/env python3
"""Writes src/matcher/trigrams.txt: the most frequent 3-byte windows of real
source code, folded the way the keyword pass folds bytes (`| 0x20`), with
their frequency per million positions.

The keyword pass represents each keyword by one 3-byte window of it and
checks every position whose window matches one; picking the window that
occurs least in real code keeps those checks rare. Static letter ranks
picked windows like "ion" or "typ" that occur at 1% of all positions.

    scripts/gen_trigrams.py OUT DIR...

Each DIR is sampled deterministically (every k-th file of its sorted paths,
about 40 MiB per DIR, at most 256 KiB of each file) so that no language,
package or huge bundle dominates. The table in the repository was made from JavaScript packages
(node_modules of the npm corpus in docs/benchmarks.md), the Rust crates of
~/.cargo/registry/src and the Python standard library.
"""
import collections
import os
import sys

TOP = 2048
PER_DIR = 40 << 20
MAX_FILE = 256 << 10


def files(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            try:
                size = os.path.getsize(path)
            except OSError:
                continue
            if size > 0 and not os.path.islink(path):
                yield path, min(size, MAX_FILE)


FOLD = bytes(b | 0x20 for b in range(256))


def main():
    out, roots = sys.argv[1], sys.argv[2:]
    counts = collections.Counter()
    total = 0
    for root in roots:
        listed = list(files(root))
        stride = max(1, sum(size for _, size in listed) // PER_DIR)
        for path, size in listed[::stride]:
            with open(path, "rb") as handle:
                data = handle.read(size)
            if b"\0" in data[:8000]:
                continue
            data = data.translate(FOLD)
            counts.update(data[i : i + 3] for i in range(len(data) - 2))
            total += max(len(data) - 2, 0)
    with open(out, "w") as handle:
        handle.write(f"# {TOP} most frequent folded trigrams of {total} positions: hex, per million\n")
        for trigram, count in counts.most_common(TOP):
            handle.write(f"{trigram.hex()} {max(1, round(count * 1_000_000 / total))}\n")


if __name__ == "__main__":
    main()
