// `marsc eval`: runs a model on the float reference interpreter.
#include "Commands.h"
#include "PrecisionOption.h"

#include "mars/arch/ArchSpec.h"
#include "mars/interp/Interpreter.h"
#include "mars/interp/Outputs.h"
#include "mars/onnx/Import.h"
#include "mars/onnx/TensorFile.h"
#include "mars/quant/Execute.h"
#include "mars/quant/Lower.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

namespace mars::cli {

namespace {

struct EvalCli {
  std::string model;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  uint64_t randomSeed = 0;
  bool random = false; ///< Set when --random was given.
  int64_t batch = 0;   ///< 0: the first --input file's leading dimension.
  bool json = false;
  bool integer = false; ///< --integer: the integer reference (DESIGN.md §3).
  std::string archPath; ///< --arch: the chip whose ADC --integer models.
  /// --precision: float32 (as ONNX runtimes) or float64 (the exact meaning).
  interp::Precision precision = interp::Precision::Float32;
  bool precisionGiven = false; ///< Else f64 for QDQ models, f32 for others.
};

/// `arithmetic`: "f32" or "f64" (the float interpreter), or "integer".
void printJson(const ir::Graph &graph, const std::vector<ir::Tensor> &outputs,
               double millis, const char *arithmetic) {
  nlohmann::ordered_json j;
  j["arithmetic"] = arithmetic;
  j["outputs"] = nlohmann::ordered_json::array();
  for (size_t i = 0; i < outputs.size(); ++i) {
    const ir::Tensor &t = outputs[i];
    interp::OutputSummary s = interp::summarize(t);
    nlohmann::ordered_json out = {{"name", graph.value(graph.outputs[i]).name},
                                  {"dtype", ir::dtypeName(t.dtype())},
                                  {"shape", t.shape()},
                                  {"min", s.min},
                                  {"max", s.max},
                                  {"mean", s.mean}};
    out["top"] = nlohmann::ordered_json::array();
    for (auto [index, value] : s.top)
      out["top"].push_back({{"index", index}, {"value", value}});
    if (t.numElements() <= 1024) { // all values of small outputs
      std::vector<double> values;
      for (int64_t k = 0; k < t.numElements(); ++k)
        values.push_back(t.getAsDouble(k));
      out["values"] = values;
    }
    j["outputs"].push_back(std::move(out));
  }
  j["time_ms"] = millis;
  std::cout << j.dump(2) << "\n";
}

/// --integer: the quantized model's integer network (lib/quant), image by
/// image over the batch; outputs are the real values of its integer outputs
/// (logits = accumulator × scale), exactly what `marsc run` writes for the
/// compiled program.
Expected<std::vector<ir::Tensor>>
runIntegerReference(const EvalCli &cli, const ir::Graph &graph,
                    const std::vector<ir::Tensor> &inputs) {
  // The compiler's lower-to-integer step: the same lowering (and the same
  // dropped final Softmax) as `marsc compile`, named as its pass is.
  ir::Graph g = graph;
  Expected<quant::IntegerNet> net = quant::lowerToIntegerForChip(g);
  if (!net)
    return net.error().withContext("lower-to-integer").withContext("--integer");
  if (!cli.archPath.empty()) {
    Expected<arch::ArchSpec> spec = arch::loadArchFile(cli.archPath);
    if (!spec)
      return spec.error().withContext("--arch");
    net->adc = quant::AdcModel{spec->macro.wlOn, spec->macro.adcBits,
                               spec->macro.inputBitsPerCycle};
  }
  if (inputs.size() != 1 || inputs[0].shape().size() != 4)
    return makeError("--integer needs one N×C×H×W input");
  Expected<ir::Tensor> result = quant::runIntegerBatch(*net, inputs[0]);
  if (!result)
    return result.error().withContext("--integer");
  return std::vector<ir::Tensor>{result.take()};
}

/// The size symbolic batch dimensions take: --batch, or else the leading
/// dimension of the first --input file (a batch of N images runs as one
/// batch), or else 1. A model with a fixed batch keeps it either way.
Expected<int64_t> batchSize(const EvalCli &cli) {
  if (cli.batch > 0)
    return cli.batch;
  if (cli.inputs.empty())
    return int64_t(1);
  auto first = onnx::readTensorFile(cli.inputs[0]);
  if (!first)
    return first.error();
  return first->shape().empty() ? int64_t(1) : first->shape()[0];
}

Status runEval(const EvalCli &cli) {
  // Everything that can be checked before running is checked first.
  for (const std::string &path : cli.outputs)
    MARS_TRY(onnx::checkTensorFileExtension(path));
  auto batch = batchSize(cli);
  if (!batch)
    return batch.error();
  onnx::ImportOptions importOptions;
  importOptions.batchSize = std::max<int64_t>(1, *batch);
  auto graph = onnx::importModelFile(cli.model, importOptions);
  if (!graph)
    return graph.error();
  if (cli.outputs.size() > graph->outputs.size())
    return makeError(cli.model, ": ", cli.outputs.size(),
                     " --output files were given but the model has ",
                     graph->outputs.size(), " output(s)");
  auto inputs = cli.random
                    ? interp::randomInputs(*graph, cli.randomSeed)
                    : onnx::readGraphInputs(*graph, cli.inputs, cli.model);
  if (!inputs)
    return inputs.error();

  // A quantized model's meaning is its exact arithmetic (the integer
  // contract); a float model runs as ONNX runtimes run it.
  const interp::Precision precision =
      cli.precisionGiven || !quant::isQuantized(*graph)
          ? cli.precision
          : interp::Precision::Float64;
  auto start = std::chrono::steady_clock::now();
  auto outputs = cli.integer ? runIntegerReference(cli, *graph, *inputs)
                             : interp::run(*graph, *inputs, precision);
  auto stop = std::chrono::steady_clock::now();
  if (!outputs)
    return outputs.error().withContext(cli.model);
  double millis =
      std::chrono::duration<double, std::milli>(stop - start).count();

  MARS_TRY(onnx::writeGraphOutputs(*graph, *outputs, cli.outputs));
  const char *arithmetic =
      cli.integer ? "integer" : interp::precisionName(precision);
  if (cli.json) {
    printJson(*graph, *outputs, millis, arithmetic);
  } else {
    std::printf("arithmetic: %s\n", arithmetic);
    std::printf("%s", interp::formatOutputs(*graph, *outputs, millis).c_str());
  }
  return Status::success();
}

} // namespace

Command addEvalCommand(CLI::App &parent) {
  auto cli = std::make_shared<EvalCli>();
  CLI::App *app = parent.add_subcommand(
      "eval", "Run a model on the float reference interpreter (float32 for "
              "float models, float64 for quantized ones; see --precision), or "
              "a quantized model's integer reference.");
  app->footer(
      "Feeds one --input file per model input, in order (.npy or .pb "
      "TensorProto, chosen by extension; dtype and shape must match the "
      "model's), or seeded uniform random inputs with --random SEED. Prints "
      "each output's shape, min/max/mean and, for a [1,K] output, the top-5 "
      "classes. --output writes the outputs in order (.npy or .pb), only "
      "after the whole run succeeded.");
  app->add_option("model", cli->model, "ONNX model file (.onnx)")->required();
  CLI::Option *input =
      app->add_option("--input", cli->inputs,
                      "Input tensor file (.npy or .pb); repeat for several "
                      "inputs, in the model's input order");
  CLI::Option *random =
      app->add_option("--random", cli->randomSeed,
                      "Feed seeded uniform random inputs instead of files "
                      "(floats in [0,1)); useful for timing")
          ->excludes(input);
  app->add_option("--output", cli->outputs,
                  "Write an output tensor (.npy or .pb); repeat for several "
                  "outputs, in the model's output order");
  app->add_option("--batch", cli->batch,
                  "Size given to symbolic batch dimensions (default: the "
                  "first --input file's leading dimension, else 1)")
      ->check(CLI::PositiveNumber);
  app->add_flag("--integer", cli->integer,
                "Run a quantized (QDQ) model's integer reference instead of "
                "float: the exact arithmetic the chip performs (its output "
                "equals `marsc run` on the compiled program)");
  app->add_option("--arch", cli->archPath,
                  "With --integer: compute every Conv through this arch's "
                  "ADC (bit-serial slices, column counts clipped to "
                  "2^adc_bits - 1), as `marsc run --mode macro` does")
      ->check(CLI::ExistingFile);
  CLI::Option *precision =
      addPrecisionOption(
          app, cli->precision,
          "Float arithmetic: f32 computes what a float32 ONNX runtime "
          "computes; f64 holds every float tensor as a double, so a QDQ "
          "model rounds each QuantizeLinear as its exact real value does "
          "(no float32 rounding near ties; README, \"The integer "
          "contract\"), and its outputs are float64. Default: f64 for a "
          "model with QuantizeLinear nodes, f32 otherwise")
          ->excludes("--integer");
  app->add_flag("--json", cli->json,
                "Print the results as JSON (values included for outputs of "
                "at most 1024 elements)");
  app->parse_complete_callback([input, random] {
    if (input->count() == 0 && random->count() == 0)
      throw CLI::RequiredError("--input FILE (one per model input) or "
                               "--random SEED");
  });
  return {app, [cli, random, precision] {
            cli->random = random->count() > 0;
            cli->precisionGiven = precision->count() > 0;
            return runEval(*cli);
          }};
}

} // namespace mars::cli
