#!/usr/bin/env bash
# The main job, as far as marsc goes today: compress the default model on
# Fashion-MNIST (float -> QAT with BN folded -> CIM-group pruning -> fine-tune),
# report float and integer accuracy, then exercise zoo -> inspect -> eval on
# the standard CIFAR-sized models.
# Usage: demo.sh MARSC OUTDIR
set -euo pipefail
marsc=${1:?usage: demo.sh MARSC OUTDIR}
out=${2:?usage: demo.sh MARSC OUTDIR}
mkdir -p "$out"

step() { printf '\n== %s\n' "$*"; }

step "the accelerator (built-in MARS-like spec)"
"$marsc" arch

step "marsc train: lenet5 on Fashion-MNIST, W4A4, 50% of CIM groups zero"
"$marsc" train -o "$out/lenet5.w4a4.onnx"

step "the compressed model"
"$marsc" inspect "$out/lenet5.w4a4.onnx"
"$marsc" eval "$out/lenet5.w4a4.onnx" --random 7
echo "report: $out/lenet5.w4a4.report.json"

step "standard models: resnet20 and vgg16 (CIFAR sized)"
"$marsc" zoo resnet20 -o "$out/resnet20.onnx"
"$marsc" inspect "$out/resnet20.onnx" | tail -n 4
"$marsc" eval "$out/resnet20.onnx" --random 7
"$marsc" zoo vgg16 -o "$out/vgg16.onnx"
"$marsc" inspect "$out/vgg16.onnx" | tail -n 4
"$marsc" eval "$out/vgg16.onnx" --random 7

step "done: models, reports and outputs are in $out/"
