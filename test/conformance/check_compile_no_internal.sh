#!/usr/bin/env bash
# No valid ONNX model that `marsc eval` accepts may make `marsc compile` fail
# with an internal error (issue 11, point 8): over every model of Debian's
# libonnx-testdata (the ONNX backend conformance tests), each one the float
# interpreter runs (`marsc eval --random 1`) must either compile
# (`--calib random`, exit 0) or be refused as a user error: exit 1 with one
# line "marsc: error: ..." and no "internal". Anything else (a crash, an
# abort, exit 2, an "internal" message) is listed and fails the test.
# Models are checked two at a time (MARS_SCAN_JOBS to change).
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

# Prints one word per model: skipped (eval refuses it), compiled, refused,
# or "bad <model>: <why>".
check_one() {
  local marsc=$1 work=$2 model=$3
  timeout 60 "$marsc" eval "$model" --random 1 >/dev/null 2>&1 ||
    { echo skipped; return; }
  local dir
  dir=$(mktemp -d "$work/m.XXXXXX")
  timeout 120 "$marsc" compile "$model" --calib random \
    -o "$dir/program.bin" >/dev/null 2>"$dir/stderr"
  local rc=$? err
  err=$(grep -v '^marsc compile: ' "$dir/stderr")
  if [ $rc -eq 0 ]; then
    echo compiled
  elif [ $rc -eq 1 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] &&
       [[ "$err" == "marsc: error: "* ]] && [[ "$err" != *internal* ]]; then
    echo refused
  else
    echo "bad $model: exit $rc: $(head -c 400 "$dir/stderr" | tr '\n' ' ')"
  fi
  rm -rf "$dir"
}
export -f check_one

results=$(find "$data" -name model.onnx | sort |
  xargs -P "${MARS_SCAN_JOBS:-2}" -I{} bash -c 'check_one "$@"' _ \
    "$marsc" "$work" {})
count() { printf '%s\n' "$results" | grep -c "^$1" || true; }
models=$(printf '%s\n' "$results" | grep -c .)
skipped=$(count skipped) compiled=$(count compiled) refused=$(count refused)
bad=$(count bad)
accepted=$((models - skipped))
printf '%s\n' "$results" | grep '^bad' | sed 's/^bad /FAIL /'
echo "$models models, $accepted run by marsc eval: $compiled compiled," \
  "$refused refused as user errors, $bad otherwise"
# The scan means something only if it saw a good share of the corpus.
if [ "$models" -lt 1000 ] || [ "$accepted" -lt 100 ] || [ "$compiled" -lt 10 ]; then
  echo "FAIL: too few models seen ($models), accepted ($accepted) or" \
    "compiled ($compiled)"
  exit 1
fi
[ "$bad" -eq 0 ]
