#!/usr/bin/env bash
# run_fuzzer.sh BINARY CORPUS WORKDIR SECONDS
# Runs one libFuzzer target for SECONDS on a copy of the checked-in CORPUS
# (WORKDIR/corpus; the source tree is never written), with crash, leak and
# timeout inputs written to WORKDIR/crashes/. Prints the executions and
# exits non-zero when the fuzzer found something or the binary is missing.
set -euo pipefail
if [ $# -ne 4 ]; then
  echo "usage: $0 BINARY CORPUS WORKDIR SECONDS" >&2
  exit 2
fi
bin=$1 corpus=$2 work=$3 seconds=$4
name=$(basename "$bin")
if [ ! -x "$bin" ]; then
  echo "$name: $bin not built (make build-fuzz, which make test runs)" >&2
  exit 1
fi
if [ ! -d "$corpus" ] || [ -z "$(ls -A "$corpus")" ]; then
  echo "$name: no seed corpus at $corpus" >&2
  exit 1
fi
rm -rf "$work/corpus"
mkdir -p "$work/corpus" "$work/crashes"
cp "$corpus"/* "$work/corpus/"
log=$work/fuzz.log
status=0
# -timeout: one input taking longer than this is a finding. -rss_limit_mb:
# the machine runs two fuzzers beside the other tests. UBSan reports are
# fatal (the build has -fno-sanitize-recover=all).
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  "$bin" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
    -print_final_stats=1 \
    -artifact_prefix="$work/crashes/" "$work/corpus" >"$log" 2>&1 || status=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
if [ "$status" -ne 0 ]; then
  tail -n 60 "$log" >&2
  echo "$name: FAILED (exit $status) after ${execs:-?} executions;" \
       "inputs in $work/crashes/:" >&2
  ls -la "$work/crashes/" >&2
  exit 1
fi
echo "$name: ${execs:-?} executions in ${seconds} s, nothing found" \
     "(corpus $work/corpus: $(ls "$work/corpus" | wc -l) inputs)"
