#!/usr/bin/env bash
# bench_compile_torchvision (issue 14, points 3 and 4): `marsc compile` of a
# torchvision ResNet-18 at 224×224 with 1000 classes, as a user runs it — the
# whole process, wall clock, including reading the 47 MB ONNX file:
#   1. from the already-quantized QDQ model (target <= 0.4 s);
#   2. from the float model with --calib random (post-training quantization
#      on 16 seeded images, target <= 1.5 s): adds fold-bn and calibration
#      on the reference interpreter;
#   3. against PIMCOMP-NN (github.com/sunxt99/PIMCOMP-NN, a compiler for
#      crossbar PIM accelerators) compiling the same network: its backend
#      with `-r=balance -p=batch` and no output files beyond the one it
#      always writes (target: marsc's QDQ compile >= 30x faster). Only when
#      a checkout of PIMCOMP-NN is at hand (--pimcomp DIR, or the cache
#      folder below); otherwise one line says how to provide it.
# The runs alternate, REPS of each (default 7), and the medians of the wall
# time and of the peak memory (/usr/bin/time %M) are printed, with the
# per-pass times of marsc's median run (--time-passes). The program bytes of
# every marsc run are compared with the first: a difference fails.
# The model is exported once with Debian's PyTorch (/usr/bin/python3,
# torchvision weights untrained: compile time does not depend on them).
# Usage: bench_compile_torchvision.sh MARSC [--out DIR] [--reps N]
#          [--pimcomp DIR]
set -euo pipefail
usage="usage: bench_compile_torchvision.sh MARSC [--out DIR] [--reps N] [--pimcomp DIR]"
marsc=${1:?$usage}
shift
out=out/bench_compile_torchvision
reps=7
pimcomp_cache=${XDG_CACHE_HOME:-$HOME/.cache}/marsc-bench/PIMCOMP-NN
pimcomp=$pimcomp_cache
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --pimcomp) pimcomp=$2; shift 2 ;;
    *) echo "bench_compile_torchvision: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd) # absolute: PIMCOMP-NN runs in a folder of its own
float=$out/resnet18_224.onnx
qdq=$out/resnet18_224_qdq.onnx
if [ ! -s "$float" ]; then
  if ! /usr/bin/python3 -c "import torch, torchvision" 2>/dev/null; then
    echo "bench_compile_torchvision: needs /usr/bin/python3 with torch and" \
         "torchvision (apt-get install python3-torchvision); skipped"
    exit 0
  fi
  /usr/bin/python3 - "$float" <<'PY'
import sys, torch, torchvision
torch.manual_seed(0)
m = torchvision.models.resnet18(num_classes=1000).eval()
torch.onnx.export(m, torch.randn(1, 3, 224, 224), sys.argv[1], opset_version=13)
PY
fi
calib=(--calib random)
"$marsc" compile "$float" "${calib[@]}" --save-qdq "$qdq" -o "$out/ref_float.bin" >/dev/null 2>&1
"$marsc" compile "$qdq" -o "$out/ref_qdq.bin" >/dev/null 2>&1

# ---- PIMCOMP-NN: build its backend, convert our export to its JSON --------
# PIMCOMP-NN reads and writes fixed paths relative to its working directory
# (../config.json, ../models/JSON/NAME.json, ../output/MappingResult.txt), so
# it runs in $pc/run/cwd with those files under $pc/run; the checkout itself
# is only read. Nothing of PIMCOMP-NN (Apache-2.0) is copied into marsc.
pc=$out/pimcomp
pc_bin=$pc/build/PIMCOMP-NN
pc_model=          # the -m name of the JSON the backend compiles
pc_network=        # what that JSON is, for the report
pc_why=            # why PIMCOMP-NN is not available, when it is not

# pc_build: configures and builds the backend (Release, its own
# CMakeLists.txt, -j2) into $pc/build, once; an existing binary is reused.
pc_build() {
  [ -x "$pc_bin" ] && return 0
  command -v cmake >/dev/null || { pc_why="cmake is not installed"; return 1; }
  echo "bench_compile_torchvision: building PIMCOMP-NN's backend" \
       "(Release, -j2) into $pc/build" >&2
  { cmake -S "$pimcomp" -B "$pc/build" -DCMAKE_BUILD_TYPE=Release &&
    cmake --build "$pc/build" -j2; } > "$pc/build.log" 2>&1 &&
    [ -x "$pc_bin" ] ||
    { pc_why="its build failed, see $pc/build.log"; return 1; }
}

# pc_convert: makes $pc/run/models/JSON/torchvision_resnet18.json from
# $float with PIMCOMP-NN's frontend (frontend/frontend.py; it imports only
# onnx, json, numpy and argparse, so /usr/bin/python3 runs it as it is — the
# cv2/onnxruntime of its README are for verification.py only). Two things
# stand between our file and the frontend, handled on a copy:
#  - the frontend rewrites the model it reads (onnx.save after shape
#    inference), so it gets a copy, never $float;
#  - the export has 16 Identity nodes that alias one initializer to another
#    (the folded BN biases of untrained weights are equal, and torch's
#    exporter deduplicates them); the frontend knows no Identity op and
#    stops parsing at the first one (it prints "not considered", leaves
#    the node list truncated and exits 0). The copy's consumers read the
#    source initializer directly instead: the same network and weights.
# The result is checked: as many OP_CONV and OP_FC nodes as the ONNX file
# has Conv and Gemm nodes.
pc_convert() {
  local json=$pc/run/models/JSON/torchvision_resnet18.json
  [ -s "$json" ] && [ "$json" -nt "$float" ] && return 0
  /usr/bin/python3 - "$float" "$pimcomp/frontend/frontend.py" "$pc" "$json" \
    > "$pc/frontend.log" 2>&1 <<'PY'
import collections, json, os, subprocess, sys
import onnx
src, frontend, work, out = sys.argv[1:]
m = onnx.load(src)
g = m.graph
inits = {t.name for t in g.initializer}
alias = {n.output[0]: n.input[0] for n in g.node
         if n.op_type == "Identity" and n.input[0] in inits}
nodes = [n for n in g.node if n.output[0] not in alias]
for n in nodes:
    for i, name in enumerate(n.input):
        n.input[i] = alias.get(name, name)
del g.node[:]
g.node.extend(nodes)
copy = work + "/frontend_input.onnx"
onnx.save(m, copy)
print(f"{len(alias)} Identity nodes bypassed; running {frontend}", flush=True)
subprocess.run([sys.executable, frontend, "--model_path", copy,
                "--save_path", out], check=True)
ops = collections.Counter(n.op_type for n in nodes)
got = collections.Counter(n["operation"] for n in json.load(open(out))["node_list"])
want = (ops["Conv"], ops["Gemm"])
if (got["OP_CONV"], got["OP_FC"]) != want:
    sys.exit(f"the JSON has {got['OP_CONV']} convolutions and {got['OP_FC']} "
             f"fully connected layers, the ONNX file {want[0]} and {want[1]}")
os.remove(copy)
PY
  local rc=$?
  [ $rc = 0 ] || rm -f "$json" # never reuse a JSON that failed the check
  return $rc
}

# pc_setup: sets pc_model and pc_network, or pc_why and returns 1.
pc_setup() {
  if [ ! -f "$pimcomp/CMakeLists.txt" ] || [ ! -f "$pimcomp/frontend/frontend.py" ]; then
    pc_why="no checkout at $pimcomp"
    return 1
  fi
  pimcomp=$(cd "$pimcomp" && pwd)
  mkdir -p "$pc/run/models/JSON" "$pc/run/output" "$pc/run/cwd"
  cp "$pimcomp/config.json" "$pc/run/config.json"
  pc_build || return 1
  if pc_convert; then
    pc_model=torchvision_resnet18
    pc_network="the same ONNX file marsc compiles (float), via its frontend"
    return 0
  fi
  if [ -s "$pimcomp/models/JSON/resnet18.json" ]; then
    echo "bench_compile_torchvision: PIMCOMP-NN's frontend failed on our" \
         "export (see $pc/frontend.log); using its own resnet18.json" >&2
    cp "$pimcomp/models/JSON/resnet18.json" "$pc/run/models/JSON/resnet18.json"
    pc_model=resnet18
    pc_network="PIMCOMP-NN's own ResNet-18 JSON (models/JSON/resnet18.json), NOT the identical file"
    return 0
  fi
  pc_why="its frontend failed on our export (see $pc/frontend.log) and it ships no resnet18.json"
  return 1
}

pc_on=0
if pc_setup; then
  pc_on=1
else
  echo "bench_compile_torchvision: PIMCOMP-NN not available ($pc_why);" \
       "marsc rows only. To compare: git clone" \
       "https://github.com/sunxt99/PIMCOMP-NN $pimcomp_cache (or --pimcomp DIR)"
fi

# ---- timed runs ------------------------------------------------------------
# measure KIND I CMD...: runs CMD (stdout and stderr to $out/KIND.I.log),
# appends its wall seconds to $out/KIND.times and its peak resident memory
# (KB, /usr/bin/time %M; 0 without it) to $out/KIND.mem. Returns CMD's exit
# status.
have_time=1
[ -x /usr/bin/time ] || { have_time=0; echo "bench_compile_torchvision:" \
  "/usr/bin/time is not installed (apt-get install time): no peak memory"; }
measure() {
  local kind=$1 i=$2 start end rc=0
  shift 2
  echo 0 > "$out/$kind.$i.mem"
  start=$(date +%s.%N)
  if [ $have_time = 1 ]; then
    /usr/bin/time -f %M -o "$out/$kind.$i.mem" "$@" > "$out/$kind.$i.log" 2>&1 || rc=$?
  else
    "$@" > "$out/$kind.$i.log" 2>&1 || rc=$?
  fi
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f\n", b - a}' >> "$out/$kind.times"
  tail -1 "$out/$kind.$i.mem" >> "$out/$kind.mem"
  return $rc
}

# one KIND I: one timed marsc compile; keeps its --time-passes output as
# $out/KIND.I.log.
one() {
  local kind=$1 i=$2
  local args=("$qdq")
  [ "$kind" = float ] && args=("$float" "${calib[@]}")
  measure "$kind" "$i" "$marsc" compile "${args[@]}" -o "$out/$kind.bin" --time-passes ||
    { echo "bench_compile_torchvision: $kind run $i failed, see $out/$kind.$i.log" >&2; exit 1; }
  cmp -s "$out/$kind.bin" "$out/ref_$kind.bin" ||
    { echo "bench_compile_torchvision: $kind run $i wrote other bytes" >&2; exit 1; }
}

# one_pimcomp I: one timed run of PIMCOMP-NN's backend. Its placement step
# seeds rand() with the time, so its outputs differ run to run; success is
# exit status 0, a fresh non-empty output/MappingResult.txt, and the
# "OVERALL TIME" line it prints last (it exits 0 on a JSON it cannot read).
# Some seeds crash it (a segfault in PLACING, seen about once in 20 runs): a
# failed run is dropped from the times and run again, at most twice, and
# the report says how many were.
pc_reruns=0
one_pimcomp() {
  local i=$1 log=$out/pimcomp.$1.log attempt
  for attempt in 1 2 3; do
    rm -f "$pc/run/output/MappingResult.txt"
    if (cd "$pc/run/cwd" &&
          measure pimcomp "$i" "$pc_bin" \
            -m="$pc_model" -r=balance -p=batch -o=NO -v=NO -i=NO -s=NO) &&
       [ -s "$pc/run/output/MappingResult.txt" ] &&
       grep -q "OVERALL TIME" "$log"; then
      return 0
    fi
    echo "bench_compile_torchvision: PIMCOMP-NN run $i failed (attempt $attempt), see $log" >&2
    sed -i '$d' "$out/pimcomp.times" "$out/pimcomp.mem"
    cp "$log" "$out/pimcomp.$i.failed$attempt.log"
    pc_reruns=$((pc_reruns + 1))
  done
  echo "bench_compile_torchvision: PIMCOMP-NN run $i failed 3 times" >&2
  exit 1
}

rm -f "$out"/*.times "$out"/*.mem "$out"/*.log "$out"/*.passes
for i in $(seq 1 "$reps"); do
  one qdq "$i"
  one float "$i"
  if [ $pc_on = 1 ]; then one_pimcomp "$i"; fi
done

median() { sort -g "$1" | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
# report KIND WHAT [TARGET]: the medians of one row; for marsc's rows
# (with a TARGET in s) also the pass times of the median run.
report() {
  local kind=$1 what=$2 target=${3:-} m mb run
  m=$(median "$out/$kind.times")
  mb=$(awk '{print $1 / 1024}' "$out/$kind.mem" | sort -g |
       awk '{v[NR]=$1} END {printf "%.0f", v[int((NR+1)/2)]}')
  printf '  %-42s median %6.3f s (of %d)  peak %5d MB' "$what" "$m" "$reps" "$mb"
  if [ -z "$target" ]; then echo; return; fi
  printf '   target %s s: %s\n' "$target" \
    "$(awk -v m="$m" -v t="$target" 'BEGIN {print (m <= t) ? "met" : "NOT met"}')"
  run=$(grep -nx "$m" "$out/$kind.times" | head -1 | cut -d: -f1)
  sed -n '/pass execution timing/,/total/p' "$out/$kind.$run.log" |
    sed 's/^/      /'
}
echo "bench_compile_torchvision: torchvision resnet18, 1x3x224x224, 1000 classes," \
     "default arch, $(nproc) CPUs"
report qdq "compile QDQ model" 0.4
report float "compile float, --calib random" 1.5
[ $pc_on = 1 ] || exit 0
echo "  PIMCOMP-NN $(git -C "$pimcomp" rev-parse --short HEAD 2>/dev/null ||
  echo '(commit unknown)') ($pimcomp), its own config.json: its hardware, not marsc's arch"
echo "  network: $pc_network"
report pimcomp "PIMCOMP-NN backend (-r=balance -p=batch)"
[ $pc_reruns = 0 ] ||
  echo "  PIMCOMP-NN: $pc_reruns failed run(s) rerun and not timed (its placement seeds rand() with the time)"
awk -v q="$(median "$out/qdq.times")" -v p="$(median "$out/pimcomp.times")" 'BEGIN {
  printf "  marsc compile QDQ / PIMCOMP-NN = 1/%.1f  (target >= 30x): %s\n",
    p / q, (p / q >= 30) ? "met" : "NOT met" }'
