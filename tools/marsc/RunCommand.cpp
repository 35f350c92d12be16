// `marsc run program.bin`: executes a compiled program on the simulator —
// bit-exact integer results (functional model) and cycles and energy (timing
// and energy models) in one run.
#include "Commands.h"

#include "mars/data/Dataset.h"
#include "mars/onnx/TensorFile.h"
#include "mars/program/ProgramFile.h"
#include "mars/runtime/Batch.h"
#include "mars/runtime/Energy.h"
#include "mars/runtime/Functional.h"
#include "mars/runtime/Report.h"
#include "mars/runtime/Run.h"
#include "mars/runtime/Timing.h"
#include "mars/support/AtomicFile.h"
#include "mars/support/Random.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
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

/// A progress line on stderr while `count` images run, when stderr is a
/// terminal and not --quiet.
runtime::ProgressSink progressLine(int64_t count, bool quiet) {
  if (quiet || !::isatty(STDERR_FILENO))
    return {};
  return [count](int64_t done) {
    if (done % 500 == 0 || done == count)
      std::fprintf(stderr, "\r  %lld/%lld images", static_cast<long long>(done),
                   static_cast<long long>(count));
  };
}

/// Top-1 accuracy over --data's test split (--limit images).
Expected<runtime::FunctionalResult> runDataset(const RunCli &cli,
                                               const program::Program &p,
                                               runtime::ExecMode mode) {
  const program::Buffer &in = p.buffers[p.input];
  auto d = data::loadDataset(cli.data, data::Split::Test);
  if (!d)
    return d.error().withContext("--data");
  if (d->channels != in.channels || d->height != in.height ||
      d->width != in.width)
    return makeError("--data ", cli.data, ": images are ", d->channels, "×",
                     d->height, "×", d->width, " but the program expects ",
                     in.channels, "×", in.height, "×", in.width);
  int64_t count = cli.limit > 0 ? std::min(cli.limit, d->count) : d->count;
  const data::Dataset &ds = *d;
  runtime::ProgressSink progress = progressLine(count, cli.quiet);
  auto r = runtime::runAccuracy(
      p, mode, count, cli.threads,
      [&](int64_t i, float *image) { data::imageAsFloat(ds, i, image); },
      [&](int64_t i) { return int(ds.labels[i]); }, progress,
      d->name + " (" + std::to_string(count) + " images)");
  if (progress)
    std::fprintf(stderr, "\n");
  return r;
}

/// --data, --input or a seeded random image through the functional model;
/// `seconds` counts loading the images too.
Expected<runtime::FunctionalResult> runFunctional(const RunCli &cli,
                                                  const program::Program &p) {
  auto mode = runtime::chooseExecMode(cli.mode, p);
  if (!mode)
    return mode.error();
  auto start = std::chrono::steady_clock::now();
  Expected<runtime::FunctionalResult> r = Error("");
  if (!cli.data.empty()) {
    r = runDataset(cli, p, *mode);
  } else if (!cli.input.empty()) {
    auto x = readInputImage(cli.input, p);
    if (!x)
      return x.error();
    r = runtime::runOneImage(p, *mode, *x, cli.input);
  } else {
    // The same image as `marsc eval --random SEED` and `marsc verify`.
    const size_t size = size_t(p.buffers[p.input].size());
    r = runtime::runOneImage(p, *mode, Random(cli.seed).unitFloats(size),
                             "random image (seed " + std::to_string(cli.seed) +
                                 ")");
  }
  if (r)
    r->seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
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

  runtime::RunReport report;
  report.program = &p;
  report.path = cli.program;
  report.coldStart = cli.coldStart;
  runtime::TimingOptions timingOptions;
  timingOptions.steadyState = !cli.coldStart;
  const auto timingStart = std::chrono::steady_clock::now();
  auto timing = runtime::simulateTiming(p, timingOptions);
  if (!timing)
    return timing.error().withContext(cli.program);
  report.timing = timing.take();
  report.energy = runtime::estimateEnergy(p, report.timing);
  report.timingSeconds = std::chrono::duration<double>(
                             std::chrono::steady_clock::now() - timingStart)
                             .count();

  auto functional = runFunctional(cli, p);
  if (!functional)
    return functional.error().withContext(cli.program);
  report.functional = functional.take();
  std::string jsonText;
  if (cli.json || !cli.jsonOut.empty())
    jsonText = runtime::runReportJson(report);

  // Files only after everything succeeded, and all of them or none: a batch
  // pipeline (examples/dse) that sees one of them may trust the others.
  AtomicFileSet files;
  if (!cli.output.empty()) {
    auto bytes = onnx::tensorFileBytes(
        outputTensor(p, report.functional.output), "output", cli.output);
    if (!bytes)
      return bytes.error();
    MARS_TRY(files.add(cli.output, *bytes));
  }
  if (!cli.trace.empty())
    MARS_TRY(files.add(cli.trace, runtime::chromeTraceJson(p, report.timing)));
  if (!cli.plot.empty())
    MARS_TRY(
        files.add(cli.plot, runtime::svgPlot(p, report.timing, report.energy)));
  if (!cli.jsonOut.empty())
    MARS_TRY(files.add(cli.jsonOut, jsonText));
  MARS_TRY(files.commit());
  std::fputs((cli.json ? jsonText : runtime::formatRunReport(report)).c_str(),
             stdout);
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
              cli->threads = runtime::defaultThreads();
            return runRun(*cli);
          }};
}

} // namespace mars::cli
