#!/usr/bin/env python3
"""Compares the findings of two `leakstop scan --format json` reports (or
JSONL streams, one finding per line): exits 0 and prints `same N findings`
if both hold the same findings, else prints what only one side has.

A finding is compared by fingerprint, rule, path, line, column, commit (id,
author, date) and the count of other places (`other_occurrences`), so a history scan that
attributes a secret to another commit or path counts as a difference.

    scripts/bench/fingerprint-diff.py BEFORE.json AFTER.json
"""
import json
import sys


def load(path):
    with open(path) as f:
        text = f.read()
    try:
        doc = json.loads(text)
        findings = doc["findings"] if isinstance(doc, dict) else doc
    except json.JSONDecodeError:
        findings = [json.loads(line) for line in text.splitlines() if line.strip()]
    keys = []
    for f in findings:
        commit = f.get("commit") or {}
        keys.append((f.get("fingerprint"), f.get("rule_id"), f.get("path"),
                     f.get("line"), f.get("column"), commit.get("id"),
                     commit.get("author"), commit.get("date"),
                     f.get("other_occurrences")))
    return sorted(keys, key=repr)


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    before, after = load(sys.argv[1]), load(sys.argv[2])
    if before == after:
        print(f"same {len(before)} findings")
        return 0
    only_before = set(before) - set(after)
    only_after = set(after) - set(before)
    print(f"DIFFERENT: {len(before)} before, {len(after)} after; "
          f"{len(only_before)} only before, {len(only_after)} only after")
    for key in sorted(only_before, key=repr)[:20]:
        print("  - ", key)
    for key in sorted(only_after, key=repr)[:20]:
        print("  + ", key)
    return 1


if __name__ == "__main__":
    sys.exit(main())
