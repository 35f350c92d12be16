#include "mars/verify/Verify.h"

#include "mars/interp/Interpreter.h"
#include "mars/ir/ShapeInference.h"
#include "mars/quant/Execute.h"
#include "mars/quant/Lower.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>

namespace mars::verify {

namespace {

/// The QDQ graph evaluated one image at a time, with every value the
/// integer network names as an extra graph output.
struct FloatModel {
  ir::Graph graph;
  std::vector<int> outputOf; ///< Per IntValue: index into the outputs, or -1.
};

Expected<FloatModel> floatModel(const ir::Graph &qdq,
                                const quant::IntegerNet &net,
                                interp::Precision precision) {
  FloatModel m;
  m.graph = qdq;
  ir::Graph &g = m.graph;
  // One image per run: batch 1, shapes inferred again.
  ir::TensorType &in = g.value(g.inputs[0]).type;
  if (in.rank() != 4)
    return makeError("the model input must be N×C×H×W");
  in.shape[0] = 1;
  Status inferred = ir::inferShapes(g);
  if (!inferred)
    return inferred.error().withContext(
        "the model cannot run on one image at a time");
  m.outputOf.assign(net.values.size(), -1);
  for (size_t v = 0; v < net.values.size(); ++v) {
    const std::string &name = net.values[v].qdqName;
    if (name.empty())
      continue;
    std::optional<ir::ValueId> id = g.findValue(name);
    if (!id)
      continue;
    m.outputOf[v] = int(g.outputs.size());
    g.outputs.push_back(*id);
  }
  if (precision == interp::Precision::Float64) {
    Expected<ir::Graph> wide = interp::widenedToFloat64(g);
    if (!wide)
      return wide.error();
    g = wide.take();
  }
  return m;
}

/// The integer a QDQ tensor holds at element i of IntValue v: the
/// QuantizeLinear output itself, or a float tensor divided by its scale
/// (accumulators by their channel's logit scale).
int64_t floatAsInteger(const quant::IntegerNet &net, int v,
                       const std::vector<double> *logitScales,
                       const ir::Tensor &t, int64_t i) {
  const quant::IntValue &value = net.values[v];
  if (value.qdqIsInteger)
    return t.getAsInt64(i);
  double scale = value.quant.scale;
  if (value.isAccumulator && logitScales && !logitScales->empty()) {
    const int64_t plane = int64_t(value.height) * value.width;
    scale = (*logitScales)[size_t(i / plane) % logitScales->size()];
  }
  return std::llround(t.getAsDouble(i) / scale);
}

/// Index of the largest element (lowest index on ties) of the model output.
int argmax(const ir::Tensor &t) {
  int best = 0;
  for (int64_t i = 1; i < t.numElements(); ++i)
    if (t.getAsDouble(i) > t.getAsDouble(best))
      best = int(i);
  return best;
}

/// The layer that produced each value (-1 for the input).
std::vector<int> producingLayers(const quant::IntegerNet &net) {
  std::vector<int> layerOf(net.values.size(), -1);
  for (size_t l = 0; l < net.layers.size(); ++l)
    layerOf[size_t(net.layers[l].output)] = int(l);
  return layerOf;
}

/// Values in execution order: the input, then each layer's output.
std::vector<int> valueOrder(const quant::IntegerNet &net) {
  std::vector<int> order{net.input};
  for (const quant::IntLayer &l : net.layers)
    order.push_back(l.output);
  return order;
}

/// The integer reference of `qdq`, computing through the program's ADC as
/// the chip does; a saturating ADC has no QDQ form, so the QDQ model then
/// differs.
Expected<quant::IntegerNet> integerReference(const ir::Graph &qdq,
                                             const program::Program &program) {
  quant::LowerOptions lower;
  lower.powerOfTwoScales = program.powerOfTwoScales;
  Expected<quant::IntegerNet> lowered = quant::lowerToInteger(qdq, lower);
  if (!lowered)
    return lowered.error().withContext("the integer reference");
  lowered->adc =
      quant::AdcModel{program.arch.macro.wlOn, program.arch.macro.adcBits,
                      program.arch.macro.inputBitsPerCycle};
  return lowered;
}

/// One ValueAgreement per value in `order`, naming its layer and saying
/// whether the QDQ model and the chip have it. Returns, per IntValue, the
/// chip buffer holding it (-1 when none of that name and size).
std::vector<int> describeValues(const quant::IntegerNet &net,
                                const FloatModel &model,
                                const program::Program &program,
                                const std::vector<int> &layerOf,
                                const std::vector<int> &order,
                                std::vector<ValueAgreement> &values) {
  std::map<std::string, int> bufferByName;
  for (size_t b = 0; b < program.buffers.size(); ++b)
    bufferByName.emplace(program.buffers[b].name, int(b));
  std::vector<int> chipBuffer(net.values.size(), -1);
  for (int v : order) {
    const quant::IntValue &value = net.values[v];
    ValueAgreement a;
    const int layer = layerOf[v];
    a.layer = layer < 0 ? "input" : net.layers[layer].name;
    a.op = layer < 0 ? "Quantize" : quant::intOpName(net.layers[layer].op);
    a.value = value.name;
    a.elements = value.size();
    a.hasFloat = model.outputOf[v] >= 0;
    auto b = bufferByName.find(value.name);
    if (b != bufferByName.end() &&
        program.buffers[b->second].size() == value.size()) {
      chipBuffer[v] = b->second;
      a.hasChip = true;
    }
    values.push_back(a);
  }
  return chipBuffer;
}

/// The comparison of every value on every image against the integer
/// reference. A value whose inputs all agreed exactly so far but which
/// itself differs is where a divergence starts (the float model may be off
/// by one rounding step, and is not compared when the ADC clips).
class Comparer {
public:
  Comparer(const quant::IntegerNet &net, const FloatModel &model,
           const std::vector<int> &layerOf, const std::vector<int> &chipBuffer,
           bool adcClips, int64_t allowedFloatDiff)
      : net_(net), model_(model), layerOf_(layerOf), chipBuffer_(chipBuffer),
        adcClips_(adcClips), allowedFloatDiff_(allowedFloatDiff),
        floatExact_(net.values.size(), true),
        chipExact_(net.values.size(), true) {}

  /// Compares value v on one image: `ints` the integer reference's values,
  /// `chip` the chip's buffers, `floats` the QDQ model's outputs.
  void compare(int v, ValueAgreement &a, int image,
               const std::vector<std::vector<int32_t>> &ints,
               const std::vector<std::vector<int32_t>> &chip,
               const std::vector<ir::Tensor> &floats,
               std::optional<Divergence> &first) {
    const int layer = layerOf_[v];
    bool inputsFloatExact = true, inputsChipExact = true;
    if (layer >= 0)
      for (int in : net_.layers[layer].inputs) {
        inputsFloatExact = inputsFloatExact && floatExact_[in];
        inputsChipExact = inputsChipExact && chipExact_[in];
      }
    if (!inputsFloatExact || !inputsChipExact)
      a.inputsAgreed = false;
    const std::vector<double> *logitScales =
        layer >= 0 ? &net_.layers[layer].logitScales : nullptr;
    const quant::IntValue &value = net_.values[v];
    for (int64_t i = 0; i < value.size(); ++i) {
      const int64_t want = ints[v][size_t(i)];
      std::optional<int64_t> f, c;
      if (a.hasFloat)
        f = floatAsInteger(net_, v, logitScales,
                           floats[size_t(model_.outputOf[v])], i);
      if (a.hasChip)
        c = chip[size_t(chipBuffer_[v])][size_t(i)];
      bool diverges = false;
      std::string what;
      if (c && *c != want) {
        ++a.chipDiffering;
        a.chipMaxDiff = std::max<int64_t>(a.chipMaxDiff, std::llabs(*c - want));
        chipExact_[v] = false;
        if (inputsChipExact) {
          diverges = true;
          what = "chip";
        }
      }
      if (f && *f != want) {
        ++a.floatDiffering;
        a.floatMaxDiff =
            std::max<int64_t>(a.floatMaxDiff, std::llabs(*f - want));
        floatExact_[v] = false;
        if (inputsFloatExact && std::llabs(*f - want) > allowedFloatDiff_ &&
            !diverges && !adcClips_) {
          diverges = true;
          what = "float";
        }
      }
      if (diverges && !first)
        first = divergence(a, value, image, i, f, c, want, what);
    }
  }

private:
  static Divergence divergence(const ValueAgreement &a,
                               const quant::IntValue &value, int image,
                               int64_t i, std::optional<int64_t> f,
                               std::optional<int64_t> c, int64_t want,
                               const std::string &what) {
    const int64_t plane = int64_t(value.height) * value.width;
    Divergence d;
    d.layer = a.layer;
    d.op = a.op;
    d.value = a.value;
    d.image = image;
    d.element = i;
    d.channel = int(i / plane);
    d.y = int((i % plane) / value.width);
    d.x = int(i % value.width);
    d.floatValue = f;
    d.chipValue = c;
    d.integerValue = want;
    d.what = what;
    return d;
  }

  const quant::IntegerNet &net_;
  const FloatModel &model_;
  const std::vector<int> &layerOf_;
  const std::vector<int> &chipBuffer_;
  const bool adcClips_;
  const int64_t allowedFloatDiff_;
  // Per value: did float and chip agree exactly on every image so far.
  std::vector<bool> floatExact_, chipExact_;
};

} // namespace

Expected<VerifyResult>
verifyModel(const ir::Graph &qdq, const program::Program &program,
            const std::vector<std::vector<float>> &images,
            const VerifyOptions &options) {
  Expected<quant::IntegerNet> lowered = integerReference(qdq, program);
  if (!lowered)
    return lowered.error();
  const bool adcClips = lowered->adc.saturates();
  const quant::IntegerNet &net = *lowered;
  Expected<FloatModel> floatModelOrError =
      floatModel(qdq, net, options.precision);
  if (!floatModelOrError)
    return floatModelOrError.error();
  const FloatModel &model = *floatModelOrError;
  Expected<runtime::Executor> exec =
      runtime::Executor::create(program, runtime::ExecOptions{options.mode});
  if (!exec)
    return exec.error().withContext("the chip");

  const std::vector<int> layerOf = producingLayers(net);
  const std::vector<int> order = valueOrder(net);
  VerifyResult result;
  result.images = int(images.size());
  result.precision = options.precision;
  const std::vector<int> chipBuffer =
      describeValues(net, model, program, layerOf, order, result.values);

  const quant::IntValue &inValue = net.value(net.input);
  const ir::Shape inShape{1, inValue.channels, inValue.height, inValue.width};
  Comparer comparer(net, model, layerOf, chipBuffer, adcClips,
                    allowedQdqDifference(options.precision));
  for (size_t image = 0; image < images.size(); ++image) {
    const std::vector<float> &x = images[image];
    if (int64_t(x.size()) != inValue.size())
      return makeError("image ", image, " has ", x.size(),
                       " values; the model expects ", inValue.size());
    const std::vector<std::vector<int32_t>> ints =
        quant::runIntegerValues(net, quant::quantizeInput(net, x.data()));
    Expected<std::vector<int32_t>> ran =
        exec->run(runtime::quantizeInput(program, x.data()));
    if (!ran)
      return ran.error().withContext("the chip");
    const std::vector<std::vector<int32_t>> &chip = exec->buffers();
    Expected<std::vector<ir::Tensor>> floats = interp::run(
        model.graph,
        interp::inputsFor(model.graph, {ir::Tensor::fromFloats(inShape, x)}));
    if (!floats)
      return floats.error().withContext("the QDQ model");
    result.integerClasses.push_back(quant::argmaxClass(net, ints[net.output]));
    result.chipClasses.push_back(runtime::argmaxClass(program, *ran));
    result.qdqClasses.push_back(argmax((*floats)[0]));
    for (size_t k = 0; k < order.size(); ++k)
      comparer.compare(order[k], result.values[k], int(image), ints, chip,
                       *floats, result.first);
  }
  return result;
}

} // namespace mars::verify
