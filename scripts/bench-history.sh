#!/usr/bin/env bash
# History-scan benchmark: `leakstop scan --git` against git itself reading
# the same blobs (`git cat-file --batch`) and against all objects
# (`git cat-file --batch-all-objects --batch`), and Nosey Parker if
# NOSEYPARKER=/path/to/noseyparker is set, on the same repository in the same
# run. Prints median wall time, peak RSS, blobs/s and MB/s of decompressed
# blob data. Not part of `cargo test`.
#
#   scripts/bench-history.sh [REPO...]
#
# With no arguments it generates a deterministic 5,000-commit repository
# (scripts/gen_history.py). Each command runs RUNS times (default 3).
source "$(dirname "$0")/bench-common.sh"

repos=("$@")
if [ ${#repos[@]} -eq 0 ]; then
  [ -d "$BENCH_DIR/hist5k" ] || python3 scripts/gen_history.py "$BENCH_DIR/hist5k" 5000
  repos=("$BENCH_DIR/hist5k")
fi

row() { # name seconds rss blobs bytes baseline_seconds
  awk -v n="$1" -v s="$2" -v r="$3" -v c="$4" -v b="$5" -v base="$6" 'BEGIN {
    printf "  %-34s %7.2f s %8.0f blobs/s %7.1f MB/s %7.1f MB peak  %5.2fx git cat-file (same blobs)\n",
      n, s, (s > 0) ? c / s : 0, (s > 0) ? b / 1048576 / s : 0, r / 1024, (base > 0) ? s / base : 0 }'
}

for repo in "${repos[@]}"; do
  gitdir=$(git -C "$repo" rev-parse --absolute-git-dir)
  commits=$(git -C "$repo" rev-list --all | wc -l)
  # The blobs reachable from any ref: what the history scan must read.
  git -C "$repo" rev-list --all --objects | cut -d' ' -f1 \
    | git -C "$repo" cat-file --batch-check='%(objecttype) %(objectname) %(objectsize)' \
    | awk '$1 == "blob"' > "$BENCH_DIR/blobs.txt"
  blobs=$(wc -l < "$BENCH_DIR/blobs.txt")
  bytes=$(awk '{s += $3} END {print s + 0}' "$BENCH_DIR/blobs.txt")
  cut -d' ' -f2 "$BENCH_DIR/blobs.txt" > "$BENCH_DIR/blob-ids.txt"
  echo "repository: $repo ($commits commits, $blobs reachable blobs, $((bytes / 1048576)) MiB of blob data)"
  cat "$gitdir"/objects/pack/* > /dev/null 2>&1 || true
  read -r git_t git_r < <(measure bash -c "git -C '$repo' cat-file --batch < '$BENCH_DIR/blob-ids.txt'")
  read -r ls_t ls_r < <(measure "$LEAKSTOP" scan --git --no-default-excludes --max-file-size 1G --format json -o "$BENCH_DIR/history.json" "$repo")
  findings=$(python3 -c "import json; print(len(json.load(open('$BENCH_DIR/history.json'))['findings']))")
  row "leakstop scan --git" "$ls_t" "$ls_r" "$blobs" "$bytes" "$git_t"
  echo "    findings: $findings"
  row "git cat-file --batch (same blobs)" "$git_t" "$git_r" "$blobs" "$bytes" "$git_t"
  read -r all_t all_r < <(measure git -C "$repo" cat-file --batch-all-objects --batch)
  row "git cat-file --batch-all-objects" "$all_t" "$all_r" "$blobs" "$bytes" "$git_t"
  if [ -n "${NOSEYPARKER:-}" ] && [ -x "$NOSEYPARKER" ]; then
    read -r np_t np_r < <(measure bash -c "rm -rf '$BENCH_DIR/np.db' && '$NOSEYPARKER' scan --progress never --datastore '$BENCH_DIR/np.db' '$repo'")
    row "noseyparker" "$np_t" "$np_r" "$blobs" "$bytes" "$git_t"
  fi
done
