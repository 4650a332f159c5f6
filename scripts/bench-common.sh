# Shared by the benchmark scripts: settings, the release build, and
# `measure`, which prints the median wall seconds and the max RSS (KB) of
# RUNS runs of a command.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=${RUNS:-3}
BENCH_DIR=${BENCH_DIR:-/tmp/leakstop-bench}
mkdir -p "$BENCH_DIR"

cargo build --release --quiet
LEAKSTOP=$PWD/target/release/leakstop

measure() {
  local times=() rss=0 t r
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %M" -o "$BENCH_DIR/time.txt" "$@" >/dev/null 2>&1 || true
    read -r t r < <(tail -n 1 "$BENCH_DIR/time.txt")
    times+=("$t")
    [ "$r" -gt "$rss" ] && rss=$r
  done
  printf '%s %s\n' "$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")" "$rss"
}
