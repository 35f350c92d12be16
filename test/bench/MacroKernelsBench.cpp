// The macro-level model's two kernels on one compiled program: the packed
// saturating kernel (what `marsc run --mode macro` uses) against the
// bit-mask reference kernel it replaced (ExecOptions::referenceKernel),
// same images, one thread, interleaved. Checks that outputs and counters
// are equal and prints images/s of each. bench_saturating.sh calls it for
// the old kernel's speed, which `marsc run` can no longer show.
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
Run runAll(const program::Program &p, bool reference,
           const std::vector<std::vector<int32_t>> &inputs) {
  Run r;
  const auto start = Clock::now();
  auto exec = runtime::Executor::create(
      p, {runtime::ExecMode::MacroLevel, /*referenceKernel=*/reference});
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

  std::vector<double> packed, reference;
  for (int r = 0; r < reps; ++r) {
    Run a = runAll(*p, /*reference=*/false, inputs);
    Run b = runAll(*p, /*reference=*/true, inputs);
    if (a.outputs != b.outputs ||
        a.counters.activations != b.counters.activations ||
        a.counters.adcSaturations != b.counters.adcSaturations)
      die("the two kernels disagree on " + path);
    packed.push_back(images / a.seconds);
    reference.push_back(images / b.seconds);
    if (r == 0)
      std::printf("%s: %d images, outputs and counters equal "
                  "(%lld activations, %lld ADC saturations)\n",
                  path.c_str(), images,
                  static_cast<long long>(a.counters.activations),
                  static_cast<long long>(a.counters.adcSaturations));
  }
  const double fast = median(packed), slow = median(reference);
  // Both include executor set-up, as marsc run does.
  std::printf("saturating kernel: %.2f images/s\n", fast);
  std::printf("bit-mask kernel:   %.2f images/s\n", slow);
  std::printf("speed-up:          %.1fx\n", fast / slow);
  return 0;
}
