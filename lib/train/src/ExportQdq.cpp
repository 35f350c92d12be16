#include "ExportQdq.h"

#include "FakeQuant.h"
#include "mars/ir/ShapeInference.h"
#include "mars/ir/Verifier.h"
#include "mars/quant/Lower.h"

#include <cmath>
#include <cstring>

namespace mars::train {

using ir::DType;
using ir::NodeId;
using ir::OpKind;
using ir::ValueId;

namespace {

class Exporter {
public:
  explicit Exporter(const GraphModule &m) : m_(m), src_(m.graph()) {
    map_.assign(src_.numValues(), ir::kNoValue);
  }

  Expected<ir::Graph> run() {
    torch::NoGradGuard noGrad;
    out_.name = src_.name.empty() ? "compressed" : src_.name + "_compressed";
    // Readers must lower this file with power-of-two multipliers too.
    if (m_.powerOfTwo())
      out_.metadata[quant::kPowerOfTwoScalesKey] = "1";
    // The ADC the weights were trained through ("exact" unless a saturating
    // one was in the loop): marsc compile and run compare it with theirs.
    out_.metadata[quant::kTrainedAdcKey] = m_.adc().describe();
    ValueId in = src_.inputs[0];
    ir::TensorType inType = src_.value(in).type;
    inType.shape[0] = 1;
    ValueId x = out_.addValue(src_.value(in).name, inType);
    out_.inputs.push_back(x);
    // Without normalisation the input itself is quantization point 0; with
    // it, the point follows the Sub/Mul nodes, copied below.
    map_[in] = m_.pointOf(in) == 0 ? quantize(x, 0, /*clip=*/false) : x;

    for (NodeId id = 0; id < NodeId(src_.numNodes()); ++id) {
      if (m_.skipped(id))
        continue;
      const ir::Node &n = src_.node(id);
      int layer = m_.layerOf(id);
      ValueId produced;
      ValueId srcOut;
      if (layer >= 0) {
        srcOut = m_.layers()[layer].outValue;
        produced = emitLayer(m_.layers()[layer], n);
      } else {
        srcOut = n.outputs[0];
        produced = emitCopy(n);
      }
      int point = m_.pointOf(srcOut);
      map_[srcOut] =
          point >= 0 ? quantize(produced, point, /*clip=*/true) : produced;
    }
    out_.outputs.push_back(map_[m_.logitsValue()]);
    MARS_TRY(out_.topoSort());
    MARS_TRY(ir::inferShapes(out_));
    for (const auto &[v, bitsAndScale] : quantOf_) {
      ir::QuantParams q;
      q.bits = bitsAndScale.first;
      q.scales = {bitsAndScale.second};
      q.zeroPoints = {0};
      out_.value(v).type.quant = q;
    }
    MARS_TRY(ir::verifyStatus(out_));
    return std::move(out_);
  }

private:
  std::string fresh(const std::string &base) {
    return out_.uniqueValueName(base);
  }

  ValueId scalarFloat(const std::string &name, float v) {
    ir::Tensor t(DType::Float32, {});
    t.data<float>()[0] = v;
    return out_.addInitializer(fresh(name), t);
  }

  ValueId newValue(const std::string &base) {
    return out_.addValue(fresh(base), ir::TensorType{});
  }

  /// [Clip →] QuantizeLinear → DequantizeLinear for point `p`.
  ValueId quantize(ValueId v, int p, bool clip) {
    const QuantPoint &qp = m_.quantPoints()[p];
    const float scale = m_.pointScale(p).item<float>();
    const int qmax = qp.isSigned ? (1 << (qp.bits - 1)) - 1 : (1 << qp.bits) - 1;
    const std::string base = out_.value(v).name;
    if (clip && qp.tiedTo < 0) {
      ValueId lo = scalarFloat(base + ".clip_lo", qp.isSigned ? -scale * qmax : 0.f);
      ValueId hi = scalarFloat(base + ".clip_hi", scale * qmax);
      ValueId clipped = newValue(base + ".clipped");
      out_.addNode(OpKind::Clip, base + ".clip", {v, lo, hi}, {clipped});
      v = clipped;
    }
    ValueId s = scalarFloat(base + ".scale", scale);
    ir::Tensor zpTensor(qp.isSigned ? DType::Int8 : DType::UInt8, {});
    ValueId zp = out_.addInitializer(fresh(base + ".zero_point"), zpTensor);
    ValueId q = out_.addValue(fresh(base + ".q"), ir::TensorType{});
    out_.addNode(OpKind::QuantizeLinear, base + ".quantize", {v, s, zp}, {q});
    quantOf_[q] = {qp.bits, scale};
    ValueId dq = newValue(base + ".dq");
    out_.addNode(OpKind::DequantizeLinear, base + ".dequantize", {q, s, zp},
                 {dq});
    return dq;
  }

  ValueId emitLayer(const WeightedLayer &l, const ir::Node &n) {
    const int inPoint = m_.sourcePointOf(n.inputs[0]);
    MARS_CHECK(inPoint >= 0, "checked when the module was built");
    const double inScale = m_.pointScale(inPoint).item<float>();
    torch::Tensor wf = m_.effectiveWeight(l, /*folded=*/true).detach();
    torch::Tensor s = weightScales(wf, l.bits, m_.powerOfTwo());
    std::vector<int64_t> view(wf.dim(), 1);
    view[0] = wf.size(0);
    const double lim = double((1 << (l.bits - 1)) - 1);
    torch::Tensor wInt =
        torch::clamp(torch::round(wf / s.view(view)), -lim, lim)
            .to(torch::kInt8)
            .contiguous();
    const int64_t out = wf.size(0);

    // Weights: int8 constant carrying its bit width, DequantizeLinear on axis 0.
    ir::Shape wShape(wf.sizes().begin(), wf.sizes().end());
    ir::Tensor w(DType::Int8, wShape);
    std::memcpy(w.bytes().data(), wInt.data_ptr<int8_t>(), w.byteSize());
    ir::QuantParams wq;
    wq.bits = l.bits;
    wq.axis = 0;
    torch::Tensor sFloat = s.to(torch::kFloat32).contiguous();
    wq.scales.assign(sFloat.data_ptr<float>(), sFloat.data_ptr<float>() + out);
    wq.zeroPoints.assign(static_cast<size_t>(out), 0);
    w.type().quant = wq;
    const std::string base = n.name.empty() ? "layer" : n.name;
    ValueId wv = out_.addInitializer(fresh(base + ".weight_int"), w);
    ValueId ws = out_.addInitializer(
        fresh(base + ".weight_scale"),
        ir::Tensor::fromFloats({out}, wq.scales));
    ValueId wzp = out_.addInitializer(fresh(base + ".weight_zero_point"),
                                      ir::Tensor(DType::Int8, {out}));
    ValueId wdq = newValue(base + ".weight");
    ir::AttributeMap axis0;
    axis0.set("axis", int64_t{0});
    out_.addNode(OpKind::DequantizeLinear, base + ".weight_dequantize",
                 {wv, ws, wzp}, {wdq}, axis0);

    // Bias at the accumulator scale s_w × s_in, as int32.
    torch::Tensor bf = m_.foldedBias(l).detach().to(torch::kFloat64);
    ir::Tensor b(DType::Int32, {out});
    std::vector<float> bScales(static_cast<size_t>(out));
    for (int64_t c = 0; c < out; ++c) {
      bScales[c] = float(double(wq.scales[c]) * inScale);
      double q = std::round(bf[c].item<double>() / double(bScales[c]));
      q = std::max(-2147483647.0, std::min(2147483647.0, q));
      b.data<int32_t>()[c] = int32_t(q);
    }
    ValueId bv = out_.addInitializer(fresh(base + ".bias_int"), b);
    ValueId bs = out_.addInitializer(fresh(base + ".bias_scale"),
                                     ir::Tensor::fromFloats({out}, bScales));
    ValueId bzp = out_.addInitializer(fresh(base + ".bias_zero_point"),
                                      ir::Tensor(DType::Int32, {out}));
    ValueId bdq = newValue(base + ".bias");
    out_.addNode(OpKind::DequantizeLinear, base + ".bias_dequantize",
                 {bv, bs, bzp}, {bdq}, axis0);

    ValueId y = newValue(base + ".out");
    ir::AttributeMap attrs;
    if (l.isConv) {
      attrs = n.attrs;
      attrs.set("kernel_shape", std::vector<int64_t>{wf.size(2), wf.size(3)});
      out_.addNode(OpKind::Conv, n.name, {map_[n.inputs[0]], wdq, bdq}, {y},
                   attrs);
    } else {
      attrs.set("transB", int64_t{1});
      out_.addNode(OpKind::Gemm, n.name, {map_[n.inputs[0]], wdq, bdq}, {y},
                   attrs);
    }
    return y;
  }

  ValueId emitCopy(const ir::Node &n) {
    std::vector<ValueId> inputs;
    for (ValueId v : n.inputs) {
      if (v == ir::kNoValue) {
        inputs.push_back(v);
        continue;
      }
      if (map_[v] == ir::kNoValue && src_.value(v).constant) {
        ir::Tensor c = *src_.value(v).constant;
        if (n.op == OpKind::Reshape && v == n.input(1)) {
          // The batch dimension becomes 1 with the rest of the model.
          c.data<int64_t>()[0] = 1;
        }
        map_[v] = out_.addInitializer(fresh(src_.value(v).name), c);
      }
      inputs.push_back(map_[v]);
    }
    std::vector<ValueId> outputs;
    ValueId first = newValue(src_.value(n.outputs[0]).name);
    outputs.push_back(first);
    ir::AttributeMap attrs = n.attrs;
    out_.addNode(n.op, n.name, inputs, outputs, attrs);
    return first;
  }

  const GraphModule &m_;
  const ir::Graph &src_;
  ir::Graph out_;
  std::vector<ValueId> map_;
  /// QuantizeLinear outputs and their (bits, scale), stamped on the value
  /// types after shape inference.
  std::map<ValueId, std::pair<int, float>> quantOf_;
};

} // namespace

Expected<ir::Graph> exportCompressed(const GraphModule &module) {
  Exporter e(module);
  return e.run();
}

} // namespace mars::train
