#include "mars/quant/Lower.h"

#include "mars/support/IntRange.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <map>

namespace mars::quant {

namespace {

using ir::Graph;
using ir::Node;
using ir::OpKind;
using ir::ValueId;

/// A real for an error message: "0", "-0.5", "nan", "inf", "1e-300".
std::string formatReal(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

/// What an IR value is, as far as the integer network is concerned.
struct ValueInfo {
  enum Kind {
    Float,
    QuantInt,
    QuantReal,
    Constant,
    Pending,
    InputAffine
  } kind = Float;
  int intValue = -1; ///< QuantInt / QuantReal: the IntValue.
  int pending = -1;  ///< Pending: index into Lowering::pending_.
};

/// A Conv/Gemm, AveragePool or Add whose output is not yet quantized; the
/// QuantizeLinear that follows (or the graph output) completes it.
struct PendingLayer {
  IntLayer layer;
  IntValue shape;                ///< Output shape (quant filled later).
  std::vector<double> accScales; ///< Conv: per-channel real accumulator scale.
  std::vector<double> inputScales; ///< Add: scale of each input.
  double clipMin = -std::numeric_limits<double>::infinity();
  double clipMax = std::numeric_limits<double>::infinity();
};

class Lowering {
public:
  Lowering(const Graph &g, const LowerOptions &o) : graph_(g), options_(o) {
    info_.resize(g.numValues());
    auto pow2 = g.metadata.find(kPowerOfTwoScalesKey);
    if (pow2 != g.metadata.end() && pow2->second == "1")
      options_.powerOfTwoScales = true;
  }

  Expected<IntegerNet> run() {
    net_.name = graph_.name;
    net_.powerOfTwoScales = options_.powerOfTwoScales;
    auto adc = graph_.metadata.find(kTrainedAdcKey);
    if (adc != graph_.metadata.end())
      net_.trainedAdc = adc->second;
    if (graph_.inputs.size() != 1)
      return makeError("an integer model needs exactly one input, got ",
                       graph_.inputs.size());
    if (graph_.outputs.size() != 1)
      return makeError("an integer model needs exactly one output, got ",
                       graph_.outputs.size());
    for (ValueId id : graph_.initializers())
      info_[id].kind = ValueInfo::Constant;
    for (const Node &node : graph_.nodes()) {
      Status s = lowerNode(node);
      if (!s)
        return s.error().withContext(nodeContext(node));
    }
    Status s = finishOutput();
    if (!s)
      return s.error();
    return std::move(net_);
  }

private:
  // ---- helpers -----------------------------------------------------------
  const ValueInfo &info(ValueId id) const { return info_.at(id); }

  Expected<IntValue> shapeOf(ValueId id) const {
    const ir::Shape &s = graph_.value(id).type.shape;
    IntValue v;
    v.name = graph_.value(id).name;
    if (s.size() == 4) {
      v.channels = int(s[1]), v.height = int(s[2]), v.width = int(s[3]);
      return v;
    }
    if (s.size() == 2) {
      v.channels = int(s[1]);
      return v;
    }
    return makeError("value '", v.name, "' has rank ", s.size(),
                     "; integer models use (N, C, H, W) or (N, F)");
  }

  int addValue(IntValue v) {
    net_.values.push_back(std::move(v));
    return int(net_.values.size()) - 1;
  }

  Expected<double> scalarConstant(ValueId id, const char *what) const {
    if (id == ir::kNoValue || !graph_.value(id).constant)
      return makeError(what, " must be a constant");
    const ir::Tensor &t = *graph_.value(id).constant;
    if (t.numElements() != 1)
      return makeError(what, " must be a single value (per-tensor)");
    return t.getAsDouble(0);
  }

  /// A quantization scale from the file: only positive, finite scales have
  /// a requantization multiplier (0, negative, NaN and infinite ones would
  /// reach quantizeMultiplier's internal check).
  static Status checkScale(double scale, const std::string &what) {
    if (scale > 0 && std::isfinite(scale))
      return Status::success();
    return makeError(what, " must be positive and finite, got ",
                     formatReal(scale));
  }

  /// Quantization of a QuantizeLinear output: scale, zero point 0, signedness
  /// from the zero point's dtype, bits from the value's QuantParams.
  Expected<ActQuant> quantOfQ(const Node &q) const {
    auto scale = scalarConstant(q.input(1), "the activation scale");
    if (!scale)
      return scale.error();
    MARS_TRY(checkScale(*scale, "the activation scale"));
    ActQuant a;
    a.scale = *scale;
    if (q.input(2) != ir::kNoValue) {
      auto zp = scalarConstant(q.input(2), "the zero point");
      if (!zp)
        return zp.error();
      if (*zp != 0)
        return makeError("zero point ", static_cast<int64_t>(*zp),
                         " is not supported: integer models use zero point 0");
    }
    const ir::TensorType &t = graph_.value(q.outputs[0]).type;
    a.isSigned = t.dtype == ir::DType::Int8;
    a.bits = t.quant ? t.quant->bits : 8;
    if (a.bits < 2 || a.bits > 8)
      return makeError("activation bits must be 2..8, got ", a.bits);
    return a;
  }

  /// A DequantizeLinear of an integer constant: values and per-index scales
  /// along `axis` (size `count`).
  struct ConstQuant {
    const ir::Tensor *values = nullptr; ///< The graph's constant (not copied).
    std::vector<double> scales;         ///< One per output channel.
    int axis = -1; ///< Per-axis scales: their axis; else -1.
    int bits = 8;
    ir::Shape shape;
  };
  std::map<ValueId, ConstQuant> consts_;

  Status lowerDequantizeConstant(const Node &dq) {
    const ir::Value &src = graph_.value(dq.inputs[0]);
    const ir::DType dtype = src.constant->dtype();
    if (dtype != ir::DType::Int8 && dtype != ir::DType::UInt8 &&
        dtype != ir::DType::Int32)
      return makeError("the dequantized constant '", src.name, "' is ",
                       ir::dtypeName(dtype),
                       "; integer models store weights as int8 and biases "
                       "as int32");
    ConstQuant c;
    c.values = &*src.constant;
    c.shape = src.type.shape;
    c.bits = src.type.quant ? src.type.quant->bits
                            : (dtype == ir::DType::Int32 ? 32 : 8);
    if (dq.input(1) == ir::kNoValue || !graph_.value(dq.input(1)).constant)
      return makeError("the weight scale must be a constant");
    c.scales.clear();
    const std::vector<float> scales =
        graph_.value(dq.input(1)).constant->toFloats();
    for (size_t i = 0; i < scales.size(); ++i) {
      const std::string what = scales.size() == 1
                                   ? std::string("the scale")
                                   : "scale " + std::to_string(i) + " of " +
                                         std::to_string(scales.size());
      MARS_TRY(checkScale(scales[i], what));
      c.scales.push_back(scales[i]);
    }
    if (c.scales.size() != 1) {
      // Per-axis: ONNX's default axis is 1; the integer contract scales
      // along the output channel (Conv/Gemm axis 0, MatMul/Gemm-transB=0
      // axis 1), which weightOf checks against the layer.
      const int64_t rank = static_cast<int64_t>(c.shape.size());
      int64_t axis = dq.attrs.getInt("axis", 1);
      if (axis < 0)
        axis += rank;
      c.axis = static_cast<int>(axis);
    }
    if (dq.input(2) != ir::kNoValue) {
      for (int64_t zp : graph_.value(dq.input(2)).constant->toInt64s())
        if (zp != 0)
          return makeError("weight zero points must be 0 (symmetric), got ",
                           zp);
    }
    consts_[dq.outputs[0]] = std::move(c);
    info_[dq.outputs[0]].kind = ValueInfo::Constant;
    return Status::success();
  }

  /// The weights of one Conv/Gemm layer, checked and laid out for IntLayer.
  struct LayerWeights {
    std::vector<int8_t> values; ///< [out][rest]
    std::vector<double> scales; ///< One per output channel.
    int bits = 8;
    ir::Shape shape; ///< [out, rest...]
  };

  /// Weights of a Conv/Gemm as [out][rest] with per-out-channel scales.
  Expected<LayerWeights> weightOf(ValueId id, bool transposed) {
    auto it = consts_.find(id);
    if (it == consts_.end())
      return makeError("weights '", graph_.value(id).name,
                       "' are not a DequantizeLinear of an integer constant");
    const ConstQuant &c = it->second;
    if (c.shape.size() < 2)
      return makeError("weights '", graph_.value(id).name, "' have rank ",
                       c.shape.size(), "; Conv/Gemm weights have rank 2 or 4");
    const int outAxis = transposed ? 1 : 0;
    if (c.axis >= 0 && c.axis != outAxis)
      return makeError("weights '", graph_.value(id).name,
                       "' are scaled along axis ", c.axis,
                       "; integer models scale weights per output channel "
                       "(axis ",
                       outAxis, ")");
    if (c.bits < 2 || c.bits > 8)
      return makeError("weights '", graph_.value(id).name,
                       "' must have 2..8 bits, got ", c.bits);
    LayerWeights w;
    w.bits = c.bits;
    w.scales = c.scales;
    w.shape = c.shape;
    const int64_t outCh = transposed ? c.shape[1] : c.shape[0];
    if (w.scales.size() == 1)
      w.scales.assign(static_cast<size_t>(outCh), w.scales[0]);
    if (static_cast<int64_t>(w.scales.size()) != outCh)
      return makeError("weights '", graph_.value(id).name, "' have ",
                       w.scales.size(), " scales for ", outCh,
                       " output channels");
    // Straight from the graph's int8 (or int32) tensor into the layer's int8
    // weights: a 224×224 ResNet-18 has 11.7 M of them, and a wider copy
    // cost more page faults than the rest of the lowering.
    const int64_t lim = signedHi(c.bits);
    const auto n = static_cast<size_t>(c.values->numElements());
    const int64_t in = transposed ? c.shape[0] : 0;
    w.values.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const int64_t v = c.values->getAsInt64(static_cast<int64_t>(i));
      if (v < -lim - 1 || v > lim)
        return makeError("weight ", v, " of '", graph_.value(id).name,
                         "' does not fit in ", c.bits, " bits");
      // Transposed ([in, out] -> [out, in]): element (i / out, i % out).
      const size_t at =
          transposed ? size_t((int64_t(i) % outCh) * in + int64_t(i) / outCh)
                     : i;
      w.values[at] = static_cast<int8_t>(v);
    }
    if (transposed)
      w.shape = {outCh, in};
    return w;
  }

  Expected<std::vector<int32_t>> biasOf(ValueId id,
                                        const std::vector<double> &accScales) {
    std::vector<int32_t> bias(accScales.size(), 0);
    if (id == ir::kNoValue)
      return bias;
    std::vector<double> real;
    if (auto it = consts_.find(id); it != consts_.end()) {
      const ConstQuant &b = it->second;
      const auto count = static_cast<size_t>(b.values->numElements());
      if (b.scales.size() != 1 && b.scales.size() != count)
        return makeError("bias '", graph_.value(id).name, "' has ",
                         b.scales.size(), " scales for ", count, " values");
      for (size_t c = 0; c < count; ++c)
        real.push_back(double(b.values->getAsInt64(int64_t(c))) *
                       b.scales[b.scales.size() == 1 ? 0 : c]);
    } else if (graph_.value(id).constant) {
      for (float v : graph_.value(id).constant->toFloats())
        real.push_back(v);
    } else {
      return makeError("bias '", graph_.value(id).name, "' must be a constant");
    }
    if (real.size() != accScales.size())
      return makeError("bias has ", real.size(), " values for ",
                       accScales.size(), " channels");
    for (size_t c = 0; c < real.size(); ++c) {
      // Exact when the bias was stored at the accumulator scale (ratio 1).
      double q = double(roundHalfEven(real[c] / accScales[c]));
      if (std::abs(q) > 2147483647.0)
        return makeError("bias ", real[c], " overflows int32 at scale ",
                         accScales[c],
                         " (input scale × weight scale): a weight scale at "
                         "least |bias| / (input scale × 2^30) would fit it");
      bias[c] = int32_t(q);
    }
    return bias;
  }

  Expected<int> quantInput(ValueId id) const {
    const ValueInfo &i = info(id);
    if (i.kind == ValueInfo::QuantReal)
      return i.intValue;
    return makeError("input '", graph_.value(id).name,
                     "' is not quantized: an integer model needs "
                     "QuantizeLinear/DequantizeLinear around every activation");
  }

  // ---- node lowering -----------------------------------------------------
  Status lowerNode(const Node &node) {
    switch (node.op) {
    case OpKind::QuantizeLinear: return lowerQuantize(node);
    case OpKind::DequantizeLinear: return lowerDequantize(node);
    case OpKind::Conv: return lowerConv(node);
    case OpKind::Gemm:
    case OpKind::MatMul: return lowerGemm(node);
    case OpKind::Sub:
    case OpKind::Mul: return lowerInputAffine(node);
    case OpKind::Relu:
    case OpKind::Clip:
      if (info(node.inputs[0]).kind == ValueInfo::InputAffine)
        return lowerInputClip(node);
      return lowerActivation(node);
    case OpKind::MaxPool: return lowerMaxPool(node);
    case OpKind::AveragePool:
    case OpKind::GlobalAveragePool: return lowerAvgPool(node);
    case OpKind::Add: return lowerAdd(node);
    case OpKind::Concat: return lowerConcat(node);
    case OpKind::Flatten:
    case OpKind::Reshape: return lowerReshape(node);
    case OpKind::Identity:
    case OpKind::Dropout:
      info_[node.outputs[0]] = info(node.inputs[0]);
      return Status::success();
    case OpKind::BatchNormalization:
      return makeError("BatchNormalization must be folded into the "
                       "convolution before integer execution (marsc train "
                       "and marsc compile fold it)");
    default: return makeError("not supported in an integer model");
    }
  }

  /// Sub or Mul of the graph input by a constant (per-channel [1, C, 1, 1]
  /// or scalar): input normalisation, done in float before quantization.
  /// Only Sub then Mul (x - mean) * (1 / std) is accepted.
  Status lowerInputAffine(const Node &node) {
    const ValueInfo &in = info(node.inputs[0]);
    const bool fromInput =
        node.inputs[0] == graph_.inputs[0] && in.kind == ValueInfo::Float;
    const bool afterSub = in.kind == ValueInfo::InputAffine &&
                          inputMultiplier_.empty() && node.op == OpKind::Mul;
    if (!(fromInput && node.op == OpKind::Sub) && !afterSub)
      return makeError("Sub/Mul are supported only as the input's "
                       "normalisation (input - mean) * (1/std)");
    const ir::Value &c = graph_.value(node.inputs[1]);
    if (!c.constant)
      return makeError("the normalisation operand must be a constant");
    const ir::Shape &inShape = graph_.value(graph_.inputs[0]).type.shape;
    const int64_t channels = inShape.size() == 4 ? inShape[1] : 1;
    std::vector<float> values = c.constant->toFloats();
    if (values.size() == 1)
      values.assign(static_cast<size_t>(channels), values[0]);
    if (static_cast<int64_t>(values.size()) != channels ||
        (c.type.rank() == 4 && c.type.shape[1] != channels))
      return makeError("the normalisation constant must be a scalar or one "
                       "value per input channel");
    if (node.op == OpKind::Sub) {
      inputOffset_ = values;
      inputMultiplier_.clear();
    } else {
      if (inputOffset_.empty())
        inputOffset_.assign(values.size(), 0.f);
      inputMultiplier_ = values;
    }
    info_[node.outputs[0]].kind = ValueInfo::InputAffine;
    return Status::success();
  }

  Status lowerInputClip(const Node &node) {
    if (inputMultiplier_.empty())
      return makeError("the input normalisation must be (x - mean) * k");
    if (node.op == OpKind::Relu) {
      inputClipLo_ = std::max(inputClipLo_, 0.0);
    } else {
      if (node.input(1) != ir::kNoValue) {
        auto lo = scalarConstant(node.input(1), "Clip's min");
        if (!lo)
          return lo.error();
        inputClipLo_ = std::max(inputClipLo_, *lo);
      }
      if (node.input(2) != ir::kNoValue) {
        auto hi = scalarConstant(node.input(2), "Clip's max");
        if (!hi)
          return hi.error();
        inputClipHi_ = std::min(inputClipHi_, *hi);
      }
    }
    info_[node.outputs[0]].kind = ValueInfo::InputAffine;
    return Status::success();
  }

  Status lowerQuantize(const Node &q) {
    auto quant = quantOfQ(q);
    if (!quant)
      return quant.error();
    const ValueInfo &in = info(q.inputs[0]);
    auto shape = shapeOf(q.outputs[0]);
    if (!shape)
      return shape.error();
    if (in.kind == ValueInfo::Float || in.kind == ValueInfo::InputAffine) {
      bool isGraphInput =
          q.inputs[0] == graph_.inputs[0] || in.kind == ValueInfo::InputAffine;
      if (!isGraphInput || net_.input >= 0)
        return makeError("input '", graph_.value(q.inputs[0]).name,
                         "' is computed in float: only the graph input may "
                         "be quantized from float");
      IntValue v = *shape;
      v.quant = *quant;
      net_.input = addValue(v);
      net_.inputOffset = inputOffset_;
      net_.inputMultiplier = inputMultiplier_;
      // A Sub with no Mul after it: (x - mean) × 1, exactly x - mean.
      if (!inputOffset_.empty() && inputMultiplier_.empty())
        net_.inputMultiplier.assign(inputOffset_.size(), 1.f);
      net_.inputClipLo = inputClipLo_;
      net_.inputClipHi = inputClipHi_;
      setQuantInt(q.outputs[0], net_.input);
      return Status::success();
    }
    if (in.kind == ValueInfo::Pending)
      return finishPending(in.pending, *quant, q.outputs[0]);
    if (in.kind == ValueInfo::QuantReal) {
      const ActQuant &cur = net_.values[in.intValue].quant;
      if (cur.scale == quant->scale && cur.isSigned == quant->isSigned &&
          cur.bits == quant->bits) {
        setQuantInt(q.outputs[0], in.intValue);
        return Status::success();
      }
      // A change of scale: a one-input Add is a rescale.
      PendingLayer p;
      p.layer.op = IntOp::Add;
      p.layer.name = q.name;
      p.layer.inputs = {in.intValue};
      p.shape = *shape;
      p.inputScales = {cur.scale};
      pending_.push_back(p);
      return finishPending(int(pending_.size()) - 1, *quant, q.outputs[0]);
    }
    return makeError("cannot quantize '", graph_.value(q.inputs[0]).name, "'");
  }

  /// Appends `l` with a new output value `v`; the IR value `irOut` is then
  /// that quantized value (dequantized view).
  void emitQuantizedLayer(IntLayer &l, const IntValue &v, ValueId irOut) {
    l.output = addValue(v);
    net_.layers.push_back(l);
    info_[irOut].kind = ValueInfo::QuantReal;
    info_[irOut].intValue = l.output;
    net_.values[l.output].qdqName = graph_.value(irOut).name;
    net_.values[l.output].qdqIsInteger = false;
  }

  /// The IR value `id` (a QuantizeLinear output) holds IntValue `intValue`'s
  /// integers; `marsc verify` reads them there.
  void setQuantInt(ValueId id, int intValue) {
    info_[id].kind = ValueInfo::QuantInt;
    info_[id].intValue = intValue;
    net_.values[intValue].qdqName = graph_.value(id).name;
    net_.values[intValue].qdqIsInteger = true;
  }

  Status lowerDequantize(const Node &dq) {
    const ValueInfo &in = info(dq.inputs[0]);
    if (in.kind == ValueInfo::Constant && graph_.value(dq.inputs[0]).constant)
      return lowerDequantizeConstant(dq);
    if (in.kind != ValueInfo::QuantInt)
      return makeError("input '", graph_.value(dq.inputs[0]).name,
                       "' is not the output of a QuantizeLinear");
    auto scale = scalarConstant(dq.input(1), "the activation scale");
    if (!scale)
      return scale.error();
    if (*scale != net_.values[in.intValue].quant.scale)
      return makeError("scale ", *scale,
                       " differs from its QuantizeLinear's scale ",
                       net_.values[in.intValue].quant.scale);
    info_[dq.outputs[0]].kind = ValueInfo::QuantReal;
    info_[dq.outputs[0]].intValue = in.intValue;
    return Status::success();
  }

  Status lowerConv(const Node &node) {
    auto in = quantInput(node.inputs[0]);
    if (!in)
      return in.error();
    auto w = weightOf(node.inputs[1], /*transposed=*/false);
    if (!w)
      return w.error();
    auto shape = shapeOf(node.outputs[0]);
    if (!shape)
      return shape.error();
    PendingLayer p;
    IntLayer &l = p.layer;
    l.op = IntOp::Conv;
    l.name = node.name;
    l.inputs = {*in};
    auto ks = node.attrs.getInts("kernel_shape", {w->shape[2], w->shape[3]});
    auto st = node.attrs.getInts("strides", {1, 1});
    auto pads = node.attrs.getInts("pads", {0, 0, 0, 0});
    auto dil = node.attrs.getInts("dilations", {1, 1});
    l.kernelH = int(ks[0]), l.kernelW = int(ks[1]);
    l.strideH = int(st[0]), l.strideW = int(st[1]);
    l.padTop = int(pads[0]), l.padLeft = int(pads[1]);
    l.padBottom = int(pads[2]), l.padRight = int(pads[3]);
    l.dilationH = int(dil[0]), l.dilationW = int(dil[1]);
    l.groups = int(node.attrs.getInt("group", 1));
    return addWeightedLayer(node, p, *w, *in, *shape);
  }

  Status lowerGemm(const Node &node) {
    if (node.op == OpKind::Gemm && (node.attrs.getInt("transA", 0) != 0 ||
                                    node.attrs.getFloat("alpha", 1.f) != 1.f ||
                                    node.attrs.getFloat("beta", 1.f) != 1.f))
      return makeError("only Gemm with alpha=1, beta=1, transA=0 is "
                       "supported in an integer model");
    auto in = quantInput(node.inputs[0]);
    if (!in)
      return in.error();
    bool transposed =
        node.op == OpKind::MatMul || node.attrs.getInt("transB", 0) == 0;
    auto w = weightOf(node.inputs[1], transposed);
    if (!w)
      return w.error();
    auto shape = shapeOf(node.outputs[0]);
    if (!shape)
      return shape.error();
    if (net_.values[*in].size() != w->shape[1])
      return makeError("input has ", net_.values[*in].size(),
                       " features, weights expect ", w->shape[1]);
    PendingLayer p;
    p.layer.op = IntOp::Conv; // a 1×1 conv over (features, 1, 1)
    p.layer.name = node.name;
    p.layer.inputs = {*in};
    return addWeightedLayer(node, p, *w, *in, *shape);
  }

  Status addWeightedLayer(const Node &node, PendingLayer &p, LayerWeights &w,
                          int in, const IntValue &shape) {
    const double inScale = net_.values[in].quant.scale;
    IntLayer &l = p.layer;
    l.weightBits = w.bits;
    l.weights = std::move(w.values);
    l.weightScales = w.scales;
    for (double s : w.scales)
      p.accScales.push_back(s * inScale);
    auto bias = biasOf(node.input(2), p.accScales);
    if (!bias)
      return bias.error();
    l.bias = *bias;
    p.shape = shape;
    pending_.push_back(std::move(p));
    info_[node.outputs[0]].kind = ValueInfo::Pending;
    info_[node.outputs[0]].pending = int(pending_.size()) - 1;
    return Status::success();
  }

  Status lowerActivation(const Node &node) {
    const ValueInfo &in = info(node.inputs[0]);
    if (in.kind != ValueInfo::Pending)
      return makeError("Relu/Clip must directly follow a Conv, Gemm or Add "
                       "whose output is then quantized");
    PendingLayer &p = pending_[in.pending];
    if (node.op == OpKind::Relu) {
      p.clipMin = std::max(p.clipMin, 0.0);
    } else {
      if (node.input(1) != ir::kNoValue) {
        auto lo = scalarConstant(node.input(1), "Clip's min");
        if (!lo)
          return lo.error();
        p.clipMin = std::max(p.clipMin, *lo);
      }
      if (node.input(2) != ir::kNoValue) {
        auto hi = scalarConstant(node.input(2), "Clip's max");
        if (!hi)
          return hi.error();
        p.clipMax = std::min(p.clipMax, *hi);
      }
    }
    info_[node.outputs[0]] = in;
    return Status::success();
  }

  Status lowerMaxPool(const Node &node) {
    auto in = quantInput(node.inputs[0]);
    if (!in)
      return in.error();
    auto shape = shapeOf(node.outputs[0]);
    if (!shape)
      return shape.error();
    IntLayer l;
    l.op = IntOp::MaxPool;
    l.name = node.name;
    l.inputs = {*in};
    setPoolGeometry(node, l);
    IntValue v = *shape;
    v.quant = net_.values[*in].quant; // max commutes with a positive scale
    emitQuantizedLayer(l, v, node.outputs[0]);
    return Status::success();
  }

  void setPoolGeometry(const Node &node, IntLayer &l) {
    if (node.op == OpKind::GlobalAveragePool) {
      const IntValue &in = net_.values[l.inputs[0]];
      l.kernelH = in.height, l.kernelW = in.width;
      l.strideH = l.strideW = 1;
      return;
    }
    auto ks = node.attrs.getInts("kernel_shape", {1, 1});
    auto st = node.attrs.getInts("strides", {1, 1});
    auto pads = node.attrs.getInts("pads", {0, 0, 0, 0});
    auto dil = node.attrs.getInts("dilations", {1, 1});
    l.kernelH = int(ks[0]), l.kernelW = int(ks[1]);
    l.strideH = int(st[0]), l.strideW = int(st[1]);
    l.padTop = int(pads[0]), l.padLeft = int(pads[1]);
    l.padBottom = int(pads[2]), l.padRight = int(pads[3]);
    l.dilationH = int(dil[0]), l.dilationW = int(dil[1]);
    l.countIncludePad = node.attrs.getInt("count_include_pad", 0) != 0;
    l.ceilMode = node.attrs.getInt("ceil_mode", 0) != 0;
  }

  Status lowerAvgPool(const Node &node) {
    auto in = quantInput(node.inputs[0]);
    if (!in)
      return in.error();
    auto shape = shapeOf(node.outputs[0]);
    if (!shape)
      return shape.error();
    PendingLayer p;
    p.layer.op = IntOp::AvgPool;
    p.layer.name = node.name;
    p.layer.inputs = {*in};
    setPoolGeometry(node, p.layer);
    p.shape = *shape;
    p.inputScales = {net_.values[*in].quant.scale};
    pending_.push_back(p);
    info_[node.outputs[0]].kind = ValueInfo::Pending;
    info_[node.outputs[0]].pending = int(pending_.size()) - 1;
    return Status::success();
  }

  Status lowerAdd(const Node &node) {
    PendingLayer p;
    p.layer.op = IntOp::Add;
    p.layer.name = node.name;
    for (ValueId id : node.inputs) {
      auto in = quantInput(id);
      if (!in)
        return in.error();
      p.layer.inputs.push_back(*in);
      p.inputScales.push_back(net_.values[*in].quant.scale);
    }
    auto shape = shapeOf(node.outputs[0]);
    if (!shape)
      return shape.error();
    for (int in : p.layer.inputs)
      if (net_.values[in].size() != shape->size())
        return makeError("broadcasting Add is not supported in an integer "
                         "model; both inputs must have the output's shape");
    p.shape = *shape;
    pending_.push_back(p);
    info_[node.outputs[0]].kind = ValueInfo::Pending;
    info_[node.outputs[0]].pending = int(pending_.size()) - 1;
    return Status::success();
  }

  Status lowerConcat(const Node &node) {
    if (node.attrs.getInt("axis", 1) != 1)
      return makeError("only channel Concat (axis 1) is supported");
    IntLayer l;
    l.op = IntOp::Concat;
    l.name = node.name;
    for (ValueId id : node.inputs) {
      auto in = quantInput(id);
      if (!in)
        return in.error();
      l.inputs.push_back(*in);
    }
    const ActQuant &q = net_.values[l.inputs[0]].quant;
    for (int in : l.inputs) {
      const ActQuant &o = net_.values[in].quant;
      if (o.scale != q.scale || o.isSigned != q.isSigned || o.bits != q.bits)
        return makeError("Concat inputs must share one quantization scale");
    }
    auto shape = shapeOf(node.outputs[0]);
    if (!shape)
      return shape.error();
    IntValue v = *shape;
    v.quant = q;
    emitQuantizedLayer(l, v, node.outputs[0]);
    return Status::success();
  }

  Status lowerReshape(const Node &node) {
    auto in = quantInput(node.inputs[0]);
    if (!in)
      return in.error();
    auto shape = shapeOf(node.outputs[0]);
    if (!shape)
      return shape.error();
    if (graph_.value(node.outputs[0]).type.shape[0] !=
        graph_.value(node.inputs[0]).type.shape[0])
      return makeError("reshapes across the batch dimension are not "
                       "supported in an integer model");
    IntLayer l;
    l.op = IntOp::Reshape;
    l.name = node.name;
    l.inputs = {*in};
    IntValue v = *shape;
    v.quant = net_.values[*in].quant;
    emitQuantizedLayer(l, v, node.outputs[0]);
    return Status::success();
  }

  /// A requantization multiplier made of file scales: quantizeMultiplier
  /// represents (0, 2^31) as value × 2^-shift; the scales are each finite
  /// and positive, but their ratio can still overflow or underflow.
  static Status checkMultiplier(double real, const std::string &what) {
    if (real > 0 && real < 2147483648.0)
      return Status::success();
    return makeError("the requantization ", what, " is ", formatReal(real),
                     ", outside the representable range (0, 2^31)");
  }

  /// Completes a pending layer with the output quantization `q`.
  Status finishPending(int index, const ActQuant &q, ValueId irOutput) {
    PendingLayer &p = pending_[index];
    if (p.layer.output >= 0)
      return makeError("a quantized layer output is quantized twice");
    IntLayer &l = p.layer;
    const bool pow2 = options_.powerOfTwoScales;
    if (l.op == IntOp::Conv) {
      for (size_t c = 0; c < p.accScales.size(); ++c) {
        const double ratio = p.accScales[c] / q.scale;
        MARS_TRY(checkMultiplier(ratio, "channel " + std::to_string(c) +
                                            "'s multiplier (weight scale x "
                                            "input scale / output scale)"));
        l.multipliers.push_back(quantizeMultiplier(ratio, pow2));
      }
    } else if (l.op == IntOp::Add) {
      std::vector<double> ratios;
      for (size_t i = 0; i < p.inputScales.size(); ++i) {
        ratios.push_back(p.inputScales[i] / q.scale);
        MARS_TRY(checkMultiplier(ratios.back(),
                                 "input " + std::to_string(i) +
                                     "'s multiplier (input scale / output "
                                     "scale)"));
      }
      l.inputMultipliers = quantizeMultipliersSharingShift(ratios, pow2);
    } else if (l.op == IntOp::AvgPool) {
      // The executor and lower-to-program derive one multiplier per window
      // count n in 1..kH×kW, s_in / (s_out × n): the extremes must be in range.
      const double one = p.inputScales[0] / q.scale;
      const double area = double(l.kernelH) * double(l.kernelW);
      MARS_TRY(checkMultiplier(one, "multiplier (input scale / output "
                                    "scale)"));
      MARS_TRY(checkMultiplier(one / area,
                               "multiplier of a full window (input scale / "
                               "(output scale x window size))"));
    }
    l.clampLo = q.lo();
    l.clampHi = q.hi();
    // Clip then round equals round then clamp at the rounded bounds, since
    // rounding is monotonic.
    if (std::isfinite(p.clipMin))
      l.clampLo =
          std::max<int64_t>(l.clampLo, roundHalfEven(p.clipMin / q.scale));
    if (std::isfinite(p.clipMax))
      l.clampHi =
          std::min<int64_t>(l.clampHi, roundHalfEven(p.clipMax / q.scale));
    if (l.clampLo > l.clampHi)
      return makeError("the clip range is empty after quantization");
    IntValue v = p.shape;
    v.quant = q;
    l.output = addValue(v);
    net_.layers.push_back(l);
    setQuantInt(irOutput, l.output);
    return Status::success();
  }

  Status finishOutput() {
    ValueId out = graph_.outputs[0];
    const ValueInfo &i = info(out);
    if (i.kind == ValueInfo::QuantReal || i.kind == ValueInfo::QuantInt) {
      net_.output = i.intValue;
      return Status::success();
    }
    if (i.kind == ValueInfo::Pending) {
      PendingLayer &p = pending_[i.pending];
      if (p.layer.op != IntOp::Conv)
        return makeError("the graph output '", graph_.value(out).name,
                         "' must be quantized or come from a Conv/Gemm");
      if (std::isfinite(p.clipMin) || std::isfinite(p.clipMax))
        return makeError("a Relu/Clip on the final layer's output needs a "
                         "QuantizeLinear after it");
      IntLayer &l = p.layer;
      l.logitScales = p.accScales;
      IntValue v = p.shape;
      v.isAccumulator = true;
      v.quant.bits = 32;
      v.quant.isSigned = true;
      v.qdqName = graph_.value(out).name; // float: accumulator × logit scale
      l.output = addValue(v);
      net_.layers.push_back(l);
      net_.output = l.output;
      return Status::success();
    }
    return makeError("the graph output '", graph_.value(out).name,
                     "' is computed in float");
  }

  const Graph &graph_;
  LowerOptions options_;
  std::vector<ValueInfo> info_;
  std::vector<PendingLayer> pending_;
  /// The graph input's normalisation (Sub/Mul by per-channel constants, then
  /// Clip) before its QuantizeLinear.
  std::vector<float> inputOffset_, inputMultiplier_;
  double inputClipLo_ = -1e300, inputClipHi_ = 1e300;
  IntegerNet net_;
};

} // namespace

Expected<IntegerNet> lowerToInteger(const ir::Graph &graph,
                                    const LowerOptions &options) {
  Lowering lowering(graph, options);
  auto net = lowering.run();
  if (!net)
    return net.error().withContext("integer lowering");
  return net;
}

} // namespace mars::quant
