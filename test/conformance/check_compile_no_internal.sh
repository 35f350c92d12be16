#!/usr/bin/env bash
# No valid ONNX model that `marsc eval` accepts may make `marsc compile` fail
# with an internal error (issue 11, point 8): over every model of Debian's
# libonnx-testdata (the ONNX backend conformance tests), each one the float
# interpreter runs (`marsc eval --random 1`) must either compile
# (`--calib random`, exit 0) or be refused as a user error: exit 1 with one
# line "marsc: error: ..." and no "internal". Anything else (a crash, an
# abort, exit 2, an "internal" message) is listed and fails the test.
# Usage: check_compile_no_internal.sh MARSC WORKDIR
# Exits 77 (skip) without libonnx-testdata, 1 under MARS_REQUIRE_DATA=1.
set -u
marsc=${1:?usage: check_compile_no_internal.sh MARSC WORKDIR}
work=${2:?usage: check_compile_no_internal.sh MARSC WORKDIR}
data=/usr/share/libonnx-testdata/data
if [ ! -d "$data/node" ]; then
  echo "SKIP: libonnx-testdata is not installed"
  [ "${MARS_REQUIRE_DATA:-0}" = 1 ] && exit 1
  exit 77
fi
mkdir -p "$work"
models=0 accepted=0 compiled=0 refused=0 bad=0
while IFS= read -r model; do
  models=$((models + 1))
  timeout 60 "$marsc" eval "$model" --random 1 >/dev/null 2>&1 || continue
  accepted=$((accepted + 1))
  timeout 120 "$marsc" compile "$model" --calib random \
    -o "$work/program.bin" >/dev/null 2>"$work/stderr"
  rc=$?
  err=$(grep -v '^marsc compile: ' "$work/stderr")
  if [ $rc -eq 0 ]; then
    compiled=$((compiled + 1))
  elif [ $rc -eq 1 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] &&
       [[ "$err" == "marsc: error: "* ]] && [[ "$err" != *internal* ]]; then
    refused=$((refused + 1))
  else
    bad=$((bad + 1))
    echo "FAIL ${model#$data/}: exit $rc: $(head -c 400 "$work/stderr")"
  fi
done < <(find "$data" -name model.onnx | sort)
echo "$models models, $accepted run by marsc eval: $compiled compiled," \
  "$refused refused as user errors, $bad otherwise"
# The scan means something only if it saw a good share of the corpus.
if [ "$accepted" -lt 100 ] || [ "$compiled" -lt 10 ]; then
  echo "FAIL: too few models accepted ($accepted) or compiled ($compiled)"
  exit 1
fi
[ "$bad" -eq 0 ]
