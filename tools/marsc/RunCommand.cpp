// `marsc run program.bin`: executes a compiled program on the simulator —
// bit-exact integer results (functional model) and cycles and energy (timing
// and energy models) in one run.
#include "Commands.h"

#include "mars/data/Dataset.h"
#include "mars/onnx/TensorFile.h"
#include "mars/program/ProgramFile.h"
#include "mars/runtime/Report.h"
#include "mars/runtime/Run.h"
#include "mars/support/AtomicFile.h"

#include <cstdio>
#include <memory>
#include <unistd.h>

namespace mars::cli {

namespace {

struct RunCli {
  std::string program;
  runtime::RunInputs inputs; // --data, --limit, --input, --seed, --threads
  std::string output;
  std::string mode = "auto";
  bool coldStart = false;
  bool json = false;
  std::string jsonOut;
  bool quiet = false;
  std::string trace, plot;
  bool noVerifyChecksum = false;
};

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

/// --data's test split, from lib/data.
Expected<runtime::LabelledImages> loadData(const std::string &spec) {
  auto d = data::loadDataset(spec, data::Split::Test);
  if (!d)
    return d.error().withContext("--data");
  auto ds = std::make_shared<const data::Dataset>(d.take());
  return runtime::LabelledImages{
      ds->name,
      ds->count,
      ds->channels,
      ds->height,
      ds->width,
      [ds](int64_t i, float *image) { data::imageAsFloat(*ds, i, image); },
      [ds](int64_t i) { return int(ds->labels[i]); }};
}

/// --input's image, from lib/onnx's tensor files.
Expected<runtime::InputImage> loadInput(const std::string &path) {
  auto tensor = onnx::readTensorFile(path);
  if (!tensor)
    return tensor.error();
  return runtime::InputImage{tensor->type().toString(),
                             tensor->dtype() == ir::DType::Float32,
                             tensor->toFloats()};
}

/// The images the options ask for, with their loaders; `progressShown` is
/// set once a progress line is started (it needs a newline after the run).
runtime::RunInputs runInputs(const RunCli &cli, bool &progressShown) {
  runtime::RunInputs in = cli.inputs;
  in.loadData = [&cli] { return loadData(cli.inputs.data); };
  in.loadInput = [&cli] { return loadInput(cli.inputs.input); };
  in.progress = [&cli, &progressShown](int64_t count) {
    runtime::ProgressSink sink = progressLine(count, cli.quiet);
    progressShown = bool(sink);
    return sink;
  };
  return in;
}

Status runProgram(const RunCli &cli) {
  if (!cli.output.empty()) {
    MARS_TRY(onnx::checkTensorFileExtension(cli.output));
    if (!cli.inputs.data.empty())
      return makeError("--output writes the output of one --input image; it "
                       "cannot be used with --data");
  }
  if (!cli.inputs.input.empty())
    MARS_TRY(onnx::checkTensorFileExtension(cli.inputs.input));
  program::ReadOptions readOptions;
  readOptions.verifyChecksum = !cli.noVerifyChecksum;
  auto program = program::readProgramFile(cli.program, readOptions);
  if (!program)
    return program.error();
  const program::Program &p = *program;
  auto report = runtime::simulateRun(p, cli.program, cli.coldStart);
  if (!report)
    return report.error();
  bool progressShown = false;
  auto functional =
      runtime::runFunctional(p, cli.mode, runInputs(cli, progressShown));
  if (progressShown)
    std::fprintf(stderr, "\n");
  if (!functional)
    return functional.error().withContext(cli.program);
  report->functional = functional.take();
  std::string jsonText;
  if (cli.json || !cli.jsonOut.empty())
    jsonText = runtime::runReportJson(*report);

  // Files only after everything succeeded, and all of them or none: a batch
  // pipeline (examples/dse) that sees one of them may trust the others.
  AtomicFileSet files;
  if (!cli.output.empty()) {
    auto bytes = onnx::tensorFileBytes(
        ir::Tensor::fromFloats(
            runtime::outputShape(p),
            runtime::outputReals(p, report->functional.output)),
        "output", cli.output);
    if (!bytes)
      return bytes.error();
    MARS_TRY(files.add(cli.output, *bytes));
  }
  if (!cli.trace.empty())
    MARS_TRY(files.add(cli.trace, runtime::chromeTraceJson(p, report->timing)));
  if (!cli.plot.empty())
    MARS_TRY(files.add(cli.plot,
                       runtime::svgPlot(p, report->timing, report->energy)));
  if (!cli.jsonOut.empty())
    MARS_TRY(files.add(cli.jsonOut, jsonText));
  MARS_TRY(files.commit());
  std::fputs((cli.json ? jsonText : runtime::formatRunReport(*report)).c_str(),
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
  CLI::Option *input = app->add_option("--input", cli->inputs.input,
                                       "Input image (.npy or .pb)");
  app->add_option("--output", cli->output,
                  "Write the output (real values, .npy or .pb)")
      ->needs(input);
  app->add_option("--data", cli->inputs.data,
                  "Dataset: fashion-mnist, fashion-mnist:DIR, mnist:DIR, "
                  "cifar10:DIR, cifar100:DIR")
      ->excludes(input);
  app->add_option("--limit", cli->inputs.limit,
                  "Use the first N test images (default: all)")
      ->check(CLI::PositiveNumber);
  app->add_option("--seed", cli->inputs.seed, "Seed of the random input")
      ->capture_default_str();
  app->add_option("--mode", cli->mode, "auto, fast or macro")
      ->capture_default_str();
  app->add_option("--threads", cli->inputs.threads,
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
  return {app, [cli] { return runProgram(*cli); }};
}

} // namespace mars::cli
