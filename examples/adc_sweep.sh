#!/usr/bin/env bash
# Accuracy against ADC resolution on Fashion-MNIST (issue 11, point 5): the
# default model trained once in float, then compressed (W4A4, 50% CIM-group
# sparsity) for archs whose ADC has 3, 4 and 5 bits at wl_on 16 — once with
# the ADC in the QAT loop, once trained as if it were exact — and each result
# compiled for its arch and run on the simulator over the whole test set.
# Writes docs/adc_sweep.md. Every figure in it is printed by this script.
# Usage: adc_sweep.sh MARSC OUTDIR [extra marsc train options]
set -euo pipefail
marsc=${1:?usage: adc_sweep.sh MARSC OUTDIR}
out=${2:?usage: adc_sweep.sh MARSC OUTDIR}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
echo "== float baseline"
if [ ! -f "$out/float.onnx" ]; then
  "$marsc" train --stages float --save-float "$out/float.onnx" \
    -o "$out/float_ptq.onnx" --no-progress "$@"
fi
for bits in 3 4 5; do
  arch="$out/adc$bits.json"
  "$marsc" arch --set macro.adc_bits="$bits" --set name="mars-adc$bits" \
    -o "$arch"
  for loop in in-loop exact; do
    name="adc${bits}_$loop"
    flag=""
    [ "$loop" = exact ] && flag="--no-adc-in-loop"
    echo "== adc_bits $bits, trained $loop"
    "$marsc" train --model "$out/float.onnx" --pretrained --arch "$arch" \
      $flag --no-progress -o "$out/$name.onnx" "$@"
    "$marsc" compile "$out/$name.onnx" --arch "$arch" -o "$out/$name.bin"
    "$marsc" run "$out/$name.bin" --data fashion-mnist --json --quiet \
      > "$out/$name.run.json"
  done
done
/usr/bin/python3 - "$out" "$*" <<'PY' | tee "$here/../docs/adc_sweep.md"
import json, sys
out, extra = sys.argv[1], sys.argv[2]
print("lenet5 on Fashion-MNIST, W4A4 (first and last layers 8-bit), 50% CIM-"
      "group sparsity, `examples/adc_sweep.sh MARSC OUT " + extra + "`; "
      "accuracy over the test images train evaluated, `marsc run` over the "
      "whole test split, energy per image from `marsc run`.\n")
print("| adc_bits (wl_on 16) | ADC in the QAT loop | train: fake-quant | "
      "train: integer | `marsc run` | energy per image (µJ) |")
print("|---|---|---|---|---|---|")
for bits in (3, 4, 5):
    for loop in ("in-loop", "exact"):
        name = f"adc{bits}_{loop}"
        rep = json.load(open(f"{out}/{name}.report.json"))
        run = json.load(open(f"{out}/{name}.run.json"))
        acc = rep["accuracy"]
        f = run["functional"]
        if not rep["adc"]["saturates"] and loop == "exact":
            continue  # an exact ADC: the two trainings are the same
        in_loop = "yes" if rep["adc"]["in_loop"] else (
            "no" if rep["adc"]["saturates"] else "exact ADC")
        print(f"| {bits} | {in_loop} | {100 * acc['fake_quant']:.2f}% | "
              f"{100 * acc['integer']:.2f}% | "
              f"{100 * f['correct'] / f['images']:.2f}% | "
              f"{run['timing']['energy']['per_image_uj']:.3f} |")
PY
