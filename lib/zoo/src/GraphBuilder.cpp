#include "GraphBuilder.h"

#include "mars/ir/ShapeInference.h"
#include "mars/ir/Verifier.h"

#include <cmath>
#include <vector>

namespace mars::zoo {

using ir::AttributeMap;
using ir::OpKind;
using ir::Shape;
using ir::ValueId;

namespace {
/// Largest weight tensor the zoo creates (1 GiB of floats); beyond it the
/// options are a mistake, not a model.
constexpr int64_t kMaxWeightElements = int64_t{1} << 28;

std::vector<int64_t> pair(int64_t v) { return {v, v}; }
} // namespace

GraphBuilder::GraphBuilder(const std::string &modelName,
                           const ResolvedOptions &options)
    : modelName_(modelName), options_(options), random_(options.seed) {
  graph_.name = modelName;
}

const Shape &GraphBuilder::shapeOf(ValueId x) const {
  return graph_.value(x).type.shape;
}

int64_t GraphBuilder::channelsOf(ValueId x) const { return shapeOf(x)[1]; }

int64_t GraphBuilder::scaled(int64_t channels) const {
  return std::max<int64_t>(
      1, std::llround(double(channels) * options_.widthMultiplier));
}

ValueId GraphBuilder::addOutput(const std::string &name, Shape shape) {
  return graph_.addValue(
      name, ir::TensorType{ir::DType::Float32, std::move(shape), std::nullopt});
}

ValueId GraphBuilder::uniformInit(const std::string &name, Shape shape,
                                  double lo, double hi) {
  ir::Tensor t(ir::DType::Float32, std::move(shape));
  float *data = t.data<float>();
  for (int64_t i = 0; i < t.numElements(); ++i)
    data[i] = random_.uniform(lo, hi);
  return graph_.addInitializer(name, std::move(t));
}

int64_t GraphBuilder::windowOutput(const std::string &node, const char *op,
                                   int64_t size, int64_t kernel, int64_t stride,
                                   int64_t pad) {
  if (size + 2 * pad >= kernel)
    return (size + 2 * pad - kernel) / stride + 1;
  const Shape &in = shapeOf(graph_.inputs.at(0));
  status_ =
      makeError(modelName_, ": input ", in[1], "x", in[2], "x", in[3],
                " is too small: ", ir::nodeContext(node, op), " gets a ", size,
                "-pixel wide feature map for a ", kernel, "-pixel kernel");
  return 1;
}

ValueId GraphBuilder::input() {
  ValueId x = addOutput("input", {options_.batch, options_.channels,
                                  options_.height, options_.width});
  graph_.inputs.push_back(x);
  return x;
}

ValueId GraphBuilder::conv(ValueId x, const std::string &name,
                           int64_t outChannels, int64_t kernel, int64_t stride,
                           int64_t pad, int64_t groups) {
  if (!status_)
    return x;
  Shape in = shapeOf(x);
  MARS_CHECK(groups >= 1 && in[1] % groups == 0 && outChannels % groups == 0,
             "zoo: convolution groups must divide both channel counts");
  int64_t h = windowOutput(name, "Conv", in[2], kernel, stride, pad);
  int64_t w = windowOutput(name, "Conv", in[3], kernel, stride, pad);
  if (!status_)
    return x;
  // kaiming_uniform_(a=sqrt(5)): gain = sqrt(2 / (1 + a^2)) = sqrt(1/3),
  // bound = gain * sqrt(3 / fanIn) = 1 / sqrt(fanIn).
  int64_t fanIn = in[1] / groups * kernel * kernel;
  double bound = 1.0 / std::sqrt(double(fanIn));
  ValueId weight =
      uniformInit(name + ".weight",
                  {outChannels, in[1] / groups, kernel, kernel}, -bound, bound);
  AttributeMap attrs;
  attrs.set("dilations", pair(1));
  attrs.set("group", groups);
  attrs.set("kernel_shape", pair(kernel));
  attrs.set("pads", std::vector<int64_t>{pad, pad, pad, pad});
  attrs.set("strides", pair(stride));
  ValueId y = addOutput(name, {in[0], outChannels, h, w});
  graph_.addNode(OpKind::Conv, name, {x, weight}, {y}, std::move(attrs));
  return y;
}

ValueId GraphBuilder::batchNorm(ValueId x, const std::string &name) {
  if (!status_)
    return x;
  int64_t c = channelsOf(x);
  ValueId scale = uniformInit(name + ".weight", {c}, 0.5, 1.5);
  ValueId bias = uniformInit(name + ".bias", {c}, -0.1, 0.1);
  ValueId mean = uniformInit(name + ".running_mean", {c}, -0.1, 0.1);
  ValueId var = uniformInit(name + ".running_var", {c}, 0.5, 1.5);
  AttributeMap attrs;
  attrs.set("epsilon", 1e-5f);
  ValueId y = addOutput(name, shapeOf(x));
  graph_.addNode(OpKind::BatchNormalization, name, {x, scale, bias, mean, var},
                 {y}, std::move(attrs));
  return y;
}

ValueId GraphBuilder::relu(ValueId x, const std::string &name) {
  if (!status_)
    return x;
  ValueId y = addOutput(name, shapeOf(x));
  graph_.addNode(OpKind::Relu, name, {x}, {y});
  return y;
}

ValueId GraphBuilder::maxPool(ValueId x, const std::string &name,
                              int64_t kernel, int64_t stride) {
  if (!status_)
    return x;
  Shape in = shapeOf(x);
  int64_t h = windowOutput(name, "MaxPool", in[2], kernel, stride, 0);
  int64_t w = windowOutput(name, "MaxPool", in[3], kernel, stride, 0);
  if (!status_)
    return x;
  AttributeMap attrs;
  attrs.set("kernel_shape", pair(kernel));
  attrs.set("pads", std::vector<int64_t>{0, 0, 0, 0});
  attrs.set("strides", pair(stride));
  ValueId y = addOutput(name, {in[0], in[1], h, w});
  graph_.addNode(OpKind::MaxPool, name, {x}, {y}, std::move(attrs));
  return y;
}

ValueId GraphBuilder::globalAveragePool(ValueId x, const std::string &name) {
  if (!status_)
    return x;
  Shape in = shapeOf(x);
  ValueId y = addOutput(name, {in[0], in[1], 1, 1});
  graph_.addNode(OpKind::GlobalAveragePool, name, {x}, {y});
  return y;
}

ValueId GraphBuilder::flatten(ValueId x, const std::string &name) {
  if (!status_)
    return x;
  Shape in = shapeOf(x);
  int64_t features = 1;
  for (size_t i = 1; i < in.size(); ++i)
    features *= in[i];
  AttributeMap attrs;
  attrs.set("axis", int64_t{1});
  ValueId y = addOutput(name, {in[0], features});
  graph_.addNode(OpKind::Flatten, name, {x}, {y}, std::move(attrs));
  return y;
}

ValueId GraphBuilder::linear(ValueId x, const std::string &name,
                             int64_t outFeatures,
                             const std::string &valueName) {
  if (!status_)
    return x;
  Shape in = shapeOf(x);
  int64_t inFeatures = in[1];
  if (inFeatures > kMaxWeightElements / outFeatures) {
    status_ = makeError(modelName_, ": ", ir::nodeContext(name, "Gemm"),
                        " would have ", inFeatures, "x", outFeatures,
                        " weights; use a smaller input or fewer classes");
    return x;
  }
  // nn.Linear: weight as for Conv, bias ~ U(-1/sqrt(fanIn), 1/sqrt(fanIn)).
  double bound = 1.0 / std::sqrt(double(inFeatures));
  ValueId weight =
      uniformInit(name + ".weight", {outFeatures, inFeatures}, -bound, bound);
  ValueId bias = uniformInit(name + ".bias", {outFeatures}, -bound, bound);
  AttributeMap attrs;
  attrs.set("transB", int64_t{1});
  ValueId y =
      addOutput(valueName.empty() ? name : valueName, {in[0], outFeatures});
  graph_.addNode(OpKind::Gemm, name, {x, weight, bias}, {y}, std::move(attrs));
  return y;
}

ValueId GraphBuilder::add(ValueId a, ValueId b, const std::string &name) {
  if (!status_)
    return a;
  ValueId y = addOutput(name, shapeOf(a));
  graph_.addNode(OpKind::Add, name, {a, b}, {y});
  return y;
}

Expected<ir::Graph> GraphBuilder::finish(ValueId output) {
  if (!status_)
    return status_.error();
  graph_.outputs.push_back(output);
  MARS_TRY(graph_.topoSort());
  MARS_TRY(ir::inferShapes(graph_));
  MARS_TRY(ir::verifyStatus(graph_));
  return std::move(graph_);
}

} // namespace mars::zoo
