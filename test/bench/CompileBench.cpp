// How fast `marsc compile` is (issue 4, item 8): the whole default pipeline
// on resnet18 (CIFAR, 3×32×32, 10 classes) in its compressed form — the QDQ
// graph `marsc train` would export — on the default arch, timed against the
// 1 s target and against one float inference of the same network on the
// reference interpreter, measured in this run.
//
// The compressed model is made here once, untimed: the zoo's float resnet18
// through fold-bn + quantize (post-training quantization on seeded random
// calibration images) with --prune 0.5, so the timed runs start from the
// same QDQ graph a trained model gives and do every later pass.
#include "BenchStats.h"
#include "mars/support/Random.h"
#include "mars/interp/Interpreter.h"
#include "mars/passes/PassManager.h"
#include "mars/zoo/Zoo.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace mars;
using bench::median;
using Clock = std::chrono::steady_clock;

namespace {

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

[[noreturn]] void die(const std::string &message) {
  std::fprintf(stderr, "bench_compile: %s\n", message.c_str());
  std::exit(1);
}

} // namespace

int main(int argc, char **argv) {
  std::string model = "resnet18";
  int reps = 7;
  double prune = 0.5;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--model" && i + 1 < argc)
      model = argv[++i];
    else if (a == "--reps" && i + 1 < argc)
      reps = std::max(1, std::atoi(argv[++i]));
    else if (a == "--prune" && i + 1 < argc)
      prune = std::atof(argv[++i]);
    else if (a == "--json")
      json = true;
    else {
      std::printf("usage: bench_compile [--model NAME] [--reps N] "
                  "[--prune S] [--json]\n");
      return a == "--help" ? 0 : 2;
    }
  }

  zoo::ModelOptions modelOptions;
  auto graph = zoo::buildModel(model, modelOptions);
  if (!graph)
    die(graph.error().message());
  const ir::Shape inShape = graph->value(graph->inputs[0]).type.shape;

  passes::CompileContext context;
  context.arch = arch::defaultArch();
  context.options.prune = prune;
  passes::CalibrationData calib;
  calib.source = "random";
  calib.shape = {inShape[1], inShape[2], inShape[3]};
  calib.count = 4;
  Random rng(3);
  calib.pixels.resize(
      size_t(calib.count * inShape[1] * inShape[2] * inShape[3]));
  for (float &p : calib.pixels)
    p = float(rng.unit());
  context.calibration = calib;

  // The compressed (QDQ) model, once.
  passes::CompileState front;
  front.graph = *graph;
  auto t =
      passes::runPipeline({"fold-bn", "fold-pad", "quantize"}, front, context);
  if (!t)
    die(t.error().message());
  const ir::Graph compressed = front.graph;

  // Reference: one float inference of the same network.
  ir::Tensor x(ir::DType::Float32, inShape);
  for (int64_t i = 0; i < x.numElements(); ++i)
    x.setFromDouble(i, float(rng.unit()));
  std::vector<double> inferTimes;
  for (int r = 0; r < 3; ++r) {
    auto a = Clock::now();
    auto out = interp::run(*graph, {x});
    auto b = Clock::now();
    if (!out)
      die(out.error().message());
    inferTimes.push_back(seconds(a, b));
  }

  std::vector<double> compileTimes;
  std::vector<std::vector<passes::PassTiming>> perPass;
  size_t bytes = 0;
  double ratio = 0;
  for (int r = 0; r < reps; ++r) {
    passes::CompileState state;
    state.graph = compressed;
    auto a = Clock::now();
    auto timings =
        passes::runPipeline(passes::defaultPipeline(), state, context);
    auto b = Clock::now();
    if (!timings)
      die(timings.error().message());
    compileTimes.push_back(seconds(a, b));
    perPass.push_back(*timings);
    bytes = state.bytes.size();
    ratio = state.program->info.boundCycles > 0
                ? double(state.program->info.scheduledCycles) /
                      double(state.program->info.boundCycles)
                : 0;
  }
  const double compile = median(compileTimes);
  const double infer = median(inferTimes);

  if (json) {
    nlohmann::ordered_json j = {{"model", model},
                                {"prune", prune},
                                {"reps", reps},
                                {"compile_s_median", compile},
                                {"float_inference_s_median", infer},
                                {"compile_over_inference", compile / infer},
                                {"target_s", 1.0},
                                {"program_bytes", bytes},
                                {"schedule_over_bound", ratio}};
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("bench_compile: %s (compressed, %.0f%% groups pruned), default "
              "arch, %d runs\n",
              model.c_str(), prune * 100, reps);
  std::printf("  compile (default pipeline)  median %8.3f s   target 1 s: "
              "%.2f× of budget\n",
              compile, compile / 1.0);
  std::printf("  float inference (interp)    median %8.3f s   compile = "
              "%.2f× one inference\n",
              infer, compile / infer);
  std::printf("  program %zu bytes, scheduled/bound cycles %.3f\n", bytes,
              ratio);
  std::printf("  per pass (median run):\n");
  for (size_t p = 0; p < perPass[0].size(); ++p) {
    std::vector<double> s;
    for (auto &run : perPass)
      s.push_back(run[p].seconds);
    std::printf("    %-16s %8.4f s\n", perPass[0][p].pass.c_str(), median(s));
  }
  return 0;
}
