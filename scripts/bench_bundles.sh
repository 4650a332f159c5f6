#!/usr/bin/env bash
# Client-bundle benchmark: the same bytes scanned twice in the same run,
# once as a plain filesystem scan (--no-decode --no-sourcemaps --no-archives)
# and once with everything on (the default: decoding, source maps, archives).
# Prints wall time, CPU time, MB/s, peak RSS and the cost ratio. Not part of
# `cargo test`.
#
#   scripts/bench_bundles.sh [CORPUS_DIR]     # default: /work/bench/npm/node_modules
#
# Each configuration runs RUNS times (default 5), alternating, and the
# median is reported; on a shared machine the CPU-time ratio is the steadier
# figure.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
CORPUS=${1:-/work/bench/npm/node_modules}
OUT=${BENCH_DIR:-/tmp/leakstop-bench}
mkdir -p "$OUT"

cargo build --release --quiet
LEAKSTOP=$PWD/target/release/leakstop
COMMON=(scan --no-ignore --no-default-excludes --max-file-size 1G --no-progress --format json)

bytes=$(find "$CORPUS" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
files=$(find "$CORPUS" -type f | wc -l)
js=$(find "$CORPUS" -type f \( -name '*.js' -o -name '*.mjs' -o -name '*.cjs' \) -printf '%s\n' | awk '{n++; s+=$1} END {printf "%d files, %d MiB", n, s/1048576}')
maps=$(find "$CORPUS" -type f -name '*.map' -printf '%s\n' | awk '{n++; s+=$1} END {printf "%d files, %d MiB", n, s/1048576}')
echo "corpus: $CORPUS ($files files, $((bytes / 1048576)) MiB; scripts: $js; source maps: $maps)"
echo "cpus: $(nproc), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
cat $(find "$CORPUS" -type f | head -100000) > /dev/null 2>&1 || true

run() { # name, extra args... -> appends "wall user+sys rss" to $OUT/<name>.txt
  local name=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$OUT/time.txt" "$LEAKSTOP" "${COMMON[@]}" "$@" -o "$OUT/$name.json" "$CORPUS" >/dev/null 2>&1 || true
  # (time writes "Command exited with non-zero status 1" first: findings.)
  tail -n 1 "$OUT/time.txt" | awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' >> "$OUT/$name.txt"
}
rm -f "$OUT/plain.txt" "$OUT/bundles.txt"
for _ in $(seq "$RUNS"); do
  run plain --no-decode --no-sourcemaps --no-archives
  run bundles
done

median() { sort -n | sed -n "$(( (RUNS + 1) / 2 ))p"; }
report() { # name label
  local wall cpu rss findings
  wall=$(cut -d' ' -f1 "$OUT/$1.txt" | median)
  cpu=$(cut -d' ' -f2 "$OUT/$1.txt" | median)
  rss=$(cut -d' ' -f3 "$OUT/$1.txt" | sort -n | tail -1)
  findings=$(python3 -c "import json; print(len(json.load(open('$OUT/$1.json'))['findings']))")
  awk -v n="$2" -v w="$wall" -v c="$cpu" -v r="$rss" -v b="$bytes" -v f="$findings" 'BEGIN {
    printf "  %-34s %7.2f s wall %8.1f MB/s %7.2f s cpu %7.1f MB/s/cpu-s %7.1f MB peak  %d findings\n",
      n, w, b / 1048576 / w, c, b / 1048576 / c, r / 1024, f }'
  echo "$wall $cpu" > "$OUT/$1.median"
}
report plain "plain (features off)"
report bundles "bundles (default: all on)"
read -r pw pc < "$OUT/plain.median"
read -r bw bc < "$OUT/bundles.median"
awk -v pw="$pw" -v pc="$pc" -v bw="$bw" -v bc="$bc" 'BEGIN {
  printf "  ratio bundles/plain: %.2fx wall, %.2fx cpu (target <= 2x)\n", bw / pw, bc / pc }'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
