#!/usr/bin/env bash
# The README's design-space sweep (issue 13, point 6): lenet5 on
# Fashion-MNIST, W4A4, sparsity 0/0.25/0.5/0.75 x adc_bits 3/4/5 x wl_on
# 16/32 = 24 design points, one float model, a short compression per point
# (1 QAT + 1 pruning + 1 fine-tuning epoch on 5000 training images, the ADC
# in the loop where it saturates), each program run on the whole test split.
# Runs `make -C examples/dse -j2` and writes docs/dse_sweep.md (settings, the
# wall time of each make invocation, the collected table) and
# docs/dse_front.svg (the Pareto plot). Every figure there comes from here.
# Usage: dse_sweep.sh MARSC OUTDIR
set -euo pipefail
marsc=${1:?usage: dse_sweep.sh MARSC OUTDIR}
out=${2:?usage: dse_sweep.sh MARSC OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
docs=$here/../docs
settings=(SPARSITY="0 0.25 0.5 0.75" ADC_BITS="3 4 5" WL_ON="16 32"
  FLOAT_FLAGS="--epochs 8"
  TUNE_FLAGS="--qat-epochs 1 --prune-epochs 1 --finetune-epochs 1 --limit-train 5000 --limit-test 1000"
  PARETO="acc:energy_per_image,fps" MARSC_THREADS=1)
mkdir -p "$out"
# A sweep may take several invocations (an interrupted one, then the rest):
# each one that had work to do is timed, and the document lists them all.
if ! make -q -C "$here/dse" OUT="$out" MARSC="$marsc" "${settings[@]}"; then
  start=$(date +%s)
  status=0
  make -C "$here/dse" -j2 OUT="$out" MARSC="$marsc" "${settings[@]}" || status=$?
  end=$(date +%s)
  echo "$(date -u +%FT%TZ) make -j2: $((end - start)) s, exit $status" >> "$out/wall.log"
  [ $status -eq 0 ] || exit $status
fi

results=$(make -s -C "$here/dse" OUT="$out" "${settings[@]}" print-results)
{
  echo "# Design-space sweep: lenet5 on Fashion-MNIST"
  echo
  echo "Produced by \`examples/dse_sweep.sh MARSC OUT\`, which runs"
  echo "\`make -C examples/dse -j2\` with:"
  echo
  for s in "${settings[@]}"; do echo "- \`$s\`"; done
  echo
  echo "One float model (8 epochs, all 60,000 training images) serves every"
  echo "point; each point is compressed from it for its arch (W4A4, first and"
  echo "last layers 8-bit; CIM groups of wl_on rows; the ADC in the QAT loop"
  echo "where it saturates), compiled, and run by \`marsc run\` over the"
  echo "whole test split (\`acc\`). \`train_*_acc\` are training's own"
  echo "evaluations on the first 1000 test images. Energy per image in µJ."
  echo "Today's energy model prices an ADC conversion the same at every"
  echo "resolution (the calibrated default prices one conversion as in Si et al.'s macro), so \`adcbits\` moves accuracy"
  echo "here, not energy."
  echo
  echo "Wall time on this machine ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')),"
  echo "one line per \`make\` invocation of this script (a sweep may take"
  echo "several: an interrupted one and the rest, or results first and the"
  echo "table later; a failed one is listed with its exit status):"
  echo
  sed 's/^/- /' "$out/wall.log"
  echo
  # shellcheck disable=SC2086
  "$marsc" collect $results --pareto acc:energy_per_image,fps --markdown \
    -o "$out/table-doc.csv"
  echo
  echo "![Pareto front](dse_front.svg)"
} > "$docs/dse_sweep.md.tmp"
mv "$docs/dse_sweep.md.tmp" "$docs/dse_sweep.md"
cp "$out/front.svg" "$docs/dse_front.svg"
echo "wrote docs/dse_sweep.md and docs/dse_front.svg"
