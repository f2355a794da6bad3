#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time over a scratch copy of its
# corpus, so that the corpus in the repository is never modified. A crash
# leaves its input in ARTIFACT_DIR (crash-<sha1>); add it to the corpus as a
# regression input once fixed (README.md).
#   run_fuzzer.sh FUZZER CORPUS_DIR ARTIFACT_DIR SECONDS [libFuzzer flags...]
set -euo pipefail
fuzzer=$1 corpus=$2 artifacts=$3 seconds=$4
shift 4
work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -R "$corpus/." "$work/"
mkdir -p "$artifacts"
"$fuzzer" "$work" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" "$@"
