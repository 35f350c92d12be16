#!/usr/bin/env bash
# `make bench`: every benchmark of this folder, one after another in one run,
# each printing its ratios against the alternative it measures in the same
# script. Their outputs go to the terminal and, verbatim, to docs/bench.md
# with the machine and commit they ran on: the README's speed figures are
# that file's, never typed by hand.
# Usage: run_all.sh BUILD_DIR OUT_DIR [DOC]   (BUILD_DIR: a Release build
#        with the benchmarks built, as `make bench` makes it; DOC, default
#        docs/bench.md: where the outputs go, so that a run on another
#        kind of CPU, such as docs/bench-avx2.md, can sit beside it)
set -euo pipefail
build=${1:?usage: run_all.sh BUILD_DIR OUT_DIR}
out=${2:?usage: run_all.sh BUILD_DIR OUT_DIR}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
marsc=$build/tools/marsc/marsc
benches=$build/test/bench
mkdir -p "$out"
doc=${3:-$root/docs/bench.md}
tmp=$doc.tmp.$$
trap 'rm -f "$tmp"' EXIT

cpu=$(LC_ALL=C lscpu | sed -n 's/^Model name: *//p' | head -1)
# The widest vector instructions the CPU has: the simulator's kernels (and
# ONNX Runtime's) differ several times over between them.
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
case " $flags " in
  *" avx512_vnni "*) simd="AVX-512 VNNI" ;;
  *" avx512f "*) simd="AVX-512 (no VNNI)" ;;
  *" avx_vnni "*) simd="AVX2 with AVX-VNNI" ;;
  *" avx2 "*) simd="AVX2 (no VNNI, no AVX-512)" ;;
  *) simd="no AVX2" ;;
esac
mem=$(awk '/MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$root" status --porcelain 2>/dev/null | grep -q . && echo ", with local changes" || true)
{
  echo "# Benchmarks"
  echo
  echo "Printed by \`make bench\` (\`test/bench/run_all.sh\`) in one run: each"
  echo "section is one benchmark's output, verbatim. Every ratio compares"
  echo "engines measured by the same script on the same work (network,"
  echo "precision, threads, batch); test/bench/README.md says what each one"
  echo "measures. Shared machines are noisy: figures are medians."
  echo
  echo "- machine: ${cpu:-unknown CPU}, $(nproc) CPUs, ${mem} GiB, ${simd}"
  echo "- run: $(date -u +%FT%TZ), commit ${commit}${dirty}"
} > "$tmp"

# run TITLE COMMAND...: prints the command's output and appends it to the
# document under TITLE. A benchmark that fails stops the run (nothing is
# written to docs/bench.md then).
run() {
  local title=$1
  shift
  echo "== $title" >&2
  {
    echo
    echo "## $title"
    echo
    echo '```'
    echo "\$ ${*#$root/}"
  } >> "$tmp"
  "$@" | tee -a "$tmp"
  echo '```' >> "$tmp"
}

run "Compiler: time per pass" "$benches/bench_compile"
run "Compiler: torchvision ResNet-18, 224x224" \
  bash "$here/bench_compile_torchvision.sh" "$marsc" \
  --out "$out/bench_compile_torchvision"
run "Calibration: 256 images, CIFAR ResNet-18" \
  bash "$here/bench_calibration.sh" "$marsc" --out "$out/bench_calibration"
run "Simulator vs ONNX Runtime, batch 1" \
  bash "$here/bench_vs_onnxruntime.sh" "$marsc" --out "$out/bench_ort"
run "Simulator vs LibTorch" "$benches/bench_simulator" --threads 1
run "Saturating ADC path vs the exact fast path" \
  bash "$here/bench_saturating.sh" "$marsc" --out "$out/bench_saturating" \
  --kernels "$benches/bench_macro_kernels"
# Issue 14's QAT targets are stated for lenet5 and resnet20 at 1 and 2
# threads: both models, both thread counts.
for threads in 1 2; do
  run "Training step: QAT vs float, marsc vs PyTorch, $threads thread(s)" \
    "$benches/bench_train_step" --model all --threads "$threads"
done
mv "$tmp" "$doc"
trap - EXIT
echo "wrote $doc" >&2
