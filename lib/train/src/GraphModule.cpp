#include "mars/train/GraphModule.h"

#include "AdcForward.h"
#include "BatchNormKernel.h"
#include "FakeQuant.h"
#include "MaxPoolKernel.h"
#include "mars/ir/Canonicalize.h"
#include "mars/quant/ChipOps.h"
#include "mars/quant/Placement.h"
#include "mars/quant/Policy.h"

#include <algorithm>
#include <cstring>

namespace mars::train {

using ir::NodeId;
using ir::OpKind;
using ir::ValueId;

torch::Tensor toTorch(const ir::Tensor &t) {
  std::vector<float> values = t.toFloats();
  std::vector<int64_t> shape(t.shape().begin(), t.shape().end());
  return torch::from_blob(values.data(), shape, torch::kFloat32).clone();
}

namespace {

bool isPassThrough(OpKind op) {
  return op == OpKind::MaxPool || op == OpKind::Flatten ||
         op == OpKind::Reshape || op == OpKind::Identity ||
         op == OpKind::Dropout;
}

/// Ops whose output carries their (first) input's quantization point; a
/// Concat's inputs all share it (lib/quant lowerConcat).
bool carriesPoint(OpKind op) {
  return isPassThrough(op) || op == OpKind::Concat;
}

/// The single node reading `v`, or -1 (none, several, or a graph output).
NodeId singleUser(const ir::Graph &g, ValueId v) {
  for (ValueId out : g.outputs)
    if (out == v)
      return -1;
  auto users = g.users(v);
  return users.size() == 1 ? users[0] : -1;
}

/// Folds the BatchNormalization `bnId` into `l`: its parameters become the
/// layer's, and the layer's output becomes the BN's.
Status readBatchNorm(const ir::Graph &g, NodeId bnId, WeightedLayer &l) {
  const ir::Node &bn = g.node(bnId);
  for (int i = 1; i <= 4; ++i)
    if (!g.value(bn.inputs[i]).constant)
      return makeError(nodeContext(bn),
                       ": scale, bias, mean and variance must be "
                       "initializers");
  l.bnNode = bnId;
  l.gamma = toTorch(*g.value(bn.inputs[1]).constant);
  l.beta = toTorch(*g.value(bn.inputs[2]).constant);
  l.runningMean = toTorch(*g.value(bn.inputs[3]).constant);
  l.runningVar = toTorch(*g.value(bn.inputs[4]).constant);
  l.eps = bn.attrs.getFloat("epsilon", 1e-5f);
  l.outValue = bn.outputs[0];
  return Status::success();
}

/// The Conv, Gemm or MatMul `id` as a layer: weights in Conv's [out, in]
/// order, bias, convolution attributes, and the BatchNormalization it feeds
/// when that is its only user.
Expected<WeightedLayer> readWeightedLayer(const ir::Graph &g, NodeId id) {
  const ir::Node &n = g.node(id);
  WeightedLayer l;
  l.node = id;
  l.name = n.name;
  l.isConv = n.op == OpKind::Conv;
  ValueId w = n.inputs[1];
  if (!g.value(w).constant)
    return makeError(nodeContext(n), ": weights '", g.value(w).name,
                     "' must be an initializer");
  l.weight = toTorch(*g.value(w).constant);
  if (n.op == OpKind::Gemm) {
    if (n.attrs.getInt("transA", 0) != 0 ||
        n.attrs.getFloat("alpha", 1.f) != 1.f ||
        n.attrs.getFloat("beta", 1.f) != 1.f)
      return makeError(nodeContext(n), ": only Gemm with alpha=1, beta=1, "
                                       "transA=0 can be trained");
    if (n.attrs.getInt("transB", 0) == 0)
      l.weight = l.weight.t().contiguous();
  } else if (n.op == OpKind::MatMul) {
    if (l.weight.dim() != 2)
      return makeError(nodeContext(n), ": MatMul weights must be 2-D");
    l.weight = l.weight.t().contiguous();
  }
  if (n.input(2) != ir::kNoValue) {
    if (!g.value(n.input(2)).constant)
      return makeError(nodeContext(n), ": the bias must be an initializer");
    l.bias = toTorch(*g.value(n.input(2)).constant).reshape({-1});
  }
  if (l.isConv) {
    l.strides = n.attrs.getInts("strides", {1, 1});
    l.pads = n.attrs.getInts("pads", {0, 0, 0, 0});
    l.dilations = n.attrs.getInts("dilations", {1, 1});
    l.groups = n.attrs.getInt("group", 1);
  }
  l.outValue = n.outputs[0];
  NodeId user = singleUser(g, n.outputs[0]);
  if (user >= 0 && g.node(user).op == OpKind::BatchNormalization)
    MARS_TRY(readBatchNorm(g, user, l));
  return l;
}

/// The layer's CIM group geometry at its bit width, and the group of each
/// weight. Pruning ranks the groups that hold weights; groups off a grouped
/// layer's block diagonal hold none (the chip never stores them, and
/// IntegerEval counts them as zero). Number the occupied ones densely.
void numberGroups(WeightedLayer &l, const arch::ArchSpec &arch) {
  const int out = int(l.weight.size(0));
  const int inPerGroup = int(l.weight.size(1));
  const int kh = l.isConv ? int(l.weight.size(2)) : 1;
  const int kw = l.isConv ? int(l.weight.size(3)) : 1;
  const int convGroups = int(l.groups);
  l.geometry = arch::groupGeometry(arch, l.bits, out, inPerGroup * convGroups,
                                   convGroups, kh, kw);
  std::vector<int64_t> dense(size_t(l.geometry.numGroups()), -1);
  std::vector<int64_t> groupOf(static_cast<size_t>(l.weight.numel()));
  size_t k = 0;
  l.groupCount = 0;
  for (int oc = 0; oc < out; ++oc)
    for (int ic = 0; ic < inPerGroup; ++ic)
      for (int ky = 0; ky < kh; ++ky)
        for (int kx = 0; kx < kw; ++kx) {
          int64_t &d = dense[size_t(l.geometry.groupOfWeight(oc, ic, ky, kx))];
          if (d < 0)
            d = l.groupCount++;
          groupOf[k++] = d;
        }
  l.groupIndex = torch::tensor(groupOf, torch::kLong);
}

} // namespace

Expected<std::shared_ptr<GraphModule>>
GraphModule::create(const ir::Graph &graph, const arch::ArchSpec &arch,
                    int wbits, int abits, int firstLastBits, bool powerOfTwo,
                    bool signedInput) {
  std::shared_ptr<GraphModule> m(new GraphModule());
  m->powerOfTwo_ = powerOfTwo;
  Status s = m->build(graph, arch, wbits, abits, firstLastBits, signedInput);
  if (!s)
    return s.error();
  return m;
}

Status GraphModule::build(const ir::Graph &graph, const arch::ArchSpec &arch,
                          int wbits, int abits, int firstLastBits,
                          bool signedInput) {
  graph_ = graph;
  // The same canonical form the compiler starts from (zero Pads folded,
  // constants through Identity, MatMul as Gemm); BN stays, folded in QAT.
  auto canonical = ir::canonicalize(graph_);
  if (!canonical)
    return canonical.error();
  const ir::Graph &g = graph_;
  if (g.inputs.size() != 1 || g.outputs.size() != 1)
    return makeError("the trainer needs a model with one input and one "
                     "output, got ",
                     g.inputs.size(), " and ", g.outputs.size());
  MARS_TRY(checkOps(g));
  skipNode_.assign(g.numNodes(), false);

  // A final Softmax is dropped: the loss works on logits.
  logitsValue_ = g.outputs[0];
  NodeId producer = g.value(logitsValue_).producer;
  if (producer >= 0 && g.node(producer).op == OpKind::Softmax) {
    skipNode_[producer] = true;
    logitsValue_ = g.node(producer).inputs[0];
  }

  MARS_TRY(addLayers(g));
  if (layers_.empty())
    return makeError("the model has no Conv or Gemm layer to train");

  // Bits, masks and CIM groups.
  for (size_t i = 0; i < layers_.size(); ++i) {
    WeightedLayer &l = layers_[i];
    bool firstOrLast = i == 0 || i + 1 == layers_.size();
    l.bits = firstOrLast ? firstLastBits : wbits;
    numberGroups(l, arch);
    registerLayer(l, "layer" + std::to_string(i) + "_");
  }

  MARS_TRY(addQuantPoints(wbits, abits, firstLastBits, signedInput));
  for (WeightedLayer &l : layers_)
    l.inputPoint = sourcePointOf(g.node(l.node).inputs[0]);
  calibration_.assign(points_.size(), {});
  return Status::success();
}

Status GraphModule::addLayers(const ir::Graph &g) {
  for (NodeId id = 0; id < NodeId(g.numNodes()); ++id) {
    const ir::Node &n = g.node(id);
    if (skipNode_[id])
      continue;
    if (n.op == OpKind::BatchNormalization)
      return makeError(nodeContext(n),
                       ": a BatchNormalization must follow a Conv or Gemm "
                       "(as its only user) for the trainer to fold it");
    if (n.op != OpKind::Conv && n.op != OpKind::Gemm &&
        n.op != OpKind::MatMul) {
      if (n.op == OpKind::Sub || n.op == OpKind::Mul)
        constants_[n.inputs[1]] = toTorch(*g.value(n.inputs[1]).constant);
      continue;
    }
    auto l = readWeightedLayer(g, id);
    if (!l)
      return l.error();
    if (l->bnNode >= 0)
      skipNode_[l->bnNode] = true;
    layerOfNode_[id] = int(layers_.size());
    layers_.push_back(l.take());
  }
  return Status::success();
}

void GraphModule::registerLayer(WeightedLayer &l, const std::string &prefix) {
  l.mask = torch::ones_like(l.weight);
  l.weight = register_parameter(prefix + "weight", l.weight);
  if (l.bias.defined())
    l.bias = register_parameter(prefix + "bias", l.bias);
  if (l.gamma.defined()) {
    l.gamma = register_parameter(prefix + "bn_weight", l.gamma);
    l.beta = register_parameter(prefix + "bn_bias", l.beta);
    l.runningMean = register_buffer(prefix + "bn_running_mean", l.runningMean);
    l.runningVar = register_buffer(prefix + "bn_running_var", l.runningVar);
  }
  l.mask = register_buffer(prefix + "mask", l.mask);
}

/// The trainer takes what the compiler takes: the one list (lib/quant
/// ChipOps.h, with its advice), in the forms lowerToInteger accepts.
Status GraphModule::checkOps(const ir::Graph &g) {
  MARS_TRY(quant::checkChipOps(g));
  for (const ir::Node &n : g.nodes()) {
    switch (n.op) {
    case OpKind::QuantizeLinear:
    case OpKind::DequantizeLinear:
      return makeError(nodeContext(n),
                       ": the model is already quantized; the trainer takes "
                       "float models (compile this one with marsc compile)");
    case OpKind::Concat:
      if (n.attrs.getInt("axis", 1) != 1)
        return makeError(nodeContext(n), ": only channel Concat (axis 1) is "
                                         "supported");
      break;
    case OpKind::Sub:
    case OpKind::Mul: {
      // Only input normalisation (input - mean) * (1/std), as lowering
      // accepts it.
      const bool first = n.op == OpKind::Sub && n.inputs[0] == g.inputs[0];
      const ir::NodeId p = g.value(n.inputs[0]).producer;
      const bool second = n.op == OpKind::Mul && p >= 0 &&
                          g.node(p).op == OpKind::Sub &&
                          g.node(p).inputs[0] == g.inputs[0];
      if ((!first && !second) || !g.value(n.inputs[1]).constant)
        return makeError(nodeContext(n),
                         ": Sub/Mul are supported only as the input's "
                         "normalisation (input - mean) * (1/std) by "
                         "constants");
      break;
    }
    default: break;
    }
  }
  return Status::success();
}

Status GraphModule::addQuantPoints(int wbits, int abits, int firstLastBits,
                                   bool signedInput) {
  const ir::Graph &g = graph_;
  // Input normalisation must be whole for the trainer: Sub then Mul.
  const NodeId sub = singleUser(g, g.inputs[0]);
  if (sub >= 0 && g.node(sub).op == OpKind::Sub) {
    const NodeId mul = singleUser(g, g.node(sub).outputs[0]);
    if (mul < 0 || g.node(mul).op != OpKind::Mul)
      return makeError(nodeContext(g.node(sub)),
                       ": input normalisation must be Sub then Mul");
  }
  // Where the points go is lib/quant's decision, shared with the compiler.
  quant::PlacementOptions options;
  options.weightBits = wbits;
  options.activationBits = abits;
  options.edgeBits = firstLastBits;
  options.inputBits = 8; // pixels / 255, or the normalised input
  options.inputSigned = signedInput;
  auto placed = quant::placeQuantization(g, options);
  if (!placed)
    return placed.error();
  for (size_t i = 0; i < placed->points.size(); ++i) {
    const quant::PlacedPoint &q = placed->points[i];
    QuantPoint p;
    p.value = q.value;
    p.bits = q.bits;
    p.isSigned = q.isSigned;
    p.tiedTo = q.tiedTo;
    p.sharedWith = q.unionRoot != int(i) ? q.unionRoot : -1;
    p.concatInput = q.concatInput;
    // The input's scale is fixed (1/255) unless normalised (calibrated); an
    // average pool's follows its input's; every other clip is learned
    // (PACT), starting wider after a ReLU.
    const double alpha = i == 0          ? 1.0
                         : q.tiedTo >= 0 ? 0.0
                         : q.isSigned    ? 2.0
                                         : 4.0;
    p.alpha = torch::full({1}, alpha);
    pointOfValue_[q.value] = int(points_.size());
    points_.push_back(p);
  }
  for (size_t i = 0; i < points_.size(); ++i)
    if (points_[i].tiedTo < 0 && points_[i].sharedWith < 0 && i != 0)
      points_[i].alpha = register_parameter(
          "act" + std::to_string(i) + "_alpha", points_[i].alpha);
  return Status::success();
}

int GraphModule::shareRoot(int i) const {
  while (points_[i].sharedWith >= 0)
    i = points_[i].sharedWith;
  return i;
}

bool GraphModule::fixedScale(int i) const {
  return points_[i].tiedTo >= 0 || (i == 0 && !points_[i].isSigned);
}

int GraphModule::sourcePointOf(ValueId v) const {
  for (;;) {
    int p = pointOf(v);
    if (p >= 0)
      return p;
    NodeId producer = graph_.value(v).producer;
    if (producer < 0 || !carriesPoint(graph_.node(producer).op))
      return -1;
    v = graph_.node(producer).inputs[0];
  }
}

bool GraphModule::pointAppliesRelu(ir::ValueId v) const {
  if (mode_ != RunMode::Qat)
    return false;
  auto point = pointOfValue_.find(v);
  if (point == pointOfValue_.end())
    return false;
  // As applyPoint decides: a fixed-scale point rounds to a grid without a
  // clip; any other goes through fakeQuantActivation, unsigned = relu + clip.
  return !points_[point->second].isSigned &&
         !fixedScale(shareRoot(point->second));
}

torch::Tensor GraphModule::pointScale(int i) const {
  // Average pool outputs: their input's scale nudged off rounding ties (the
  // rule post-training quantization uses too; lib/quant Policy.h).
  // Tensor arithmetic keeps the gradient to the input's learned clip.
  // A Concat input keeps its union's scale exactly.
  if (points_[i].tiedTo >= 0)
    return pointScale(points_[i].tiedTo) *
           (points_[i].concatInput ? 1.0
                                   : quant::avgPoolScaleFactor(powerOfTwo_));
  if (points_[i].sharedWith >= 0)
    return pointScale(shareRoot(i));
  const QuantPoint &p = points_[i];
  if (i == 0 && !p.isSigned)
    return torch::full({1}, 1.0 / 255.0); // pixels / 255 are exact
  return activationScale(p.alpha, p.bits, p.isSigned, powerOfTwo_);
}

torch::Tensor GraphModule::effectiveWeight(const WeightedLayer &l,
                                           bool folded) const {
  torch::Tensor w = l.weight * l.mask;
  if (!folded || !l.gamma.defined())
    return w;
  std::vector<int64_t> view(w.dim(), 1);
  view[0] = w.size(0);
  auto factor = l.gamma / torch::sqrt(l.runningVar + l.eps);
  return w * factor.view(view);
}

torch::Tensor GraphModule::foldedBias(const WeightedLayer &l) const {
  torch::Tensor b =
      l.bias.defined() ? l.bias : torch::zeros({l.weight.size(0)});
  if (!l.gamma.defined())
    return b;
  auto factor = l.gamma / torch::sqrt(l.runningVar + l.eps);
  return l.beta + (b - l.runningMean) * factor;
}

namespace {
torch::Tensor conv(const WeightedLayer &l, const torch::Tensor &x,
                   const torch::Tensor &w, const torch::Tensor &b) {
  if (!l.isConv) {
    // Debian's LibTorch is built on the reference (netlib) BLAS, whose GEMM
    // runs a lenet5 fc1 step (forward and backward, batch 128) about 10x
    // slower than its oneDNN convolution does the same products. A Linear
    // is a 1x1 convolution over (N, K, 1, 1); the sums differ only in order.
    if (x.dim() != 2)
      return torch::linear(x, w, b);
    const int64_t n = x.size(0), k = x.size(1), out = w.size(0);
    return torch::conv2d(x.reshape({n, k, 1, 1}), w.reshape({out, k, 1, 1}), b)
        .reshape({n, out});
  }
  const auto &p = l.pads; // [top, left, bottom, right]
  if (p[0] == p[2] && p[1] == p[3])
    return torch::conv2d(x, w, b, l.strides, std::vector<int64_t>{p[0], p[1]},
                         l.dilations, l.groups);
  auto padded = torch::constant_pad_nd(x, {p[1], p[3], p[0], p[2]}, 0);
  return torch::conv2d(padded, w, b, l.strides, std::vector<int64_t>{0, 0},
                       l.dilations, l.groups);
}
} // namespace

torch::Tensor GraphModule::runWeighted(const WeightedLayer &l,
                                       const torch::Tensor &x) {
  const bool hasBn = l.gamma.defined();
  if (mode_ != RunMode::Qat) {
    torch::Tensor y = conv(l, x, l.weight * l.mask, l.bias);
    if (!hasBn)
      return y;
    return torch::batch_norm(y, l.gamma, l.beta, l.runningMean, l.runningVar,
                             /*training=*/is_training() && !bnFrozen_,
                             /*momentum=*/0.1, l.eps, /*cudnn_enabled=*/false);
  }
  // QAT. With batch statistics (PyTorch's ConvBn scheme): quantize the weight
  // folded with the running statistics, undo the per-channel factor after the
  // conv, and let batch_norm normalise with the batch's statistics.
  // Frozen: exactly the deployed arithmetic, conv(x, q(w_fold)) + b_fold.
  torch::Tensor wq =
      fakeQuantWeight(effectiveWeight(l, /*folded=*/true), l.bits, powerOfTwo_);
  if (hasBn && is_training() && !bnFrozen_) {
    auto factor = l.gamma / torch::sqrt(l.runningVar + l.eps);
    torch::Tensor y = convQat(l, x, wq, {});
    const BatchNormOperands bn{l.gamma,          l.beta,
                               l.runningMean,    l.runningVar,
                               /*momentum=*/0.1, l.eps};
    if (divideBatchNormApplies(y, factor, l.bias, bn))
      return divideBatchNorm(y, factor, l.bias, bn);
    std::vector<int64_t> view(y.dim(), 1);
    view[1] = factor.size(0);
    y = y / factor.view(view);
    if (l.bias.defined())
      y = y + l.bias.view(view);
    return torch::batch_norm(y, l.gamma, l.beta, l.runningMean, l.runningVar,
                             /*training=*/true, /*momentum=*/0.1, l.eps,
                             /*cudnn_enabled=*/false);
  }
  return convQat(l, x, wq, foldedBias(l));
}

torch::Tensor GraphModule::convQat(const WeightedLayer &l,
                                   const torch::Tensor &x,
                                   const torch::Tensor &wq,
                                   const torch::Tensor &b) {
  torch::Tensor y = conv(l, x, wq, b);
  if (!adc_.saturates() || l.inputPoint < 0)
    return y;
  // The integers both operands stand for: x is on its point's grid, wq on
  // the per-channel weight grid (fakeQuantWeight's scales).
  const QuantPoint &in = points_[l.inputPoint];
  const torch::Tensor sx = pointScale(l.inputPoint).detach();
  const torch::Tensor sw =
      weightScales(effectiveWeight(l, /*folded=*/true), l.bits, powerOfTwo_);
  std::vector<int64_t> wView(wq.dim(), 1);
  wView[0] = wq.size(0);
  const torch::Tensor qx = torch::round(x.detach() / sx);
  const torch::Tensor qw = torch::round(wq.detach() / sw.view(wView));
  AdcLayerShape shape;
  shape.isConv = l.isConv;
  shape.strides = l.strides;
  shape.pads = l.pads;
  shape.dilations = l.dilations;
  shape.groups = l.groups;
  const torch::Tensor acc = adcAccumulators(
      qx, qw, shape, AdcOperands{in.bits, in.isSigned, l.bits}, adc_);
  std::vector<int64_t> outView(y.dim(), 1);
  outView[1] = y.size(1);
  torch::Tensor clipped = acc * (sx * sw).view(outView);
  if (b.defined())
    clipped = clipped + b.detach().view(outView);
  // Forward: the clipped sums; backward: the exact convolution's gradient.
  return y + (clipped - y).detach();
}

torch::Tensor GraphModule::applyPoint(int i, const torch::Tensor &x) {
  QuantPoint &p = points_[i];
  if (mode_ == RunMode::Calibrate && p.tiedTo < 0 && (i != 0 || p.isSigned)) {
    calibration_[i].push_back(p.isSigned ? x.detach().abs().max().item<double>()
                                         : x.detach().max().item<double>());
    return x;
  }
  if (mode_ != RunMode::Qat)
    return x;
  const int root = shareRoot(i);
  if (fixedScale(root))
    return fakeQuantToGrid(x, pointScale(i), p.bits, p.isSigned);
  // Concat union members learn the root's clip together with it.
  return fakeQuantActivation(x, points_[root].alpha, p.bits, p.isSigned,
                             powerOfTwo_);
}

void GraphModule::beginCalibration() {
  calibration_.assign(points_.size(), {});
  mode_ = RunMode::Calibrate;
}

void GraphModule::finishCalibration() {
  torch::NoGradGuard noGrad;
  // Each point's clip: the mean of its batch maxima; a Concat union takes
  // the largest of its members' (as post-training quantization does).
  std::vector<double> clip(points_.size(), 0.0);
  for (size_t i = 0; i < points_.size(); ++i) {
    if (calibration_[i].empty() || points_[i].tiedTo >= 0)
      continue;
    double sum = 0;
    for (double v : calibration_[i])
      sum += v;
    double &c = clip[size_t(shareRoot(int(i)))];
    c = std::max(c, sum / double(calibration_[i].size()));
  }
  for (size_t i = 0; i < points_.size(); ++i)
    if (!calibration_[i].empty() && !fixedScale(int(i)) &&
        points_[i].sharedWith < 0)
      points_[i].alpha.fill_(std::max(clip[i], 1e-3));
  mode_ = RunMode::Qat;
}

namespace {
/// Overwrites the float initializer `id` with `t` (same number of elements).
void writeBack(ir::Graph &g, ValueId id, const torch::Tensor &t) {
  ir::Tensor &c = *g.value(id).constant;
  torch::Tensor flat = t.detach().to(torch::kFloat32).contiguous().flatten();
  MARS_CHECK(flat.numel() == c.numElements() &&
             c.dtype() == ir::DType::Float32);
  std::memcpy(c.data<float>(), flat.data_ptr<float>(), c.byteSize());
}
} // namespace

ir::Graph GraphModule::floatGraph() const {
  ir::Graph g = graph_;
  for (const WeightedLayer &l : layers_) {
    const ir::Node &n = g.node(l.node);
    torch::Tensor w = l.weight * l.mask;
    // Gemm with transB=0 and MatMul store [in, out].
    if (!l.isConv && !(n.op == OpKind::Gemm && n.attrs.getInt("transB", 0)))
      w = w.t();
    writeBack(g, n.inputs[1], w);
    if (l.bias.defined())
      writeBack(g, n.inputs[2], l.bias);
    if (l.bnNode >= 0) {
      const ir::Node &bn = g.node(l.bnNode);
      writeBack(g, bn.inputs[1], l.gamma);
      writeBack(g, bn.inputs[2], l.beta);
      writeBack(g, bn.inputs[3], l.runningMean);
      writeBack(g, bn.inputs[4], l.runningVar);
    }
  }
  return g;
}

void GraphModule::applyMasks() {
  torch::NoGradGuard noGrad;
  for (WeightedLayer &l : layers_)
    l.weight.mul_(l.mask);
}

torch::Tensor GraphModule::forward(const torch::Tensor &input) {
  const ir::Graph &g = graph_;
  std::vector<torch::Tensor> vals(g.numValues());
  vals[g.inputs[0]] = pointOf(g.inputs[0]) == 0 ? applyPoint(0, input) : input;
  for (NodeId id = 0; id < NodeId(g.numNodes()); ++id) {
    if (skipNode_[id])
      continue;
    const ir::Node &n = g.node(id);
    const torch::Tensor &x = vals[n.inputs[0]];
    ValueId outId = n.outputs[0];
    torch::Tensor y;
    auto layer = layerOfNode_.find(id);
    if (layer != layerOfNode_.end()) {
      const WeightedLayer &l = layers_[layer->second];
      y = runWeighted(l, x);
      outId = l.outValue;
    } else {
      switch (n.op) {
      case OpKind::Relu:
        y = pointAppliesRelu(outId) ? x : torch::relu(x);
        break;
      case OpKind::Clip: {
        auto lo = n.input(1) != ir::kNoValue
                      ? g.value(n.input(1)).constant->getAsDouble(0)
                      : -1e30;
        auto hi = n.input(2) != ir::kNoValue
                      ? g.value(n.input(2)).constant->getAsDouble(0)
                      : 1e30;
        y = torch::clamp(x, lo, hi);
        break;
      }
      case OpKind::MaxPool: {
        auto ks = n.attrs.getInts("kernel_shape", {1, 1});
        auto st = n.attrs.getInts("strides", {1, 1});
        auto p = n.attrs.getInts("pads", {0, 0, 0, 0});
        auto dil = n.attrs.getInts("dilations", {1, 1});
        bool ceil = n.attrs.getInt("ceil_mode", 0) != 0;
        if (maxPool2x2Applies(x, ks, st, p, dil, ceil)) {
          y = maxPool2x2(x);
        } else if (p[0] == p[2] && p[1] == p[3]) {
          y = torch::max_pool2d(x, ks, st, std::vector<int64_t>{p[0], p[1]},
                                dil, ceil);
        } else {
          auto padded =
              torch::constant_pad_nd(x, {p[1], p[3], p[0], p[2]}, -1e30);
          y = torch::max_pool2d(padded, ks, st, std::vector<int64_t>{0, 0}, dil,
                                ceil);
        }
        break;
      }
      case OpKind::AveragePool: {
        auto ks = n.attrs.getInts("kernel_shape", {1, 1});
        auto st = n.attrs.getInts("strides", {1, 1});
        auto p = n.attrs.getInts("pads", {0, 0, 0, 0});
        y = torch::avg_pool2d(x, ks, st, std::vector<int64_t>{p[0], p[1]},
                              n.attrs.getInt("ceil_mode", 0) != 0,
                              n.attrs.getInt("count_include_pad", 0) != 0);
        break;
      }
      case OpKind::GlobalAveragePool:
        y = torch::adaptive_avg_pool2d(x, std::vector<int64_t>{1, 1});
        break;
      case OpKind::Add: y = x + vals[n.inputs[1]]; break;
      case OpKind::Concat: {
        std::vector<torch::Tensor> parts;
        for (ValueId v : n.inputs)
          parts.push_back(vals[v]);
        y = torch::cat(parts, /*dim=*/1);
        break;
      }
      case OpKind::Sub: y = x - constants_.at(n.inputs[1]); break;
      case OpKind::Mul: y = x * constants_.at(n.inputs[1]); break;
      case OpKind::Flatten:
      case OpKind::Reshape: {
        std::vector<int64_t> shape(g.value(outId).type.shape.begin(),
                                   g.value(outId).type.shape.end());
        shape[0] = x.size(0);
        y = x.reshape(shape);
        break;
      }
      case OpKind::Identity:
      case OpKind::Dropout: y = x; break;
      default: MARS_CHECK(false, "op rejected at build time");
      }
    }
    auto point = pointOfValue_.find(outId);
    vals[outId] =
        point == pointOfValue_.end() ? y : applyPoint(point->second, y);
    // A Relu/Clip fused into a quantization point: its output is the point.
  }
  return vals[logitsValue_];
}

} // namespace mars::train
