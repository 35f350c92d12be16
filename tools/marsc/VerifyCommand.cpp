// `marsc verify model.onnx program.bin`: the QDQ model, the integer
// reference and the chip side by side, layer by layer (lib/verify).
#include "Commands.h"
#include "PrecisionOption.h"

#include "mars/data/Dataset.h"
#include "mars/onnx/Import.h"
#include "mars/onnx/TensorFile.h"
#include "mars/program/ProgramFile.h"
#include "mars/support/Random.h"
#include "mars/verify/Verify.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

namespace mars::cli {

namespace {

struct VerifyCli {
  std::string model, program, input, data, mode = "fast";
  int64_t limit = 10;
  uint64_t seed = 0;
  bool json = false;
  interp::Precision precision = interp::Precision::Float64;
};

/// The images to compare, each C×H×W floats: an input file (one image or a
/// batch), the first `limit` test images of a dataset, or one seeded random
/// image.
Expected<std::vector<std::vector<float>>>
loadImages(const VerifyCli &cli, const program::Program &p) {
  const program::Buffer &in = p.buffers[p.input];
  const size_t size = size_t(in.size());
  std::vector<std::vector<float>> images;
  if (!cli.input.empty()) {
    Expected<ir::Tensor> t = onnx::readTensorFile(cli.input);
    if (!t)
      return t.error();
    // One image (C×H×W) or a batch (N×C×H×W); the element count alone
    // would take 2×12×12 for two 1×12×12 images.
    const ir::Shape image = {in.channels, in.height, in.width};
    const ir::Shape &shape = t->shape();
    const bool flat = in.height == 1 && in.width == 1; // [N, C] works too
    const bool batch = !shape.empty() && shape[0] > 0 &&
                       ((shape.size() == 4 &&
                         ir::Shape(shape.begin() + 1, shape.end()) == image) ||
                        (flat && shape.size() == 2 && shape[1] == in.channels));
    if (t->dtype() != ir::DType::Float32 || (shape != image && !batch))
      return makeError(cli.input, ": expected float32 images of ", in.channels,
                       "×", in.height, "×", in.width, " (one, or a batch N×",
                       in.channels, "×", in.height, "×", in.width,
                       "), the file holds ", t->type().toString(),
                       t->dtype() == ir::DType::Float64 ? kFloat64Advice : "");
    for (int64_t n = 0; n < t->numElements() / int64_t(size); ++n) {
      std::vector<float> image(size);
      for (size_t i = 0; i < size; ++i)
        image[i] = float(t->getAsDouble(n * int64_t(size) + int64_t(i)));
      images.push_back(std::move(image));
    }
    return images;
  }
  if (!cli.data.empty()) {
    Expected<data::Dataset> d = data::loadDataset(cli.data, data::Split::Test);
    if (!d)
      return d.error().withContext("--data");
    if (int64_t(d->channels) * d->height * d->width != int64_t(size))
      return makeError("--data ", cli.data, ": images are ", d->channels, "×",
                       d->height, "×", d->width, " but the program expects ",
                       in.channels, "×", in.height, "×", in.width);
    for (int64_t i = 0; i < std::min(cli.limit, d->count); ++i) {
      std::vector<float> image(size);
      data::imageAsFloat(*d, i, image.data());
      images.push_back(std::move(image));
    }
    return images;
  }
  images.push_back(Random(cli.seed).unitFloats(size_t(size)));
  return images;
}

nlohmann::ordered_json toJson(const verify::VerifyResult &r) {
  nlohmann::ordered_json layers = nlohmann::ordered_json::array();
  for (const verify::ValueAgreement &a : r.values) {
    nlohmann::ordered_json l = {{"layer", a.layer},
                                {"op", a.op},
                                {"value", a.value},
                                {"elements", a.elements},
                                {"inputs_agreed", a.inputsAgreed}};
    if (a.hasFloat)
      l["qdq"] = {{"differing", a.floatDiffering},
                  {"max_diff_lsb", a.floatMaxDiff}};
    if (a.hasChip)
      l["chip"] = {{"differing", a.chipDiffering},
                   {"max_diff_lsb", a.chipMaxDiff}};
    layers.push_back(l);
  }
  nlohmann::ordered_json j = {
      {"images", r.images},
      {"agree", !r.first.has_value()},
      {"qdq_precision", interp::precisionName(r.precision)},
      {"classes",
       {{"qdq", r.qdqClasses},
        {"integer", r.integerClasses},
        {"chip", r.chipClasses}}},
      {"layers", layers}};
  if (r.first) {
    const verify::Divergence &d = *r.first;
    j["divergence"] = {{"layer", d.layer},
                       {"op", d.op},
                       {"which", d.what},
                       {"image", d.image},
                       {"element", d.element},
                       {"channel", d.channel},
                       {"y", d.y},
                       {"x", d.x},
                       {"integer", d.integerValue}};
    if (d.floatValue)
      j["divergence"]["qdq"] = *d.floatValue;
    if (d.chipValue)
      j["divergence"]["chip"] = *d.chipValue;
  }
  return j;
}

Status runVerify(const VerifyCli &cli) {
  Expected<ir::Graph> graph = onnx::importModelFile(cli.model);
  if (!graph)
    return graph.error();
  Expected<program::Program> p = program::readProgramFile(cli.program);
  if (!p)
    return p.error();
  if (cli.mode != "fast" && cli.mode != "macro")
    return makeError("--mode must be fast or macro, got '", cli.mode, "'");
  verify::VerifyOptions options;
  options.precision = cli.precision;
  options.mode = cli.mode == "macro" ? runtime::ExecMode::MacroLevel
                                     : runtime::ExecMode::Fast;
  if (options.mode == runtime::ExecMode::Fast && !runtime::adcIsExact(*p))
    return makeError(cli.program, ": the arch's ADC can saturate, which the "
                                  "fast path does not model; use --mode macro");
  Expected<std::vector<std::vector<float>>> images = loadImages(cli, *p);
  if (!images)
    return images.error();
  Expected<verify::VerifyResult> r =
      verify::verifyModel(*graph, *p, *images, options);
  if (!r)
    return r.error().withContext(cli.model);
  if (cli.json)
    std::printf("%s\n", toJson(*r).dump(2).c_str());
  else
    std::fputs(verify::formatVerifyResult(*r).c_str(), stdout);
  if (!r->first)
    return Status::success();
  const verify::Divergence &d = *r->first;
  return makeError(cli.model, ": layer '", d.layer, "' (", d.op,
                   ") diverges: the ", d.what,
                   " differs from the integer "
                   "reference at image ",
                   d.image, ", element ", d.element);
}

} // namespace

Command addVerifyCommand(CLI::App &parent) {
  auto cli = std::make_shared<VerifyCli>();
  CLI::App *app = parent.add_subcommand(
      "verify", "Run the QDQ model (ONNX semantics), the integer reference "
                "and the chip side by side and compare every layer.");
  app->footer(
      "The chip must equal the integer reference exactly, and so must the QDQ\n"
      "model evaluated by the float reference interpreter in float64 (the\n"
      "default): that is the file's exact arithmetic. With --precision f32 it\n"
      "may differ by 1 LSB where float32 rounding decides a tie, as in any\n"
      "float32 ONNX runtime. The first layer whose inputs agreed but whose\n"
      "output does not is named with the element and the three values, and\n"
      "the command exits 1. With a saturating ADC use --mode macro: the integer\n"
      "reference then computes through the same ADC and must still equal the\n"
      "chip, while the QDQ model (which has no ADC) is compared, not judged.\n"
      "Example: marsc verify out/lenet5.w4a4.onnx out/lenet5.bin "
      "--data fashion-mnist --limit 20");
  app->add_option("model", cli->model,
                  "The quantized (QDQ) model the program was compiled from")
      ->required();
  app->add_option("program", cli->program, "program.bin from marsc compile")
      ->required();
  auto *input = app->add_option("--input", cli->input,
                                "Images (.npy or .pb, float32, N×C×H×W)");
  app->add_option("--data", cli->data,
                  "Test images of a dataset: fashion-mnist, mnist:DIR, "
                  "cifar10:DIR, cifar100:DIR")
      ->excludes(input);
  app->add_option("--limit", cli->limit,
                  "Images of --data to compare (default 10)")
      ->check(CLI::PositiveNumber);
  app->add_option("--seed", cli->seed,
                  "Seed of the random image used without --input/--data");
  app->add_option("--mode", cli->mode, "Chip model: fast or macro");
  addPrecisionOption(app, cli->precision,
                     "The QDQ model's float arithmetic: f64 (default, must "
                     "equal the integer reference) or f32 (as ONNX runtimes; "
                     "within 1 LSB)");
  app->add_flag("--json", cli->json, "Machine-readable agreement table");
  return {app, [cli]() { return runVerify(*cli); }};
}

} // namespace mars::cli
