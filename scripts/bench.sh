#!/usr/bin/env bash
# Scan-throughput benchmark: leakstop (all rules) against ripgrep with one
# regex (the practical floor) and Nosey Parker, on the same bytes in the same
# run. Prints wall time, MB/s, peak RSS and ratios. Not part of `cargo test`.
#
#   scripts/bench.sh [CORPUS_DIR...]
#
# With no arguments it generates a deterministic 500 MB source corpus
# (scripts/gen_corpus.py) and uses /work/bench/npm (npm packages with large
# minified bundles) if present. Set NOSEYPARKER=/path/to/noseyparker to
# include Nosey Parker; ripgrep is used if `rg` is on PATH.
# Each command runs RUNS times (default 3); the median is reported.
source "$(dirname "$0")/bench-common.sh"

corpora=("$@")
if [ ${#corpora[@]} -eq 0 ]; then
  if [ ! -d "$BENCH_DIR/source" ]; then
    python3 scripts/gen_corpus.py "$BENCH_DIR/source" "${CORPUS_MB:-500}"
  fi
  corpora=("$BENCH_DIR/source")
  [ -d /work/bench/npm/node_modules ] && corpora+=(/work/bench/npm/node_modules)
fi

# median wall seconds and max RSS (KB) of RUNS runs of "$@"

row() { # name seconds rss bytes baseline_seconds
  awk -v n="$1" -v s="$2" -v r="$3" -v b="$4" -v base="$5" 'BEGIN {
    mbs = (s > 0) ? b / 1048576 / s : 0;
    printf "  %-28s %8.2f s %9.1f MB/s %8.1f MB peak  %6.2fx leakstop time\n", n, s, mbs, r / 1024, (base > 0) ? s / base : 0 }'
}

for corpus in "${corpora[@]}"; do
  bytes=$(find "$corpus" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
  files=$(find "$corpus" -type f | wc -l)
  echo "corpus: $corpus ($files files, $((bytes / 1048576)) MiB)"
  # Warm the page cache so every tool reads from memory.
  cat $(find "$corpus" -type f | head -100000) > /dev/null 2>&1 || true
  read -r ls_t ls_r < <(measure "$LEAKSTOP" scan --no-ignore --no-default-excludes --max-file-size 1G --format json -o "$BENCH_DIR/leakstop.json" "$corpus")
  findings=$(python3 -c "import json,sys; print(len(json.load(open('$BENCH_DIR/leakstop.json'))['findings']))")
  row "leakstop (all rules)" "$ls_t" "$ls_r" "$bytes" "$ls_t"
  echo "    findings: $findings, rules: $("$LEAKSTOP" rules list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
  if command -v rg >/dev/null; then
    read -r rg_t rg_r < <(measure rg -uuu -c 'AKIA[0-9A-Z]{16}' "$corpus")
    row "ripgrep (one regex)" "$rg_t" "$rg_r" "$bytes" "$ls_t"
  fi
  if [ -n "${NOSEYPARKER:-}" ] && [ -x "$NOSEYPARKER" ]; then
    read -r np_t np_r < <(measure bash -c "rm -rf '$BENCH_DIR/np.db' && '$NOSEYPARKER' scan --progress never --datastore '$BENCH_DIR/np.db' '$corpus'")
    row "noseyparker" "$np_t" "$np_r" "$bytes" "$ls_t"
  fi
done
