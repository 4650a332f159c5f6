#!/usr/bin/env bash
# History scan against git reading every object, in one run, with CPU time
# and private memory: for each REPO (default: the rails mirror) runs
#   git cat-file --batch-all-objects --batch          (the reference)
#   $BEFORE scan --git   (if BEFORE=/path/to/leakstop is set: the old build)
#   leakstop scan --git  (this tree's release build, or $AFTER)
#   noseyparker scan     (if NOSEYPARKER=/path/to/noseyparker is set)
# RUNS times each, alternating, and prints per run wall s, CPU s (user+sys),
# peak RssAnon (private) and RssFile (file-backed: the mmapped pack) in MiB,
# and each leakstop time as a ratio of git's in the same round. The findings
# of BEFORE and AFTER are compared with scripts/bench/fingerprint-diff.py.
# REVS=<rev> scans `--range <rev>` (everything reachable from it) instead of
# every ref, for the scaling table; git then reads `rev-list --objects <rev>`.
#
#   BEFORE=/work/target-base/release/leakstop RUNS=2 scripts/bench/history.sh [REPO...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
RUNS=${RUNS:-1}
OUT=${OUT:-/tmp/leakstop-bench/history}
mkdir -p "$OUT"
if [ -z "${AFTER:-}" ]; then
  (cd "$here/../.." && cargo build --release --quiet)
  AFTER=${CARGO_TARGET_DIR:-$here/../../target}/release/leakstop
fi
repos=("$@")
[ ${#repos[@]} -gt 0 ] || repos=(/work/.mirror/rails+rails/repo)
measure() { "$here/measure.py" --label "$1" "${@:2}" 2>&1 >/dev/null | tail -n 1; }
row() { # label json git_json
  python3 - "$@" <<'PY'
import json, sys
label, run, ref = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
print(f"  {label:<28} wall {run['wall_s']:7.2f} s ({run['wall_s'] / ref['wall_s']:.2f}x git)  "
      f"CPU {run['cpu_s']:7.2f} s ({run['cpu_s'] / ref['cpu_s']:.2f}x git)  "
      f"RssAnon {run['rss_anon_mib']:6.1f} MiB  RssFile {run['rss_file_mib']:6.1f} MiB  max RSS {run['max_rss_mib']:6.1f} MiB")
PY
}
for repo in "${repos[@]}"; do
  name=$(basename "$(dirname "$repo")")${REVS:+-$REVS}
  if [ -n "${REVS:-}" ]; then
    scope=(--range "$REVS")
    git -C "$repo" rev-list --objects --missing=allow-any "$REVS" | cut -d' ' -f1 > "$OUT/ids.txt"
    git_cmd=(bash -c "git -C '$repo' cat-file --batch < '$OUT/ids.txt'")
    echo "repository: $repo, $(git -C "$repo" rev-list --count "$REVS") commits reachable from $REVS"
  else
    scope=(--git)
    git_cmd=(git -C "$repo" cat-file --batch-all-objects --batch)
    echo "repository: $repo, $(git -C "$repo" rev-list --all | wc -l) commits, $(git -C "$repo" for-each-ref | wc -l) refs"
  fi
  cat "$repo"/objects/pack/*.pack > /dev/null
  scan=(scan "${scope[@]}" --no-default-excludes --max-file-size 1G --format json --no-progress)
  for run in $(seq "$RUNS"); do
    echo " round $run"
    g=$(measure git "${git_cmd[@]}")
    row "git cat-file" "$g" "$g"
    if [ -n "${BEFORE:-}" ]; then
      b=$(measure before "$BEFORE" "${scan[@]}" -o "$OUT/$name.before.json" "$repo")
      row "leakstop (before)" "$b" "$g"
    fi
    a=$(measure after "$AFTER" "${scan[@]}" -o "$OUT/$name.after.json" "$repo")
    row "leakstop (after)" "$a" "$g"
    if [ -n "${NOSEYPARKER:-}" ] && [ -z "${REVS:-}" ]; then
      rm -rf "$OUT/np.db"
      n=$(measure noseyparker "$NOSEYPARKER" scan --progress never --datastore "$OUT/np.db" "$repo")
      row "noseyparker" "$n" "$g"
    fi
  done
  if [ -n "${BEFORE:-}" ]; then
    printf '  findings: '
    "$here/fingerprint-diff.py" "$OUT/$name.before.json" "$OUT/$name.after.json" || true
  else
    echo "  findings: $(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['findings']))" "$OUT/$name.after.json")"
  fi
done
