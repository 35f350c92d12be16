#!/usr/bin/env bash
# bench_compile_torchvision (issue 14, points 3 and 4): `marsc compile` of a
# torchvision ResNet-18 at 224×224 with 1000 classes, as a user runs it — the
# whole process, wall clock, including reading the 47 MB ONNX file:
#   1. from the already-quantized QDQ model (target <= 0.4 s);
#   2. from the float model with --calib random (post-training quantization
#      on 16 seeded images, target <= 1.5 s): adds fold-bn and calibration
#      on the reference interpreter.
# The runs alternate, REPS of each (default 7), and the medians are printed
# with the per-pass times of the median run (--time-passes). The program
# bytes of every run are compared with the first: a difference fails.
# The model is exported once with Debian's PyTorch (/usr/bin/python3,
# torchvision weights untrained: compile time does not depend on them).
# Usage: bench_compile_torchvision.sh MARSC [--out DIR] [--reps N]
set -euo pipefail
marsc=${1:?usage: bench_compile_torchvision.sh MARSC [--out DIR] [--reps N]}
shift
out=out/bench_compile_torchvision
reps=7
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    *) echo "bench_compile_torchvision: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
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

# one KIND: one timed compile; appends the wall seconds to $out/KIND.times
# and keeps its --time-passes output as $out/KIND.N.passes.
one() {
  local kind=$1 i=$2 start end
  local args=("$qdq")
  [ "$kind" = float ] && args=("$float" "${calib[@]}")
  start=$(date +%s.%N)
  "$marsc" compile "${args[@]}" -o "$out/$kind.bin" --time-passes \
    2> "$out/$kind.$i.passes" >/dev/null
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f\n", b - a}' >> "$out/$kind.times"
  cmp -s "$out/$kind.bin" "$out/ref_$kind.bin" ||
    { echo "bench_compile_torchvision: $kind run $i wrote other bytes" >&2; exit 1; }
}
rm -f "$out"/*.times "$out"/*.passes
for i in $(seq 1 "$reps"); do
  one qdq "$i"
  one float "$i"
done

median() { sort -g "$1" | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
report() {
  local kind=$1 what=$2 target=$3 m run
  m=$(median "$out/$kind.times")
  run=$(grep -nx "$m" "$out/$kind.times" | head -1 | cut -d: -f1)
  printf '  %-34s median %6.3f s (of %d)   target %s s: %s\n' "$what" "$m" \
    "$reps" "$target" "$(awk -v m="$m" -v t="$target" 'BEGIN {print (m <= t) ? "met" : "NOT met"}')"
  sed -n '/pass execution timing/,/total/p' "$out/$kind.$run.passes" |
    sed 's/^/      /'
}
echo "bench_compile_torchvision: torchvision resnet18, 1x3x224x224, 1000 classes," \
     "default arch, $(nproc) CPUs"
report qdq "compile QDQ model" 0.4
report float "compile float, --calib random" 1.5
