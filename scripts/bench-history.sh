#!/usr/bin/env bash
# History scan benchmark: `leakstop scan --git` against
# `git cat-file --batch-all-objects --batch` (and Nosey Parker with
# NOSEYPARKER=, the old build with BEFORE=), in one run, with wall and CPU
# seconds, private (RssAnon) and file-backed memory and ratios to git; see
# scripts/bench/history.sh, which this runs.
#
#   NOSEYPARKER=… BEFORE=… RUNS=2 scripts/bench-history.sh [REPO...]
exec "$(dirname "$0")/bench/history.sh" "$@"
