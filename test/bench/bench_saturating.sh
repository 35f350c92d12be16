#!/usr/bin/env bash
# How fast `marsc run` simulates a chip whose ADC saturates (issue 11, point
# 5; target: at least 25% of the exact fast path's images/s).
#
# resnet18 (CIFAR) W4A4 with 50% of its CIM groups pruned, compiled twice:
# for the default arch (exact ADC, so `marsc run` takes the fast GEMM) and
# for the same arch with adc_bits 3 (16 rows count up to 16 > 7, so it runs
# the macro-level model: exact sums with ADC clip corrections). Both run the same
# images with one thread, interleaved run by run so that the load of a
# shared machine falls on both alike; images/s are medians over the runs
# and the ratio is of the medians. With --kernels BENCH_MACRO_KERNELS it
# also times the older macro-level kernels once on the saturating program.
#
# Usage: bench_saturating.sh MARSC [--reps N] [--images N] [--out DIR]
#                            [--kernels PATH]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
marsc=${1:?usage: bench_saturating.sh MARSC [--reps N] [--images N] [--out DIR] [--kernels PATH]}
shift
reps=5 images=16 out=out/bench_saturating kernels=
while [ $# -gt 0 ]; do
  case $1 in
    --reps) reps=$2; shift 2 ;;
    --images) images=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --kernels) kernels=$2; shift 2 ;;
    *) echo "bench_saturating.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$out/cifar"

# The default arch with a 3-bit ADC, nothing else changed.
sed -e 's/"name": "mars"/"name": "mars-adc3"/' -e 's/"adc_bits": 5/"adc_bits": 3/' \
  "$here/../../examples/arch/mars.json" > "$out/adc3.json"
grep -q '"adc_bits": 3' "$out/adc3.json" ||
  { echo "bench_saturating.sh: could not set adc_bits in $out/adc3.json" >&2; exit 1; }

# `marsc run` takes many images only from a dataset: a CIFAR-10 test batch
# of seeded random pixels (records: label byte, 3072 pixel bytes).
/usr/bin/python3 - "$out/cifar/test_batch.bin" "$images" <<'EOF'
import random, sys
rng = random.Random(1)
with open(sys.argv[1], "wb") as f:
    for _ in range(int(sys.argv[2])):
        f.write(bytes([rng.randrange(10)] + [rng.randrange(256) for _ in range(3072)]))
EOF

"$marsc" zoo resnet18 -o "$out/resnet18.onnx" > /dev/null
"$marsc" compile "$out/resnet18.onnx" --calib random --prune 0.5 \
  --wbits 4 --abits 4 -o "$out/exact.bin" > /dev/null
"$marsc" compile "$out/resnet18.onnx" --calib random --prune 0.5 \
  --wbits 4 --abits 4 --arch "$out/adc3.json" -o "$out/saturating.bin" > /dev/null

# images/s of one `marsc run` (its own functional timing, executor set-up
# included), and the mode it chose.
run() {
  "$marsc" run "$1" --data "cifar10:$out/cifar" --limit "$images" \
    --threads 1 --json --quiet > "$out/run.json"
  /usr/bin/python3 -c 'import json, sys
f = json.load(open(sys.argv[1]))["functional"]
print(f["images"] / f["seconds"], f["mode"].split(" ")[0])' "$out/run.json"
}

exact=() saturating=()
for ((r = 0; r < reps; ++r)); do
  read -r speed mode < <(run "$out/exact.bin")
  [ "$mode" = fast ] || { echo "exact.bin ran in mode $mode" >&2; exit 1; }
  exact+=("$speed")
  read -r speed mode < <(run "$out/saturating.bin")
  [ "$mode" = macro-level ] || { echo "saturating.bin ran in mode $mode" >&2; exit 1; }
  saturating+=("$speed")
done

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
spread() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {printf "%.2f..%.2f", v[1], v[NR]}'; }
e=$(median "${exact[@]}")
s=$(median "${saturating[@]}")
echo "resnet18 W4A4, prune 0.5, $images images, 1 thread, median of $reps runs"
printf 'exact ADC, fast path:           %6.2f images/s  (runs %s)\n' "$e" "$(spread "${exact[@]}")"
printf 'adc_bits 3, macro (saturating): %6.2f images/s  (runs %s)\n' "$s" "$(spread "${saturating[@]}")"
awk -v s="$s" -v e="$e" 'BEGIN {printf "ratio saturating / exact:       %6.2f  (target >= 0.25)\n", s / e}'

if [ -n "$kernels" ]; then
  echo
  echo "the macro-level kernels on the same program, one process (bench_macro_kernels):"
  "$kernels" "$out/saturating.bin" --images 2
fi
