#include "mars/quant/QdqEmit.h"

#include "mars/support/IntRange.h"

#include <algorithm>
#include <cmath>

namespace mars::quant {

namespace {

ir::ValueId constant(ir::Graph &g, const std::string &name, ir::Tensor t) {
  return g.addInitializer(g.uniqueValueName(name), std::move(t));
}

ir::ValueId fresh(ir::Graph &g, const std::string &name) {
  return g.addValue(g.uniqueValueName(name), ir::TensorType{});
}

} // namespace

QdqPoint emitQuantPoint(ir::Graph &g, ir::ValueId v, int bits, bool isSigned,
                        float scale, bool clip) {
  const std::string base = g.value(v).name;
  const int64_t qmax = intHi(bits, isSigned);
  ir::ValueId x = v;
  if (clip) {
    const ir::ValueId lo = constant(
        g, base + ".clip_lo",
        ir::Tensor::fromFloats({}, {isSigned ? -scale * float(qmax) : 0.f}));
    const ir::ValueId hi =
        constant(g, base + ".clip_hi",
                 ir::Tensor::fromFloats({}, {scale * float(qmax)}));
    x = fresh(g, base + ".clipped");
    g.addNode(ir::OpKind::Clip, base + ".clip", {v, lo, hi}, {x});
  }
  const ir::ValueId s =
      constant(g, base + ".scale", ir::Tensor::fromFloats({}, {scale}));
  const ir::ValueId zp =
      constant(g, base + ".zero_point",
               ir::Tensor(isSigned ? ir::DType::Int8 : ir::DType::UInt8, {}));
  QdqPoint out;
  out.quantized = fresh(g, base + ".q");
  g.addNode(ir::OpKind::QuantizeLinear, base + ".quantize", {x, s, zp},
            {out.quantized});
  out.dequantized = fresh(g, base + ".dq");
  g.addNode(ir::OpKind::DequantizeLinear, base + ".dequantize",
            {out.quantized, s, zp}, {out.dequantized});
  return out;
}

QdqLayerInputs emitLayerConstants(ir::Graph &g, const std::string &base,
                                  ir::Tensor w, int bits,
                                  const std::vector<float> &scales,
                                  const std::vector<double> &bias,
                                  double inputScale) {
  const int64_t out = int64_t(scales.size());
  ir::QuantParams wq;
  wq.bits = bits;
  wq.axis = 0;
  wq.scales = scales;
  wq.zeroPoints.assign(size_t(out), 0);
  w.type().quant = wq;
  // The bias at the accumulator scale s_w × s_in, as int32.
  ir::Tensor b(ir::DType::Int32, {out});
  std::vector<float> biasScales(static_cast<size_t>(out), 0.f);
  for (int64_t c = 0; c < out; ++c) {
    biasScales[size_t(c)] = float(double(scales[size_t(c)]) * inputScale);
    const double q =
        std::round(bias[size_t(c)] / double(biasScales[size_t(c)]));
    b.data<int32_t>()[c] =
        int32_t(std::max(-2147483647.0, std::min(2147483647.0, q)));
  }
  ir::AttributeMap axis0;
  axis0.set("axis", int64_t{0});
  QdqLayerInputs in;
  const ir::ValueId wv = constant(g, base + ".weight_int", std::move(w));
  const ir::ValueId ws = constant(g, base + ".weight_scale",
                                  ir::Tensor::fromFloats({out}, scales));
  const ir::ValueId wz = constant(g, base + ".weight_zero_point",
                                  ir::Tensor(ir::DType::Int8, {out}));
  in.weight = fresh(g, base + ".weight");
  g.addNode(ir::OpKind::DequantizeLinear, base + ".weight_dequantize",
            {wv, ws, wz}, {in.weight}, axis0);
  const ir::ValueId bv = constant(g, base + ".bias_int", b);
  const ir::ValueId bs = constant(g, base + ".bias_scale",
                                  ir::Tensor::fromFloats({out}, biasScales));
  const ir::ValueId bz = constant(g, base + ".bias_zero_point",
                                  ir::Tensor(ir::DType::Int32, {out}));
  in.bias = fresh(g, base + ".bias");
  g.addNode(ir::OpKind::DequantizeLinear, base + ".bias_dequantize",
            {bv, bs, bz}, {in.bias}, axis0);
  return in;
}

void stampQuant(ir::Graph &g, ir::ValueId quantized, int bits, float scale) {
  ir::QuantParams q;
  q.bits = bits;
  q.scales = {scale};
  q.zeroPoints = {0};
  g.value(quantized).type.quant = q;
}

} // namespace mars::quant
