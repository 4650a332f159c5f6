#!/usr/bin/env bash
# Scan throughput in one run: leakstop (all rules) against Nosey Parker and
# ripgrep with one regex (the practical floor), on the same bytes, one thread
# each (CPU seconds: work per core) and all cores (wall), with private memory.
# Not part of `cargo test`.
#
#   NOSEYPARKER=/path/to/noseyparker BEFORE=/path/to/old/leakstop RUNS=3 scripts/bench.sh [CORPUS_DIR...]
#
# With no arguments it uses the generated 500 MiB source corpus
# (scripts/gen_corpus.py, made on first use) and /work/bench/npm/node_modules
# if present. Each command runs RUNS times (default 3), the commands of one
# round alternating (each a single command, so the memory sampled is the
# tool's own); every figure is a median, measured by
# scripts/bench/measure.py (wall s, CPU s = user + system, peak RssAnon).
# Ratios are against this tree's leakstop in the same run:
# "NP/leakstop CPU" is how many times Nosey Parker's work per core leakstop's
# is. With BEFORE set, the old build is measured too and its findings are
# compared with this build's (scripts/bench/fingerprint-diff.py).
source "$(dirname "$0")/bench-common.sh"
here=$PWD/scripts/bench

corpora=("$@")
if [ ${#corpora[@]} -eq 0 ]; then
  if [ ! -d "$BENCH_DIR/source" ]; then
    python3 scripts/gen_corpus.py "$BENCH_DIR/source" "${CORPUS_MB:-500}"
  fi
  corpora=("$BENCH_DIR/source")
  [ -d /work/bench/npm/node_modules ] && corpora+=(/work/bench/npm/node_modules)
fi

scan=(scan --no-ignore --no-default-excludes --max-file-size 1G --format json)
for corpus in "${corpora[@]}"; do
  name=$(basename "$corpus")
  bytes=$(find "$corpus" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
  echo "corpus: $corpus ($(find "$corpus" -type f | wc -l) files, $((bytes / 1048576)) MiB)"
  # Warm the page cache so every tool reads from memory.
  find "$corpus" -type f -print0 | xargs -0 cat > /dev/null 2>&1 || true
  commands=(
    "leakstop -j1|$LEAKSTOP ${scan[*]} -j 1 -o $BENCH_DIR/$name.after.json $corpus"
    "leakstop|$LEAKSTOP ${scan[*]} -o $BENCH_DIR/$name.after.json $corpus"
  )
  if [ -n "${BEFORE:-}" ]; then
    commands+=(
      "before -j1|$BEFORE ${scan[*]} -j 1 -o $BENCH_DIR/$name.before.json $corpus"
      "before|$BEFORE ${scan[*]} -o $BENCH_DIR/$name.before.json $corpus"
    )
  fi
  if [ -n "${NOSEYPARKER:-}" ] && [ -x "$NOSEYPARKER" ]; then
    commands+=(
      "noseyparker --jobs 1|$NOSEYPARKER scan --progress never --jobs 1 --datastore $BENCH_DIR/np1.db $corpus"
      "noseyparker|$NOSEYPARKER scan --progress never --datastore $BENCH_DIR/np.db $corpus"
    )
  fi
  command -v rg > /dev/null && commands+=("rg one regex -j1|rg -j1 -uuu -c 'AKIA[0-9A-Z]{16}' $corpus")
  : > "$BENCH_DIR/$name.runs.jsonl"
  for _ in $(seq "$RUNS"); do
    rm -rf "$BENCH_DIR/np1.db" "$BENCH_DIR/np.db"
    for entry in "${commands[@]}"; do
      "$here/measure.py" --label "${entry%%|*}" -- bash -c "${entry#*|}" 2>> "$BENCH_DIR/$name.runs.jsonl" > /dev/null
    done
  done
  python3 - "$BENCH_DIR/$name.runs.jsonl" "$bytes" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
mib = int(sys.argv[2]) / 1048576
labels = list(dict.fromkeys(r["label"] for r in runs))
med = {l: {k: statistics.median(r[k] for r in runs if r["label"] == l)
           for k in ("wall_s", "cpu_s", "rss_anon_mib")} for l in labels}
base_cpu = med["leakstop -j1"]["cpu_s"]
base_wall = med["leakstop"]["wall_s"]
print(f"  {'command':<22} {'wall s':>7} {'CPU s':>7} {'MiB/CPU-s':>9} {'RssAnon':>8}  CPU vs leakstop -j1  wall vs leakstop")
for l in labels:
    m = med[l]
    print(f"  {l:<22} {m['wall_s']:7.2f} {m['cpu_s']:7.2f} {mib / m['cpu_s']:9.1f} {m['rss_anon_mib']:6.1f} M"
          f"  {m['cpu_s'] / base_cpu:8.2f}x {m['wall_s'] / base_wall:16.2f}x")
if "noseyparker --jobs 1" in med:
    print(f"  per core: Nosey Parker needs {med['noseyparker --jobs 1']['cpu_s'] / base_cpu:.2f}x leakstop's CPU; "
          f"all cores: {med['noseyparker']['wall_s'] / base_wall:.2f}x its wall time")
PY
  echo "    findings: $(python3 -c "import json; print(len(json.load(open('$BENCH_DIR/$name.after.json'))['findings']))"), rules: $("$LEAKSTOP" rules list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
  if [ -n "${BEFORE:-}" ]; then
    python3 "$here/fingerprint-diff.py" "$BENCH_DIR/$name.before.json" "$BENCH_DIR/$name.after.json" || true
  fi
done
