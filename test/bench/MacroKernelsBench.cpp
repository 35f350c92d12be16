// The macro-level model's kernels on one compiled program
// (ExecOptions::macroKernel): exact sums with ADC clip corrections (what
// `marsc run --mode macro` uses where they fit), the same in portable C++
// (what a CPU without AVX-512 runs), the packed saturating kernel before
// them, and the bit-mask reference kernel before that; same
// images, one thread, interleaved. Checks that outputs and counters are
// equal and prints images/s of each. bench_saturating.sh calls it for the
// older kernels' speed, which `marsc run` can no longer show.
#include "BenchStats.h"
#include "mars/support/Random.h"
#include "mars/support/IntRange.h"
#include "mars/program/ProgramFile.h"
#include "mars/runtime/Functional.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace mars;
using bench::median;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void die(const std::string &message) {
  std::fprintf(stderr, "bench_macro_kernels: %s\n", message.c_str());
  std::exit(1);
}

struct Run {
  double seconds = 0;
  std::vector<std::vector<int32_t>> outputs;
  runtime::ExecCounters counters;
};

/// One executor created inside the timed region, as `marsc run` does.
Run runAll(const program::Program &p, runtime::MacroKernel kernel,
           const std::vector<std::vector<int32_t>> &inputs) {
  Run r;
  const auto start = Clock::now();
  runtime::ExecOptions options;
  options.mode = runtime::ExecMode::MacroLevel;
  options.macroKernel = kernel;
  auto exec = runtime::Executor::create(p, options);
  if (!exec)
    die(exec.error().message());
  for (const std::vector<int32_t> &x : inputs) {
    auto y = exec->run(x);
    if (!y)
      die(y.error().message());
    r.outputs.push_back(y.take());
    r.counters.activations += exec->counters().activations;
    r.counters.adcSaturations += exec->counters().adcSaturations;
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return r;
}

} // namespace

int main(int argc, char **argv) {
  std::string path;
  int images = 1, reps = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--images" && i + 1 < argc)
      images = std::max(1, std::atoi(argv[++i]));
    else if (a == "--reps" && i + 1 < argc)
      reps = std::max(1, std::atoi(argv[++i]));
    else if (path.empty() && a[0] != '-')
      path = a;
    else {
      std::printf("usage: bench_macro_kernels PROGRAM.bin [--images N] "
                  "[--reps N]\n");
      return a == "--help" ? 0 : 2;
    }
  }
  if (path.empty())
    die("no program file");
  auto p = program::readProgramFile(path);
  if (!p)
    die(p.error().message());

  // Seeded random inputs over the input type's range.
  const program::Buffer &in = p->buffers[p->input];
  const int64_t lo = intLo(in.bits, in.isSigned);
  const int64_t hi = intHi(in.bits, in.isSigned);
  Random rng(1);
  std::vector<std::vector<int32_t>> inputs(
      size_t(images), std::vector<int32_t>(size_t(in.size())));
  for (auto &x : inputs)
    for (int32_t &v : x)
      v = int32_t(rng.uniformInt(lo, hi));

  const runtime::MacroKernel kernels[] = {
      runtime::MacroKernel::Best, runtime::MacroKernel::PortableCorrections,
      runtime::MacroKernel::Avx2Corrections, runtime::MacroKernel::PackedCounts,
      runtime::MacroKernel::Reference};
  constexpr int kKernels = 5;
  std::vector<double> rates[kKernels];
  for (int r = 0; r < reps; ++r) {
    Run runs[kKernels];
    for (int k = 0; k < kKernels; ++k) {
      runs[k] = runAll(*p, kernels[k], inputs);
      rates[k].push_back(images / runs[k].seconds);
    }
    for (int k = 1; k < kKernels; ++k)
      if (runs[k].outputs != runs[0].outputs ||
          runs[k].counters.activations != runs[0].counters.activations ||
          runs[k].counters.adcSaturations != runs[0].counters.adcSaturations)
        die("the kernels disagree on " + path);
    if (r == 0)
      std::printf("%s: %d images, outputs and counters equal "
                  "(%lld activations, %lld ADC saturations)\n",
                  path.c_str(), images,
                  static_cast<long long>(runs[0].counters.activations),
                  static_cast<long long>(runs[0].counters.adcSaturations));
  }
  // All include executor set-up, as marsc run does.
  const double best = median(rates[0]), portable = median(rates[1]),
               avx2 = median(rates[2]), counts = median(rates[3]),
               masks = median(rates[4]);
  std::printf("exact sums + clip corrections: %8.2f images/s\n", best);
  std::printf("the same, portable C++:        %8.2f images/s  (%.1fx slower)\n",
              portable, best / portable);
  std::printf("the same, AVX2 corrections:    %8.2f images/s  (%.1fx slower)\n",
              avx2, best / avx2);
  std::printf("saturating (packed counts):    %8.2f images/s  (%.1fx slower)\n",
              counts, best / counts);
  std::printf("bit-mask kernel:               %8.2f images/s  (%.1fx slower)\n",
              masks, best / masks);
  return 0;
}
