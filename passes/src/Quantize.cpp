/// quantize: post-training quantization of a float model into the QDQ form
/// `marsc train` exports (lib/train ExportQdq) and lower-to-integer lowers:
///  1. optional one-shot pruning (--prune S): in every inner Conv/Gemm, the
///     fraction S of its CIM groups (wl_on rows × one partition's channels of
///     the unrolled matrix, the compiler's geometry) with the smallest L2
///     norm is zeroed;
///  2. activation ranges from the calibration images on the float reference
///     interpreter: max |x| (minmax) or a percentile of |x|;
///  3. weights symmetric per output channel (edge bits for the first and
///     last layer), biases int32 at weight scale × input scale, and
///     Clip → QuantizeLinear → DequantizeLinear at every point of
///     QuantizePlan.h.
/// A model that is already quantized passes through unchanged.
#include "mars/quant/ChipOps.h"
#include "QuantizePlan.h"

#include "mars/arch/CimGroups.h"
#include "mars/interp/Interpreter.h"
#include "mars/ir/ShapeInference.h"
#include "mars/passes/Passes.h"
#include "mars/quant/Lower.h"
#include "mars/quant/Policy.h"
#include "mars/quant/QdqEmit.h"
#include "mars/support/IntRange.h"

#include <algorithm>
#include <thread>
#include <cmath>

namespace mars::passes {

namespace {

using ir::OpKind;

bool isQuantized(const ir::Graph &g) {
  for (const ir::Node &n : g.nodes())
    if (n.op == OpKind::QuantizeLinear || n.op == OpKind::DequantizeLinear)
      return true;
  return false;
}

/// A layer's float weights as [out][in/groups][kh][kw] (Gemm: [out][in]).
struct LayerWeights {
  std::vector<float> w;
  int out = 0, inPerGroup = 0, kh = 1, kw = 1, groups = 1;
};

Expected<LayerWeights> weightsOf(const ir::Graph &g, const ir::Node &n) {
  ir::ValueId wv = n.input(1);
  if (wv == ir::kNoValue || !g.value(wv).constant ||
      g.value(wv).constant->dtype() != ir::DType::Float32)
    return makeError(nodeContext(n), ": weights must be a float constant");
  const ir::Tensor &t = *g.value(wv).constant;
  LayerWeights l;
  l.w = t.toFloats();
  if (n.op == OpKind::Conv) {
    if (t.shape().size() != 4)
      return makeError(nodeContext(n), ": only 2-D convolutions");
    l.out = int(t.shape()[0]);
    l.inPerGroup = int(t.shape()[1]);
    l.kh = int(t.shape()[2]);
    l.kw = int(t.shape()[3]);
    l.groups = int(n.attrs.getInt("group", 1));
    return l;
  }
  if (n.attrs.getInt("transA", 0) != 0 ||
      n.attrs.getFloat("alpha", 1.f) != 1.f ||
      n.attrs.getFloat("beta", 1.f) != 1.f || t.shape().size() != 2)
    return makeError(nodeContext(n), ": only alpha=1, beta=1, "
                                     "transA=0 with 2-D weights");
  const bool transB = n.attrs.getInt("transB", 0) != 0;
  l.out = int(t.shape()[transB ? 0 : 1]);
  l.inPerGroup = int(t.shape()[transB ? 1 : 0]);
  if (!transB) { // to [out][in]
    std::vector<float> w(l.w.size());
    for (int i = 0; i < l.inPerGroup; ++i)
      for (int o = 0; o < l.out; ++o)
        w[size_t(o) * l.inPerGroup + i] = l.w[size_t(i) * l.out + o];
    l.w = std::move(w);
  }
  return l;
}

/// Zeroes the `fraction` of the layer's occupied CIM groups with the
/// smallest L2 norm; returns how many.
int64_t pruneGroups(LayerWeights &l, const arch::ArchSpec &spec, int bits,
                    double fraction) {
  arch::GroupGeometry geo = arch::groupGeometry(
      spec, bits, l.out, l.inPerGroup * l.groups, l.groups, l.kh, l.kw);
  std::vector<double> norm(size_t(geo.numGroups()), 0.0);
  std::vector<bool> occupied(norm.size(), false);
  std::vector<int64_t> groupOf(l.w.size());
  size_t k = 0;
  for (int oc = 0; oc < l.out; ++oc)
    for (int ic = 0; ic < l.inPerGroup; ++ic)
      for (int ky = 0; ky < l.kh; ++ky)
        for (int kx = 0; kx < l.kw; ++kx, ++k) {
          int64_t grp = geo.groupOfWeight(oc, ic, ky, kx);
          groupOf[k] = grp;
          occupied[grp] = true;
          norm[grp] += double(l.w[k]) * l.w[k];
        }
  std::vector<int64_t> order;
  for (size_t i = 0; i < norm.size(); ++i)
    if (occupied[i])
      order.push_back(int64_t(i));
  const int64_t prune = int64_t(std::floor(fraction * double(order.size())));
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return norm[a] < norm[b]; });
  std::vector<bool> zero(norm.size(), false);
  for (int64_t i = 0; i < prune; ++i)
    zero[order[i]] = true;
  for (size_t i = 0; i < l.w.size(); ++i)
    if (zero[groupOf[i]])
      l.w[i] = 0.f;
  return prune;
}

/// Runs the float model over the calibration images and records each
/// point's |x| range.
Status calibrate(const ir::Graph &graph, ptq::Plan &plan,
                 const CalibrationData &data, const CompileOptions &options) {
  std::vector<ir::ValueId> points;
  for (const ptq::Point &p : plan.points)
    points.push_back(p.value);
  const ir::TensorType inType = graph.value(graph.inputs[0]).type;
  if (inType.rank() != 4)
    return makeError("the model input must be N×C×H×W");
  const int64_t batch = std::max<int64_t>(1, inType.shape[0]);
  const int64_t imageSize = inType.shape[1] * inType.shape[2] * inType.shape[3];
  if (data.shape.size() != 3 ||
      data.shape[0] * data.shape[1] * data.shape[2] != imageSize)
    return makeError("calibration images (", data.source,
                     ") do not match the "
                     "model input ",
                     inType.toString());
  constexpr size_t kMaxSamples = size_t(1) << 18;
  std::vector<std::vector<float>> samples(plan.points.size());
  std::vector<double> maxAbs(plan.points.size(), 0.0);
  interp::Session session(graph, points);
  auto batchOf = [&](int64_t index) {
    const int64_t first = index * batch;
    ir::Tensor x(ir::DType::Float32, inType.shape);
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t img = std::min(first + b, data.count - 1);
      std::copy_n(data.pixels.begin() + img * imageSize, imageSize,
                  x.data<float>() + b * imageSize);
    }
    return std::vector<ir::Tensor>{std::move(x)};
  };
  // The batches run on all cores at once, in no fixed order: what is kept
  // of them (each point's largest magnitude, and the multiset of samples
  // whose order statistic is taken below) does not depend on the order.
  auto collect = [&](int64_t, std::vector<ir::Tensor> &outs) {
    for (size_t p = 0; p < outs.size(); ++p) {
      const ir::Tensor &t = outs[p];
      const float *v = t.data<float>();
      const int64_t n = t.numElements();
      for (int64_t i = 0; i < n; ++i)
        maxAbs[p] = std::max(maxAbs[p], double(std::fabs(v[i])));
      if (options.calibMethod == CalibMethod::Percentile) {
        const int64_t stride =
            std::max<int64_t>(1, n * data.count / int64_t(kMaxSamples) / batch);
        for (int64_t i = 0; i < n; i += stride)
          samples[p].push_back(std::fabs(v[i]));
      }
    }
    return Status::success();
  };
  const int64_t batches = (data.count + batch - 1) / batch;
  const int threads = int(std::max(1u, std::thread::hardware_concurrency()));
  if (Status run = session.runEach(batches, threads, batchOf, collect); !run)
    return run.error().withContext("calibration");
  for (size_t p = 0; p < plan.points.size(); ++p) {
    double range = maxAbs[p];
    if (options.calibMethod == CalibMethod::Percentile && !samples[p].empty()) {
      std::vector<float> &s = samples[p];
      size_t k = std::min(
          s.size() - 1, size_t(options.percentile / 100.0 * double(s.size())));
      std::nth_element(s.begin(), s.begin() + k, s.end());
      range = s[k];
    }
    plan.points[p].range = range;
  }
  return Status::success();
}

/// Weight and bias DequantizeLinear nodes for layer `l` (input scale sIn).
void quantizeLayer(ir::Graph &g, ir::NodeId id, const LayerWeights &l, int bits,
                   double sIn, bool powerOfTwo) {
  const std::string base = g.node(id).name.empty() ? "layer" : g.node(id).name;
  const int64_t perChannel = int64_t(l.w.size()) / l.out;
  const double lim = double(signedHi(bits));
  ir::Shape shape = g.node(id).op == OpKind::Conv
                        ? ir::Shape{l.out, l.inPerGroup, l.kh, l.kw}
                        : ir::Shape{l.out, l.inPerGroup};
  ir::Tensor w(ir::DType::Int8, shape);
  std::vector<double> bias(size_t(l.out), 0.0);
  const ir::ValueId oldBias = g.node(id).input(2);
  if (oldBias != ir::kNoValue && g.value(oldBias).constant) {
    const std::vector<float> b = g.value(oldBias).constant->toFloats();
    bias.assign(b.begin(), b.end());
  }
  std::vector<float> scales;
  for (int64_t c = 0; c < l.out; ++c) {
    double m = 0;
    for (int64_t i = 0; i < perChannel; ++i)
      m = std::max(m, double(std::fabs(l.w[c * perChannel + i])));
    float s = m > 0 ? float(m / lim) : 1.f;
    if (powerOfTwo)
      s = float(quant::nearestPowerOfTwo(s));
    s = float(
        quant::biasFittingWeightScale(s, bias[size_t(c)], sIn, powerOfTwo));
    scales.push_back(s);
    for (int64_t i = 0; i < perChannel; ++i)
      w.data<int8_t>()[c * perChannel + i] = int8_t(std::max(
          -lim,
          std::min(lim, double(std::round(l.w[c * perChannel + i] / s)))));
  }
  const quant::QdqLayerInputs in =
      quant::emitLayerConstants(g, base, std::move(w), bits, scales, bias, sIn);
  ir::Node &n = g.node(id);
  n.inputs.resize(3, ir::kNoValue);
  n.inputs[1] = in.weight;
  n.inputs[2] = in.bias;
  if (n.op == OpKind::Gemm)
    n.attrs.set("transB", int64_t{1});
}

/// [Clip →] QuantizeLinear → DequantizeLinear after point `p`; every other
/// use of the value (graph outputs too) reads the dequantized value.
ir::ValueId insertPoint(ir::Graph &g, const ptq::Point &p) {
  const ir::ValueId v = p.value;
  const std::vector<ir::NodeId> users = g.users(v);
  const quant::QdqPoint q =
      quant::emitQuantPoint(g, v, p.bits, p.isSigned, float(p.scale), p.clip);
  for (ir::NodeId u : users)
    for (ir::ValueId &in : g.node(u).inputs)
      if (in == v)
        in = q.dequantized;
  for (ir::ValueId &out : g.outputs)
    if (out == v)
      out = q.dequantized;
  return q.quantized;
}

} // namespace

Expected<bool> runQuantize(CompileState &state, const CompileContext &context) {
  ir::Graph &g = state.graph;
  if (isQuantized(g))
    return false;
  if (!context.calibration)
    return makeError(
        context.modelPath.empty() ? std::string("the model")
                                  : context.modelPath,
        " is a float model: either compress it with `marsc train` "
        "(quantization-aware, group-sparse) and compile the model it writes, "
        "or quantize it here with --calib DATA (fashion-mnist, cifar10:DIR, "
        "x.npy or random) and optionally --prune S");
  MARS_TRY(quant::checkChipOps(g));
  const CompileOptions &o = context.options;
  auto plan = ptq::planPoints(g, o.weightBits, o.activationBits, o.edgeBits);
  if (!plan)
    return plan.error();

  // 1. Pruning, on the float weights (inner layers only).
  std::vector<LayerWeights> weights;
  for (size_t i = 0; i < plan->layers.size(); ++i) {
    auto w = weightsOf(g, g.node(plan->layers[i].node));
    if (!w)
      return w.error();
    if (o.prune > 0 && i > 0 && i + 1 < plan->layers.size() &&
        quant::prunableWeights(w->inPerGroup, w->kh, w->kw))
      state.count("quantize", "pruned CIM groups",
                  pruneGroups(*w, context.arch, plan->layers[i].bits, o.prune));
    weights.push_back(w.take());
  }
  // Calibrate on the pruned float model: write the pruned weights back.
  for (size_t i = 0; i < plan->layers.size(); ++i) {
    ir::Node &n = g.node(plan->layers[i].node);
    const LayerWeights &l = weights[i];
    ir::Shape shape = n.op == OpKind::Conv
                          ? ir::Shape{l.out, l.inPerGroup, l.kh, l.kw}
                          : ir::Shape{l.out, l.inPerGroup};
    n.inputs[1] = g.addInitializer(g.uniqueValueName(n.name + ".weight_pruned"),
                                   ir::Tensor::fromFloats(shape, l.w));
    if (n.op == OpKind::Gemm)
      n.attrs.set("transB", int64_t{1});
  }

  // 2. Activation ranges.
  MARS_TRY(calibrate(g, *plan, *context.calibration, o));
  ptq::assignScales(*plan, o.powerOfTwoScales);
  // The QDQ file then says so: every reader lowers it with exact shifts.
  if (o.powerOfTwoScales)
    g.metadata[quant::kPowerOfTwoScalesKey] = "1";
  state.count("quantize", "calibration images", context.calibration->count);

  // 3. Rewrite.
  for (size_t i = 0; i < plan->layers.size(); ++i) {
    const ptq::Layer &l = plan->layers[i];
    quantizeLayer(g, l.node, weights[i], l.bits,
                  plan->points[l.inputPoint].scale, o.powerOfTwoScales);
  }
  // By name: removing dead code renumbers values.
  std::vector<std::pair<std::string, const ptq::Point *>> stamped;
  for (const ptq::Point &p : plan->points)
    stamped.emplace_back(g.value(insertPoint(g, p)).name, &p);
  g.removeDeadCode();
  MARS_TRY(g.topoSort());
  MARS_TRY(ir::inferShapes(g));
  for (auto &[name, p] : stamped) {
    std::optional<ir::ValueId> q = g.findValue(name);
    MARS_CHECK(q.has_value(), "quantized values are used");
    quant::stampQuant(g, *q, p->bits, float(p->scale));
  }
  state.count("quantize", "quantized layers", int64_t(plan->layers.size()));
  state.count("quantize", "quantization points", int64_t(plan->points.size()));
  return true;
}

} // namespace mars::passes
