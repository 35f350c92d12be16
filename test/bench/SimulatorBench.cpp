// How fast `marsc run` simulates (issue 5, item 9): resnet18 (CIFAR,
// 3×32×32) compiled W4A4 with 50% of its inner layers' CIM groups pruned,
// executed by the functional model (fast path: the default arch's ADC is
// exact) plus the timing model, against LibTorch float32 inference of the
// same network with the same number of threads, measured in this run. The
// macro-level (bit-serial) path's speed is reported beside it.
//
// The reference is lib/train's GraphModule in float mode (eval, running BN
// statistics): the same ONNX graph executed with LibTorch's conv2d,
// batch_norm, relu, pooling and linear. Both sides see the same images.

#include "BenchStats.h"
#include "mars/passes/PassManager.h"
#include "mars/program/ProgramFile.h"
#include "mars/runtime/Batch.h"
#include "mars/runtime/Functional.h"
#include "mars/runtime/Timing.h"
#include "mars/support/Random.h"
#include "mars/train/GraphModule.h"
#include "mars/zoo/Zoo.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

using namespace mars;
using bench::median;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

[[noreturn]] void die(const std::string &message) {
  std::fprintf(stderr, "bench_simulator: %s\n", message.c_str());
  std::exit(1);
}

struct Options {
  std::string model = "resnet18";
  int threads = 2, images = 32, reps = 5, macroImages = 1;
  double prune = 0.5;
  bool json = false, torch = true;
};

Options parse(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc)
        die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--model")
      o.model = next();
    else if (a == "--threads")
      o.threads = std::max(1, std::stoi(next()));
    else if (a == "--images")
      o.images = std::max(1, std::stoi(next()));
    else if (a == "--reps")
      o.reps = std::max(1, std::stoi(next()));
    else if (a == "--macro-images")
      o.macroImages = std::max(0, std::stoi(next()));
    else if (a == "--prune")
      o.prune = std::stod(next());
    else if (a == "--json")
      o.json = true;
    else if (a == "--no-torch")
      o.torch = false;
    else if (a == "--help" || a == "-h") {
      std::printf(
          "bench_simulator [--model resnet18] [--threads 2] [--images 32]\n"
          "  [--reps 5] [--macro-images 1] [--prune 0.5] [--json]\n"
          "Images/s of the functional+timing simulator (fast path) and of\n"
          "LibTorch float32 inference of the same network, same threads.\n");
      std::exit(0);
    } else
      die("unknown option " + a);
  }
  return o;
}

/// The compressed program, compiled in-process like `marsc compile
/// --calib random --prune S` (W4A4, edge layers 8-bit).
program::Program compile(const ir::Graph &graph, double prune) {
  passes::CompileContext context;
  context.arch = arch::defaultArch();
  context.options.prune = prune;
  passes::CalibrationData calib;
  calib.source = "random";
  const ir::Shape &s = graph.value(graph.inputs[0]).type.shape;
  calib.shape = {s[1], s[2], s[3]};
  calib.count = 2;
  mars::Random rng(3);
  calib.pixels.resize(size_t(calib.count * s[1] * s[2] * s[3]));
  for (float &v : calib.pixels)
    v = float(rng.unit());
  context.calibration = calib;
  passes::CompileState state;
  state.graph = graph;
  auto done = passes::runPipeline(passes::defaultPipeline(), state, context);
  if (!done)
    die(done.error().message());
  auto p = program::parseProgram(state.bytes.data(), state.bytes.size(),
                                 "program.bin");
  if (!p)
    die(p.error().message());
  return p.take();
}

/// Images/s of `images` through `threads` executors with the runner
/// `marsc run` uses (runtime::runImages: executor creation included), plus
/// the one timing simulation per run.
double simulate(const program::Program &p, runtime::ExecMode mode,
                const std::vector<std::vector<float>> &images, int threads) {
  const auto start = Clock::now();
  runtime::TimingOptions timingOptions;
  timingOptions.steadyState = true;
  if (!runtime::simulateTiming(p, timingOptions))
    die("timing failed");
  Status done = runtime::runImages(
      p, {mode}, int64_t(images.size()), threads,
      [&](int64_t i, float *pixels) {
        std::copy(images[i].begin(), images[i].end(), pixels);
      },
      [](int64_t, const std::vector<int32_t> &) {});
  if (!done)
    die(done.error().message());
  return double(images.size()) / since(start);
}

} // namespace

int main(int argc, char **argv) {
  const Options o = parse(argc, argv);
  torch::set_num_threads(o.threads);
  auto graph = zoo::buildModel(o.model, {});
  if (!graph)
    die(graph.error().message());
  const auto compileStart = Clock::now();
  program::Program p = compile(*graph, o.prune);
  const double compileSeconds = since(compileStart);
  if (!runtime::adcIsExact(p))
    die("the default arch's ADC should be exact");

  const ir::Shape &s = graph->value(graph->inputs[0]).type.shape;
  mars::Random rng(9);
  std::vector<std::vector<float>> images(
      size_t(o.images), std::vector<float>(size_t(s[1] * s[2] * s[3])));
  for (auto &im : images)
    for (float &v : im)
      v = float(rng.unit());
  torch::Tensor batch = torch::empty({o.images, s[1], s[2], s[3]});
  for (int i = 0; i < o.images; ++i)
    std::copy(images[i].begin(), images[i].end(), batch[i].data_ptr<float>());

  auto created = train::GraphModule::create(*graph, arch::defaultArch(), 4, 4,
                                            8, false, false);
  if (!created)
    die(created.error().message());
  std::shared_ptr<train::GraphModule> net = created.take();
  net->setMode(train::RunMode::Float);
  net->freezeBatchNorm(true);
  net->eval();
  torch::NoGradGuard noGrad;
  net->forward(batch.slice(0, 0, 1)); // warm-up

  std::vector<double> sim, torch1, torchBatched;
  for (int r = 0; r < o.reps; ++r) {
    sim.push_back(simulate(p, runtime::ExecMode::Fast, images, o.threads));
    if (!o.torch) {
      torch1.push_back(1);
      torchBatched.push_back(1);
      continue;
    }
    auto t0 = Clock::now();
    for (int i = 0; i < o.images; ++i)
      net->forward(batch.slice(0, i, i + 1));
    torch1.push_back(o.images / since(t0));
    t0 = Clock::now();
    net->forward(batch);
    torchBatched.push_back(o.images / since(t0));
  }
  double macro = 0;
  if (o.macroImages > 0) {
    std::vector<std::vector<float>> few(
        images.begin(), images.begin() + std::min(o.macroImages, o.images));
    macro = simulate(p, runtime::ExecMode::MacroLevel, few, o.threads);
  }
  const double simMedian = median(sim), t1 = median(torch1),
               tb = median(torchBatched);
  if (o.json) {
    nlohmann::json j;
    j["model"] = o.model;
    j["threads"] = o.threads;
    j["images"] = o.images;
    j["reps"] = o.reps;
    j["prune"] = o.prune;
    j["compile_seconds"] = compileSeconds;
    j["simulator_fast_images_per_s"] = simMedian;
    j["simulator_macro_images_per_s"] = macro;
    j["libtorch_batch1_images_per_s"] = t1;
    j["libtorch_batched_images_per_s"] = tb;
    j["ratio_vs_libtorch_batch1"] = simMedian / t1;
    j["ratio_vs_libtorch_batched"] = simMedian / tb;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("bench_simulator: %s (W4A4, %.0f%% of inner CIM groups pruned), "
              "%d threads, %d images, median of %d runs\n",
              o.model.c_str(), o.prune * 100, o.threads, o.images, o.reps);
  std::printf("  %-48s %10.1f images/s\n",
              "simulator, fast path (functional + timing)", simMedian);
  std::printf("  %-48s %10.1f images/s\n", "LibTorch float32, batch 1", t1);
  std::printf("  %-48s %10.1f images/s\n",
              "LibTorch float32, one batch of all images", tb);
  if (o.macroImages > 0)
    std::printf("  %-48s %10.2f images/s\n",
                "simulator, macro level (bit-serial, ADC modelled)", macro);
  std::printf(
      "  ratio simulator / LibTorch batch 1: %.2fx; / LibTorch batched: %.2fx\n",
      simMedian / t1, simMedian / tb);
  return 0;
}
