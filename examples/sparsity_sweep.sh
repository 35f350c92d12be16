#!/usr/bin/env bash
# Accuracy against CIM-group sparsity on Fashion-MNIST: trains the default
# model once in float (--save-float), then compresses that same float model at
# W4A4 to each sparsity, and draws the table and plot in docs/.
# Usage: sparsity_sweep.sh MARSC OUTDIR [extra marsc train options]
set -euo pipefail
marsc=${1:?usage: sparsity_sweep.sh MARSC OUTDIR}
out=${2:?usage: sparsity_sweep.sh MARSC OUTDIR}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
echo "== float baseline"
"$marsc" train --stages float --save-float "$out/float.onnx" \
  -o "$out/float_ptq.onnx" "$@"
for s in 0 0.25 0.5 0.75; do
  echo "== sparsity $s"
  "$marsc" train --model "$out/float.onnx" --pretrained --sparsity "$s" \
    -o "$out/sweep_$s.onnx" "$@"
done
/usr/bin/python3 "$here/plot_sweep.py" "$here/../docs/sparsity_sweep.svg" \
  "$out"/sweep_*.report.json | tee "$here/../docs/sparsity_sweep.md"
