#!/usr/bin/env bash
# The main job, as far as marsc goes today: build standard models from the
# zoo, inspect them, and evaluate them on the reference interpreter.
# Usage: demo.sh MARSC OUTDIR
set -euo pipefail
marsc=${1:?usage: demo.sh MARSC OUTDIR}
out=${2:?usage: demo.sh MARSC OUTDIR}
mkdir -p "$out"

step() { printf '\n== %s\n' "$*"; }

step "marsc zoo --list"
"$marsc" zoo --list

step "lenet5 (Fashion-MNIST sized: 1x28x28, 10 classes)"
"$marsc" zoo lenet5 -o "$out/lenet5.onnx"
"$marsc" inspect "$out/lenet5.onnx"
"$marsc" eval "$out/lenet5.onnx" --random 7 --output "$out/lenet5.logits.npy"

step "resnet20 (CIFAR sized: 3x32x32)"
"$marsc" zoo resnet20 -o "$out/resnet20.onnx"
"$marsc" inspect "$out/resnet20.onnx" --json > "$out/resnet20.inspect.json"
echo "wrote $out/resnet20.inspect.json"
"$marsc" inspect "$out/resnet20.onnx" | tail -n 4
"$marsc" eval "$out/resnet20.onnx" --random 7

step "vgg16 (CIFAR sized: 13 Conv-BN-ReLU, 5 max pools)"
"$marsc" zoo vgg16 -o "$out/vgg16.onnx"
"$marsc" inspect "$out/vgg16.onnx" | tail -n 4
time "$marsc" eval "$out/vgg16.onnx" --random 7

step "done: models and outputs are in $out/"
