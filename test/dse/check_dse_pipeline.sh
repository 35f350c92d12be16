#!/usr/bin/env bash
# examples/dse/Makefile keeps make's semantics (issue 13, points 2, 5, 7), on
# the smoke grid (2 sparsities x 2 ADCs, very short training, 100 test
# images), with the real marsc:
#  1. `make -j2 smoke` with LAUNCH set to a wrapper that logs its calls:
#     MARSC names a command that exists only inside the wrapper, so any
#     recipe that ran marsc without $(LAUNCH) fails; the log must hold every
#     job (1 float training, 4 arch files, 4 compressions, 4 compiles, 4
#     runs, 1 collect = 18).
#  2. `make -j1 smoke` into the same folder (the first result moved aside:
#     results name their inputs by path), interrupted with SIGINT once the
#     first compressed model exists, leaves no temporary and no target that
#     is not whole; re-running it finishes the rest.
#  3. The -j1 (interrupted and resumed) and -j2 results are byte-identical:
#     table.csv, front.svg, every model, program and arch file, and every
#     JSON result once the wall-clock fields (seconds, images_per_second,
#     timing_model_seconds) are removed.
#  4. Touching one chip arch file re-runs exactly the compiles and runs of
#     that arch's two programs and the collect (5 jobs), nothing else.
#  5. Extending the finished grid: SCHEDULE_FOR="cycles traffic" adds an
#     axis to the programs only, so make trains nothing and runs 8 compiles
#     (each with the --schedule-for its name carries), 8 runs and the
#     collect, into a table of 8 rows with a schedfor column. (Before every
#     file was named in the Makefile, make did nothing here.)
# Usage: check_dse_pipeline.sh MARSC WORKDIR
# Exits 77 (skip) without Fashion-MNIST, 1 under MARS_REQUIRE_DATA=1.
set -u
marsc=${1:?usage: check_dse_pipeline.sh MARSC WORKDIR}
work=${2:?usage: check_dse_pipeline.sh MARSC WORKDIR}
here=$(cd "$(dirname "$0")" && pwd)
dse=$here/../../examples/dse
if [ ! -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ]; then
  echo "SKIP: dataset-fashion-mnist is not installed"
  [ "${MARS_REQUIRE_DATA:-0}" = 1 ] && exit 1
  exit 77
fi
rm -rf "$work"
mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

# The wrapper: records each call, then runs it with the real marsc in place
# of the placeholder name.
cat > "$work/launch.sh" <<EOF
#!/usr/bin/env bash
echo "\$*" >> "$work/launch.log"
if [ "\$1" = marsc-via-launch ]; then shift; exec "$marsc" "\$@"; fi
exec "\$@"
EOF
chmod +x "$work/launch.sh"
smoke() { # OUT, make options...
  local out=$1
  shift
  make -C "$dse" smoke OUT="$out" MARSC=marsc-via-launch \
    LAUNCH="$work/launch.sh" MARSC_THREADS=1 "$@"
}

# 1. -j2 through the wrapper.
# Both runs write under the same OUT (the results name their input files),
# the first one is then moved aside for the comparison.
smoke "$work/out" -j2 > "$work/j2.log" 2>&1 ||
  { cat "$work/j2.log"; fail "make -j2 smoke failed"; }
mv "$work/out" "$work/j2"
jobs=$(grep -c '^marsc-via-launch ' "$work/launch.log")
[ "$jobs" -eq 18 ] || { cat "$work/launch.log"; fail "$jobs marsc jobs went through LAUNCH, expected 18"; }
echo "ok: make -j2 smoke, all 18 marsc jobs through \$(LAUNCH)"

# 2. -j1, interrupted once the first compressed model exists, then resumed.
# Job control on: a background job of a script otherwise ignores SIGINT, and
# in its own process group it gets Ctrl-C as a terminal would deliver it.
set -m
make -C "$dse" smoke OUT="$work/out" MARSC=marsc-via-launch \
  LAUNCH="$work/launch.sh" MARSC_THREADS=1 -j1 > "$work/j1.log" 2>&1 &
pid=$!
set +m
for _ in $(seq 1 600); do
  ls "$work"/out/smoke/models/*.onnx > /dev/null 2>&1 && break
  kill -0 $pid 2> /dev/null || break
  sleep 0.5
done
kill -INT -- -$pid 2> /dev/null || fail "make had finished before it could be interrupted"
wait $pid && fail "the interrupted make reported success"
leftovers=$(find "$work/out" -name '*.tmp.*')
[ -z "$leftovers" ] || fail "temporaries left after Ctrl-C: $leftovers"
[ ! -e "$work/out/smoke/table.csv" ] || fail "the interrupted make wrote the table"
for f in $(find "$work/out" -name '*.json' ! -path '*ckpt*'); do
  /usr/bin/python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$f" ||
    fail "$f is not whole after Ctrl-C"
done
for f in $(find "$work/out" -name '*.bin'); do
  "$marsc" disasm "$f" > /dev/null 2>&1 || fail "$f is not whole after Ctrl-C"
done
echo "ok: Ctrl-C left no temporary and no partial target"
smoke "$work/out" -j1 > "$work/j1-resume.log" 2>&1 ||
  { cat "$work/j1-resume.log"; fail "make -j1 smoke after Ctrl-C failed"; }
echo "ok: re-running after Ctrl-C finished the rest"

# 3. Byte-identical results.
a=$work/out/smoke b=$work/j2/smoke
for f in table.csv front.svg; do
  cmp "$a/$f" "$b/$f" || fail "$f differs between -j2 and -j1 (after Ctrl-C)"
done
n=0
for f in $(cd "$a" && find float models programs archs runs -type f | sort); do
  case $f in
    *.json)
      /usr/bin/python3 - "$a/$f" "$b/$f" <<'PY' || fail "$f differs beyond its wall-clock fields"
import json, sys
def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items()
                if k not in ("seconds", "images_per_second",
                             "timing_model_seconds")}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x
a, b = (strip(json.load(open(p))) for p in sys.argv[1:])
sys.exit(0 if a == b else 1)
PY
      ;;
    *) cmp "$a/$f" "$b/$f" || fail "$f differs between -j2 and -j1" ;;
  esac
  n=$((n + 1))
done
[ "$n" -eq 27 ] || fail "$n result files compared, expected 27 (3 float, 8 model, 8 program, 4 arch, 4 run)"
echo "ok: -j1 and -j2 give the same table, plot and $n result files"

# 4. Touch one chip arch: only its compiles and runs, and the collect.
arch=$(cd "$a/archs" && ls *_macros-*.json | head -1)
sleep 1.1
touch "$a/archs/$arch"
: > "$work/launch.log"
smoke "$work/out" -j2 > "$work/touch.log" 2>&1 ||
  { cat "$work/touch.log"; fail "make after touching $arch failed"; }
point=${arch%.json}
compiles=$(grep -c "^marsc-via-launch compile .*--arch $a/archs/$arch " "$work/launch.log")
runs=$(grep -c "^marsc-via-launch run .*_$point\.bin " "$work/launch.log")
collects=$(grep -c '^marsc-via-launch collect ' "$work/launch.log")
total=$(wc -l < "$work/launch.log")
[ "$compiles" -eq 2 ] && [ "$runs" -eq 2 ] && [ "$collects" -eq 1 ] &&
  [ "$total" -eq 5 ] ||
  { cat "$work/launch.log"; fail "touching $arch re-ran $total jobs, expected its 2 compiles, 2 runs and the collect"; }
echo "ok: touching $arch re-ran only its 2 compiles, 2 runs and the collect"

# 5. The --schedule-for axis over the same compressed models.
: > "$work/launch.log"
smoke "$work/out" -j2 SCHEDULE_FOR="cycles traffic" > "$work/schedfor.log" 2>&1 ||
  { cat "$work/schedfor.log"; fail "make smoke SCHEDULE_FOR=\"cycles traffic\" failed"; }
trains=$(grep -c '^marsc-via-launch train ' "$work/launch.log")
compiles=0
for goal in cycles traffic; do
  n=$(grep -c "^marsc-via-launch compile .*_schedfor-$goal\.bin --schedule-for $goal " "$work/launch.log")
  compiles=$((compiles + n))
done
runs=$(grep -c '^marsc-via-launch run .*_schedfor-\(cycles\|traffic\)\.bin ' "$work/launch.log")
[ "$trains" -eq 0 ] && [ "$compiles" -eq 8 ] && [ "$runs" -eq 8 ] ||
  { cat "$work/launch.log"; fail "SCHEDULE_FOR=\"cycles traffic\": $trains trainings, $compiles compiles with their goal, $runs runs; expected 0, 8, 8"; }
head -1 "$a/table.csv" | grep -q schedfor ||
  fail "table.csv has no schedfor column: $(head -1 "$a/table.csv")"
echo "ok: SCHEDULE_FOR=\"cycles traffic\" compiled and ran the 4 models for both goals into 8 rows"
