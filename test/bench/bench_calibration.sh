#!/usr/bin/env bash
# bench_calibration (issue 14, point 4): post-training calibration over 256
# images of the CIFAR ResNet-18 (`marsc zoo resnet18`, 3×32×32) must take
# under 10 s. `--calib random` draws at most 16 images, so the 256 are
# seeded random pixels in an .npy file (calibration time does not depend on
# the pixels' values). Each rep runs the whole `marsc compile --calib
# x.npy --calib-limit 256 --time-passes` process; the script prints the
# median wall time and the median time of the `quantize` pass (calibration
# plus choosing scales), and fails if any run writes other program bytes
# than the first.
# Usage: bench_calibration.sh MARSC [--out DIR] [--reps N]
set -euo pipefail
usage="usage: bench_calibration.sh MARSC [--out DIR] [--reps N]"
marsc=${1:?$usage}
shift
out=out/bench_calibration
reps=5
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    *) echo "bench_calibration: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$marsc" ] || { echo "bench_calibration: $marsc is not executable" >&2; exit 2; }
[ "$reps" -ge 1 ] || { echo "bench_calibration: --reps must be at least 1" >&2; exit 2; }
command -v python3 > /dev/null || { echo "bench_calibration: needs python3" >&2; exit 1; }
mkdir -p "$out"
images=256
model=$out/resnet18.onnx
npy=$out/calib_${images}.npy
"$marsc" zoo resnet18 -o "$model" > /dev/null
# 256 seeded images in [0, 1), float32, N×3×32×32 (the .npy format by hand:
# the python3 on PATH need not have numpy).
python3 - "$npy" "$images" << 'EOF'
import random, struct, sys
path, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(14)
header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, 3, 32, 32), }" % n
header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
with open(path, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    f.write(struct.pack("<%df" % (n * 3072), *(rng.random() for _ in range(n * 3072))))
EOF

: > "$out/wall.txt"
: > "$out/quantize.txt"
for i in $(seq 1 "$reps"); do
  t0=$(date +%s.%N)
  "$marsc" compile "$model" --calib "$npy" --calib-limit "$images" \
    --time-passes -o "$out/run.bin" > "$out/run.log" 2>&1
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.6f\n", b - a}' >> "$out/wall.txt"
  # The pass table: "   937.669 ms   89.3%  quantize".
  awk '$2 == "ms" && $4 == "quantize" {print $1 / 1000}' "$out/run.log" >> "$out/quantize.txt"
  if [ "$i" = 1 ]; then
    cp "$out/run.bin" "$out/first.bin"
  elif ! cmp -s "$out/run.bin" "$out/first.bin"; then
    echo "bench_calibration: run $i wrote other program bytes than run 1" >&2
    exit 1
  fi
done
[ -s "$out/quantize.txt" ] ||
  { echo "bench_calibration: no quantize pass time in $out/run.log" >&2; exit 1; }
median() { sort -g "$1" | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
wall=$(median "$out/wall.txt")
quant=$(median "$out/quantize.txt")
echo "bench_calibration: CIFAR resnet18 (marsc zoo), $images seeded random images, $(nproc) CPUs, median of $reps"
awk -v w="$wall" -v q="$quant" 'BEGIN {
  printf "  marsc compile --calib (256 images), whole process  %7.3f s   target < 10 s: %s\n", w, (w < 10 ? "met" : "NOT met")
  printf "  of which the quantize pass (calibration, scales)    %7.3f s\n", q
}'
