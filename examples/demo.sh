#!/usr/bin/env bash
# The main job: the whole marsc path on the default data.
#   train  lenet5 on Fashion-MNIST: float -> QAT (BN folded) -> CIM-group
#          pruning to 50% -> fine-tune; W4A4, 8-bit first/last layers
#   compile the compressed model for the default MARS-like chip
#   run    the program on the simulator over the 10,000 test images:
#          accuracy (must equal training's integer evaluation), FPS, TOPS/W,
#          per-layer cycles and energy
# Usage: demo.sh MARSC OUTDIR
set -euo pipefail
marsc=${1:?usage: demo.sh MARSC OUTDIR}
out=${2:?usage: demo.sh MARSC OUTDIR}
mkdir -p "$out"
start=$(date +%s)

step() { printf '\n== %s\n' "$*"; }

step "the accelerator (built-in MARS-like spec)"
"$marsc" arch

step "marsc train: lenet5 on Fashion-MNIST, W4A4, 50% of CIM groups zero"
"$marsc" train -o "$out/lenet5.w4a4.onnx"

step "marsc compile: the compressed model -> program for the chip"
"$marsc" compile "$out/lenet5.w4a4.onnx" -o "$out/lenet5.bin" --report

step "marsc run: the program over the Fashion-MNIST test set"
"$marsc" run "$out/lenet5.bin" --data fashion-mnist \
  --trace "$out/lenet5.trace.json" --plot "$out/lenet5.svg"
"$marsc" run "$out/lenet5.bin" --data fashion-mnist --json --quiet \
  > "$out/lenet5.run.json"

step "check: the chip's accuracy equals training's integer evaluation"
train_correct=$(grep -o '"integer_correct": *[0-9]*' \
  "$out/lenet5.w4a4.report.json" | grep -o '[0-9]*$')
run_correct=$(grep -o '"correct": *[0-9]*' "$out/lenet5.run.json" |
  head -n 1 | grep -o '[0-9]*$')
echo "marsc train (integer evaluation): $train_correct correct"
echo "marsc run   (simulated chip):     $run_correct correct"
if [ "$train_correct" != "$run_correct" ]; then
  echo "MISMATCH: the integer contract is broken" >&2
  exit 1
fi

step "done in $(( $(date +%s) - start )) s: model, program, reports, trace (open in Perfetto) and plot are in $out/"
