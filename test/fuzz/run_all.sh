#!/usr/bin/env bash
# run_all.sh FUZZBUILD SECONDS OUT: `make fuzz`. Every target of test/fuzz
# for SECONDS, one after another, each on a copy of its seed corpus in
# OUT/<target>/; a summary of executions per target at the end. Exits 1 when
# any target found a crash, leak, timeout or sanitizer report (the input is
# in the folder the summary names).
set -uo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 FUZZBUILD SECONDS OUT" >&2
  exit 2
fi
build=$1 seconds=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
failed=0
summary=()
for t in onnx program arch npy dataset; do
  echo "== fuzz_$t: $seconds s"
  if line=$(bash "$here/run_fuzzer.sh" "$build/test/fuzz/fuzz_$t" \
              "$here/corpus/$t" "$out/$t" "$seconds"); then
    summary+=("$line")
  else
    failed=1
    summary+=("fuzz_$t: FOUND SOMETHING, inputs in $out/$t/crashes/")
  fi
  echo "${summary[-1]}"
done
echo
echo "== summary ($seconds s per target)"
printf '%s\n' "${summary[@]}"
exit $failed
