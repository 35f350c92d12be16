// `marsc run program.bin`: executes a compiled program on the simulator —
// bit-exact integer results (functional model) and cycles and energy (timing
// and energy models) in one run.
#include "Commands.h"

#include "mars/data/Dataset.h"
#include "mars/onnx/TensorFile.h"
#include "mars/program/ProgramFile.h"
#include "mars/quant/IntegerNet.h"
#include "mars/runtime/Batch.h"
#include "mars/runtime/Energy.h"
#include "mars/runtime/Functional.h"
#include "mars/runtime/Report.h"
#include "mars/runtime/Timing.h"
#include "mars/support/AtomicFile.h"
#include "mars/support/Random.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <thread>
#include <unistd.h>

namespace mars::cli {

namespace {

struct RunCli {
  std::string program;
  std::string input, output;
  std::string data;
  int64_t limit = 0;
  uint64_t seed = 1;
  std::string mode = "auto";
  int threads = 0;
  bool coldStart = false;
  bool json = false;
  std::string jsonOut;
  bool quiet = false;
  std::string trace, plot;
  bool noVerifyChecksum = false;
};

/// What the functional run produced.
struct FunctionalResult {
  std::string what; ///< "fashion-mnist/test (10000 images)", "x.npy", "random".
  int64_t images = 0;
  int64_t correct = -1; ///< Only with --data.
  std::vector<int32_t> output; ///< Only for one input image.
  double seconds = 0;
  std::string mode;
};

int defaultThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(std::min(n, 8u));
}

Expected<runtime::ExecMode> chooseMode(const RunCli &cli,
                                       const program::Program &p) {
  bool exact = runtime::adcIsExact(p);
  if (cli.mode == "macro")
    return runtime::ExecMode::MacroLevel;
  if (cli.mode == "fast") {
    if (!exact)
      return makeError("--mode fast: this program's ADC (adc_bits ",
                       p.arch.macro.adcBits,
                       ") can saturate, so only the macro-level model is "
                       "exact; use --mode macro or auto");
    return runtime::ExecMode::Fast;
  }
  if (cli.mode != "auto")
    return makeError("--mode must be auto, fast or macro, got '", cli.mode,
                     "'");
  return exact ? runtime::ExecMode::Fast : runtime::ExecMode::MacroLevel;
}

/// A float image the shape of the program's input, from --input.
Expected<std::vector<float>> readInputImage(const std::string &path,
                                            const program::Program &p) {
  auto tensor = onnx::readTensorFile(path);
  if (!tensor)
    return tensor.error();
  const program::Buffer &in = p.buffers[p.input];
  if (tensor->numElements() != in.size() ||
      tensor->dtype() != ir::DType::Float32)
    return makeError(path, ": the program expects float32 ",
                     "[1, ", in.channels, ", ", in.height, ", ", in.width,
                     "] but the file holds ", tensor->type().toString());
  std::vector<float> image(static_cast<size_t>(in.size()));
  for (int64_t i = 0; i < in.size(); ++i)
    image[i] = static_cast<float>(tensor->getAsDouble(i));
  return image;
}

/// runtime::runImages with a progress line on stderr, when it is a terminal
/// and not `quiet`.
Status runWithProgress(const program::Program &p, const runtime::ExecOptions &opts,
                 int64_t count, int threads, bool quiet,
                 const runtime::ImageSource &source,
                 const runtime::OutputSink &sink) {
  runtime::ProgressSink progress;
  quiet = quiet || !::isatty(STDERR_FILENO);
  if (!quiet)
    progress = [count](int64_t done) {
      if (done % 500 == 0 || done == count)
        std::fprintf(stderr, "\r  %lld/%lld images",
                     static_cast<long long>(done), static_cast<long long>(count));
    };
  Status status =
      runtime::runImages(p, opts, count, threads, source, sink, progress);
  if (!quiet)
    std::fprintf(stderr, "\n");
  return status;
}

Expected<FunctionalResult> runFunctional(const RunCli &cli,
                                         const program::Program &p) {
  FunctionalResult r;
  auto mode = chooseMode(cli, p);
  if (!mode)
    return mode.error();
  r.mode = *mode == runtime::ExecMode::Fast ? "fast (exact ADC)"
                                            : "macro-level (bit-serial)";
  runtime::ExecOptions opts;
  opts.mode = *mode;
  const program::Buffer &in = p.buffers[p.input];
  auto start = std::chrono::steady_clock::now();

  if (!cli.data.empty()) {
    auto d = data::loadDataset(cli.data, data::Split::Test);
    if (!d)
      return d.error().withContext("--data");
    if (d->channels != in.channels || d->height != in.height ||
        d->width != in.width)
      return makeError("--data ", cli.data, ": images are ", d->channels, "×",
                       d->height, "×", d->width, " but the program expects ",
                       in.channels, "×", in.height, "×", in.width);
    int64_t count = cli.limit > 0 ? std::min(cli.limit, d->count) : d->count;
    std::atomic<int64_t> correct{0};
    const data::Dataset &ds = *d;
    MARS_TRY(runWithProgress(
        p, opts, count, cli.threads, cli.quiet,
        [&](int64_t i, float *image) { data::imageAsFloat(ds, i, image); },
        [&](int64_t i, const std::vector<int32_t> &out) {
          if (runtime::argmaxClass(p, out) == ds.labels[i])
            ++correct;
        }));
    r.what = d->name + " (" + std::to_string(count) + " images)";
    r.images = count;
    r.correct = correct;
  } else {
    std::vector<float> image(static_cast<size_t>(in.size()));
    if (!cli.input.empty()) {
      auto x = readInputImage(cli.input, p);
      if (!x)
        return x.error();
      image = x.take();
      r.what = cli.input;
    } else {
      // The same image as `marsc eval --random SEED` and `marsc verify`.
      image = Random(cli.seed).unitFloats(image.size());
      r.what = "random image (seed " + std::to_string(cli.seed) + ")";
    }
    MARS_TRY(runWithProgress(
        p, opts, 1, 1, /*quiet=*/true,
        [&](int64_t, float *dst) { std::copy(image.begin(), image.end(), dst); },
        [&](int64_t, const std::vector<int32_t> &out) { r.output = out; }));
    r.images = 1;
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                            start).count();
  return r;
}

/// The output as a float tensor (real values) for --output.
ir::Tensor outputTensor(const program::Program &p,
                        const std::vector<int32_t> &out) {
  const program::Buffer &b = p.buffers[p.output];
  ir::Shape shape = b.height == 1 && b.width == 1
                        ? ir::Shape{1, b.channels}
                        : ir::Shape{1, b.channels, b.height, b.width};
  ir::Tensor t(ir::DType::Float32, shape);
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.setFromDouble(i, runtime::outputReal(p, out, i));
  return t;
}

void printFunctional(const FunctionalResult &r, const program::Program &p) {
  std::printf("functional: %s, %s model, %.2f s (%.1f images/s)\n",
              r.what.c_str(), r.mode.c_str(), r.seconds,
              r.seconds > 0 ? double(r.images) / r.seconds : 0.0);
  if (r.correct >= 0)
    std::printf("accuracy: %lld/%lld = %.2f%%\n",
                static_cast<long long>(r.correct),
                static_cast<long long>(r.images),
                100.0 * double(r.correct) / double(std::max<int64_t>(1, r.images)));
  if (!r.output.empty()) {
    std::printf("output: %zu values", r.output.size());
    if (p.buffers[p.output].height == 1 && p.buffers[p.output].width == 1)
      std::printf(", class %d", runtime::argmaxClass(p, r.output));
    std::printf("\n");
  }
}

nlohmann::ordered_json functionalJson(const FunctionalResult &r,
                                      const program::Program &p) {
  nlohmann::ordered_json j = {{"source", r.what},
                              {"mode", r.mode},
                              {"images", r.images},
                              {"seconds", r.seconds}};
  if (r.correct >= 0) {
    j["correct"] = r.correct;
    j["accuracy"] = double(r.correct) / double(std::max<int64_t>(1, r.images));
  }
  if (!r.output.empty()) {
    std::vector<double> values;
    for (size_t i = 0; i < r.output.size() && i < 1024; ++i)
      values.push_back(runtime::outputReal(p, r.output, int64_t(i)));
    j["output"] = values;
    j["class"] = runtime::argmaxClass(p, r.output);
  }
  return j;
}

Status runRun(const RunCli &cli) {
  if (!cli.output.empty()) {
    MARS_TRY(onnx::checkTensorFileExtension(cli.output));
    if (!cli.data.empty())
      return makeError("--output writes the output of one --input image; it "
                       "cannot be used with --data");
  }
  if (!cli.input.empty())
    MARS_TRY(onnx::checkTensorFileExtension(cli.input));
  program::ReadOptions readOptions;
  readOptions.verifyChecksum = !cli.noVerifyChecksum;
  auto program = program::readProgramFile(cli.program, readOptions);
  if (!program)
    return program.error();
  const program::Program &p = *program;

  runtime::TimingOptions timingOptions;
  timingOptions.steadyState = !cli.coldStart;
  const auto timingStart = std::chrono::steady_clock::now();
  auto timing = runtime::simulateTiming(p, timingOptions);
  if (!timing)
    return timing.error().withContext(cli.program);
  runtime::EnergyResult energy = runtime::estimateEnergy(p, *timing);
  const double timingSeconds = std::chrono::duration<double>(
                                   std::chrono::steady_clock::now() - timingStart)
                                   .count();

  auto functional = runFunctional(cli, p);
  if (!functional)
    return functional.error().withContext(cli.program);

  // The ADC the model was trained for against the one this program runs.
  const quant::AdcModel adc{p.arch.macro.wlOn, p.arch.macro.adcBits,
                            p.arch.macro.inputBitsPerCycle};
  const std::string adcNote = quant::adcMismatchNote(p.info.trainedAdc, adc);
  std::string jsonText;
  if (cli.json || !cli.jsonOut.empty()) {
    nlohmann::ordered_json j;
    j["program"] = cli.program;
    j["adc"] = {{"arch", adc.describe()},
                {"trained_for", p.info.trainedAdc},
                {"note", adcNote}};
    j["functional"] = functionalJson(*functional, p);
    j["timing"] = nlohmann::ordered_json::parse(
        runtime::reportJson(p, *timing, energy));
    // The simulator's own run time: the timing and energy models (once per
    // run) and the functional model (functional.seconds).
    j["timing_model_seconds"] = timingSeconds;
    jsonText = j.dump(2) + "\n";
  }

  // Files only after everything succeeded, and all of them or none: a batch
  // pipeline (examples/dse) that sees one of them may trust the others.
  AtomicFileSet files;
  if (!cli.output.empty()) {
    auto bytes =
        onnx::tensorFileBytes(outputTensor(p, functional->output), "output", cli.output);
    if (!bytes)
      return bytes.error();
    MARS_TRY(files.add(cli.output, *bytes));
  }
  if (!cli.trace.empty())
    MARS_TRY(files.add(cli.trace, runtime::chromeTraceJson(p, *timing)));
  if (!cli.plot.empty())
    MARS_TRY(files.add(cli.plot, runtime::svgPlot(p, *timing, energy)));
  if (!cli.jsonOut.empty())
    MARS_TRY(files.add(cli.jsonOut, jsonText));
  MARS_TRY(files.commit());

  if (cli.json) {
    std::cout << jsonText;
    return Status::success();
  }
  std::printf("%s: %s, %zu layers, %lld cores\n", cli.program.c_str(),
              p.info.model.c_str(), p.layers.size(),
              static_cast<long long>(p.arch.chip.cores));
  if (!adcNote.empty())
    std::printf("note: %s\n", adcNote.c_str());
  printFunctional(*functional, p);
  std::printf("timing: %s image\n",
              cli.coldStart ? "first (cold-start) " : "steady-state");
  std::printf("%s", runtime::formatTimingTable(p, *timing, energy).c_str());
  return Status::success();
}

} // namespace

Command addRunCommand(CLI::App &parent) {
  auto cli = std::make_shared<RunCli>();
  CLI::App *app = parent.add_subcommand(
      "run", "Run a compiled program on the CIM simulator: bit-exact results, "
             "cycles and energy.");
  app->footer(
      "Inputs: --input x.npy|x.pb (one float32 image, [1,C,H,W]; --output "
      "writes the result), --data fashion-mnist|mnist:DIR|cifar10:DIR "
      "(top-1 accuracy over the test split, --limit N images), or nothing (a "
      "seeded random image, for timing).\n"
      "Timing and energy do not depend on the data (the program fixes which "
      "groups are computed), so they are computed once per run: by default "
      "for a steady-state image (weights already in the macros from the "
      "image before); --cold-start times the first image after power-up.\n"
      "The functional model runs the macros bit-serially (--mode macro) or, "
      "when the ADC cannot saturate and the result is provably the same, as "
      "an integer GEMM over the stored groups (--mode fast; auto picks).");
  app->add_option("program", cli->program, "Program file from marsc compile")
      ->required();
  CLI::Option *input =
      app->add_option("--input", cli->input, "Input image (.npy or .pb)");
  app->add_option("--output", cli->output,
                  "Write the output (real values, .npy or .pb)")
      ->needs(input);
  app->add_option("--data", cli->data,
                  "Dataset: fashion-mnist, fashion-mnist:DIR, mnist:DIR, "
                  "cifar10:DIR, cifar100:DIR")
      ->excludes(input);
  app->add_option("--limit", cli->limit,
                  "Use the first N test images (default: all)")
      ->check(CLI::PositiveNumber);
  app->add_option("--seed", cli->seed, "Seed of the random input")
      ->capture_default_str();
  app->add_option("--mode", cli->mode, "auto, fast or macro")
      ->capture_default_str();
  app->add_option("--threads", cli->threads,
                  "Simulator threads (default: the machine's cores)")
      ->check(CLI::Range(1, 256));
  app->add_flag("--cold-start", cli->coldStart,
                "Time the first image after power-up (all weight loads paid)");
  app->add_flag("--json", cli->json, "Machine-readable results on stdout");
  app->add_option("--json-out", cli->jsonOut,
                  "Also write the --json results to this file (atomically; "
                  "for batch pipelines such as examples/dse)");
  app->add_flag("-q,--quiet", cli->quiet, "No progress on stderr");
  app->add_option("--trace", cli->trace,
                  "Write a Chrome trace-event timeline (open in Perfetto)");
  app->add_option("--plot", cli->plot,
                  "Write an SVG of per-layer cycles and energy");
  app->add_flag("--no-verify-checksum", cli->noVerifyChecksum,
                "Skip the checksum (every field is still validated)");
  return {app, [cli] {
            if (cli->threads == 0)
              cli->threads = defaultThreads();
            return runRun(*cli);
          }};
}

} // namespace mars::cli
