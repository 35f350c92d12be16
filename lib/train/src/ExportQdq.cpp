#include "ExportQdq.h"

#include "FakeQuant.h"
#include "mars/ir/ShapeInference.h"
#include "mars/ir/Verifier.h"
#include "mars/quant/Lower.h"
#include "mars/quant/Policy.h"
#include "mars/quant/QdqEmit.h"
#include "mars/support/IntRange.h"

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
  explicit Exporter(const GraphModule &m) : module_(m), src_(m.graph()) {
    map_.assign(src_.numValues(), ir::kNoValue);
  }

  Expected<ir::Graph> run() {
    torch::NoGradGuard noGrad;
    out_.name = src_.name.empty() ? "compressed" : src_.name + "_compressed";
    // Readers must lower this file with power-of-two multipliers too.
    if (module_.powerOfTwo())
      out_.metadata[quant::kPowerOfTwoScalesKey] = "1";
    // The ADC the weights were trained through ("exact" unless a saturating
    // one was in the loop): marsc compile and run compare it with theirs.
    out_.metadata[quant::kTrainedAdcKey] = module_.adc().describe();
    ValueId in = src_.inputs[0];
    ir::TensorType inType = src_.value(in).type;
    inType.shape[0] = 1;
    ValueId x = out_.addValue(src_.value(in).name, inType);
    out_.inputs.push_back(x);
    // Without normalisation the input itself is quantization point 0; with
    // it, the point follows the Sub/Mul nodes, copied below.
    map_[in] = module_.pointOf(in) == 0 ? quantize(x, 0, /*clip=*/false) : x;

    for (NodeId id = 0; id < NodeId(src_.numNodes()); ++id) {
      if (module_.skipped(id))
        continue;
      const ir::Node &n = src_.node(id);
      int layer = module_.layerOf(id);
      ValueId produced;
      ValueId srcOut;
      if (layer >= 0) {
        srcOut = module_.layers()[layer].outValue;
        produced = emitLayer(module_.layers()[layer], n);
      } else {
        srcOut = n.outputs[0];
        produced = emitCopy(n);
      }
      int point = module_.pointOf(srcOut);
      map_[srcOut] =
          point >= 0 ? quantize(produced, point, /*clip=*/true) : produced;
    }
    out_.outputs.push_back(map_[module_.logitsValue()]);
    MARS_TRY(out_.topoSort());
    MARS_TRY(ir::inferShapes(out_));
    for (const auto &[v, bitsAndScale] : quantOf_)
      quant::stampQuant(out_, v, bitsAndScale.first, bitsAndScale.second);
    MARS_TRY(ir::verifyStatus(out_));
    return std::move(out_);
  }

private:
  std::string fresh(const std::string &base) {
    return out_.uniqueValueName(base);
  }

  ValueId newValue(const std::string &base) {
    return out_.addValue(fresh(base), ir::TensorType{});
  }

  /// [Clip →] QuantizeLinear → DequantizeLinear for point `p`.
  ValueId quantize(ValueId v, int p, bool clip) {
    const QuantPoint &qp = module_.quantPoints()[p];
    const float scale = module_.pointScale(p).item<float>();
    const quant::QdqPoint q = quant::emitQuantPoint(
        out_, v, qp.bits, qp.isSigned, scale, clip && qp.tiedTo < 0);
    quantOf_[q.quantized] = {qp.bits, scale};
    return q.dequantized;
  }

  /// The layer's weight scales, each widened where its bias would overflow
  /// the accumulator at s_w × s_in: the policy PTQ's quantize applies
  /// (lib/quant Policy.h). Unchanged (the same tensor) in the usual case
  /// where every bias fits, so the export stays bit for bit what the
  /// fake-quantized forward computes.
  torch::Tensor biasFittingScales(const torch::Tensor &s,
                                  const std::vector<double> &bias,
                                  double inScale) const {
    torch::Tensor wide = s.to(torch::kFloat64).contiguous().clone();
    double *v = wide.data_ptr<double>();
    bool widened = false;
    for (int64_t c = 0; c < wide.numel(); ++c) {
      const double fit = quant::biasFittingWeightScale(
          v[c], bias[size_t(c)], inScale, module_.powerOfTwo());
      widened = widened || fit != v[c];
      v[c] = fit;
    }
    return widened ? wide.to(s.scalar_type()) : s;
  }

  ValueId emitLayer(const WeightedLayer &l, const ir::Node &n) {
    const int inPoint = module_.sourcePointOf(n.inputs[0]);
    MARS_CHECK(inPoint >= 0, "checked when the module was built");
    const double inScale = module_.pointScale(inPoint).item<float>();
    torch::Tensor wf = module_.effectiveWeight(l, /*folded=*/true).detach();
    torch::Tensor bf =
        module_.foldedBias(l).detach().to(torch::kFloat64).contiguous();
    const std::vector<double> bias(bf.data_ptr<double>(),
                                   bf.data_ptr<double>() + wf.size(0));
    torch::Tensor s = biasFittingScales(
        weightScales(wf, l.bits, module_.powerOfTwo()), bias, inScale);
    std::vector<int64_t> view(wf.dim(), 1);
    view[0] = wf.size(0);
    const double lim = double(signedHi(l.bits));
    torch::Tensor wInt =
        torch::clamp(torch::round(wf / s.view(view)), -lim, lim)
            .to(torch::kInt8)
            .contiguous();
    const int64_t out = wf.size(0);
    ir::Tensor w(DType::Int8, ir::Shape(wf.sizes().begin(), wf.sizes().end()));
    std::memcpy(w.bytes().data(), wInt.data_ptr<int8_t>(), w.byteSize());
    torch::Tensor sFloat = s.to(torch::kFloat32).contiguous();
    const std::vector<float> scales(sFloat.data_ptr<float>(),
                                    sFloat.data_ptr<float>() + out);
    const std::string base = n.name.empty() ? "layer" : n.name;
    const quant::QdqLayerInputs in = quant::emitLayerConstants(
        out_, base, std::move(w), l.bits, scales, bias, inScale);

    ValueId y = newValue(base + ".out");
    ir::AttributeMap attrs;
    if (l.isConv) {
      attrs = n.attrs;
      attrs.set("kernel_shape", std::vector<int64_t>{wf.size(2), wf.size(3)});
      out_.addNode(OpKind::Conv, n.name,
                   {map_[n.inputs[0]], in.weight, in.bias}, {y}, attrs);
    } else {
      attrs.set("transB", int64_t{1});
      out_.addNode(OpKind::Gemm, n.name,
                   {map_[n.inputs[0]], in.weight, in.bias}, {y}, attrs);
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

  const GraphModule &module_;
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
