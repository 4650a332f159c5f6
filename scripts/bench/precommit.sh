#!/usr/bin/env bash
# Pre-commit latency: `leakstop scan --staged` in a repository of 50,000
# Python files (250 directories x 200 files, one commit) with one file of
# 10 added lines staged, timed end to end by hyperfine, beside
# `leakstop rules list` (loading the rule library and nothing else).
# Not part of `cargo test`.
#
#   BEFORE=/path/to/old/leakstop RUNS=60 scripts/bench/precommit.sh [REPO_DIR]
#
# The repository is made on first use (REPO_DIR, default
# /tmp/leakstop-bench/precommit) and reused; the staged change is reset
# before each measurement so every build scans the same thing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
RUNS=${RUNS:-60}
repo=${1:-/tmp/leakstop-bench/precommit}
if [ -z "${AFTER:-}" ]; then
  (cd "$here/../.." && cargo build --release --quiet)
  AFTER=${CARGO_TARGET_DIR:-$here/../../target}/release/leakstop
fi
command -v hyperfine > /dev/null || { echo "hyperfine is needed (apt-get install hyperfine)" >&2; exit 1; }

if [ ! -d "$repo/.git" ]; then
  echo "making $repo (50,000 files)"
  mkdir -p "$repo"
  python3 - "$repo" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(250):
    folder = os.path.join(root, f"pkg{d:03}")
    os.makedirs(folder, exist_ok=True)
    for f in range(200):
        with open(os.path.join(folder, f"module_{f:03}.py"), "w") as out:
            out.write(f'"""Module {d}.{f}."""\n\n')
            for i in range(12):
                out.write(f"def function_{i}(value):\n    return value * {i} + {d * 200 + f}\n\n")
PY
  git -C "$repo" init -q
  git -C "$repo" add -A
  git -C "$repo" -c user.name=bench -c user.email=bench@example.invalid commit -q -m "50,000 files"
fi
echo "repository: $repo, $(git -C "$repo" ls-files | wc -l) files"

# Back to the commit: nothing staged, nothing changed.
restore() { git -C "$repo" reset -q && git -C "$repo" checkout -q -- .; }

# One file with 10 added lines, staged.
changed=$repo/pkg123/module_045.py
restore
for i in $(seq 10); do
  echo "setting_$i = compute(\"value $i\")" >> "$changed"
done
git -C "$repo" add "$changed"

commands=("$AFTER scan --staged" "$AFTER rules list")
[ -n "${BEFORE:-}" ] && commands+=("$BEFORE scan --staged" "$BEFORE rules list")
cd "$repo"
"$AFTER" scan --staged 2>&1 | tail -n 1
json=$(mktemp)
hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$json" "${commands[@]}"
python3 - "$json" <<'PY'
import json, sys
for result in json.load(open(sys.argv[1]))["results"]:
    print(f"  {result['command']}: median {result['median'] * 1000:.1f} ms, "
          f"mean {result['mean'] * 1000:.1f} ms, user {result['user'] * 1000:.1f} ms, "
          f"system {result['system'] * 1000:.1f} ms")
PY
rm -f "$json"
restore
