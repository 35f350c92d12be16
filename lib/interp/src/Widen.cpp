/// \file
/// Precision::Float64: the same graph with its float32 tensors held as
/// doubles. The kernels are templates over float and double, so nothing else
/// changes; the widened graph exists only inside the interpreter's callers
/// (no model file or program holds float64).
///
/// One part stays float32: the preprocessing of a graph input before its
/// QuantizeLinear (the nodes no DequantizeLinear feeds whose results reach a
/// QuantizeLinear). The integer contract defines the input's quantization
/// on float32 values (`round_half_even(float32(x') / float32(s))`, x' the
/// float32 normalisation), as the host that feeds the chip computes it.

#include "mars/interp/Interpreter.h"

#include <map>

namespace mars::interp {

namespace {

/// Nodes that stay float32: no input derived from a DequantizeLinear, and
/// some output that reaches a QuantizeLinear through such nodes.
std::vector<bool> preprocessingNodes(const ir::Graph &g) {
  const auto &nodes = g.nodes();
  std::vector<bool> fromDq(g.numValues(), false), candidate(nodes.size());
  for (size_t n = 0; n < nodes.size(); ++n) {
    bool derived = nodes[n].op == ir::OpKind::DequantizeLinear;
    for (ir::ValueId in : nodes[n].inputs)
      derived = derived || (in != ir::kNoValue && fromDq[size_t(in)]);
    candidate[n] = !derived;
    for (ir::ValueId out : nodes[n].outputs)
      if (out != ir::kNoValue)
        fromDq[size_t(out)] = derived;
  }
  // Backwards from every QuantizeLinear whose input is not DQ-derived.
  std::vector<bool> feedsQuantize(g.numValues(), false), keep(nodes.size());
  for (size_t n = nodes.size(); n-- > 0;) {
    if (!candidate[n])
      continue;
    bool feeds = nodes[n].op == ir::OpKind::QuantizeLinear;
    for (ir::ValueId out : nodes[n].outputs)
      feeds = feeds || (out != ir::kNoValue && feedsQuantize[size_t(out)]);
    keep[n] = feeds;
    if (feeds)
      for (ir::ValueId in : nodes[n].inputs)
        if (in != ir::kNoValue)
          feedsQuantize[size_t(in)] = true;
  }
  return keep;
}

} // namespace

const char *precisionName(Precision precision) {
  return precision == Precision::Float64 ? "f64" : "f32";
}

ir::Tensor widenedToFloat64(const ir::Tensor &tensor) {
  if (tensor.dtype() != ir::DType::Float32)
    return tensor;
  ir::TensorType type = tensor.type();
  type.dtype = ir::DType::Float64;
  ir::Tensor wide(std::move(type));
  const float *src = tensor.data<float>();
  double *dst = wide.data<double>();
  for (int64_t i = 0, n = tensor.numElements(); i < n; ++i)
    dst[i] = src[i]; // exact: every float is a double
  return wide;
}

Expected<ir::Graph> widenedToFloat64(const ir::Graph &graph) {
  ir::Graph wide = graph;
  const std::vector<bool> narrowNode = preprocessingNodes(graph);
  const size_t originalValues = graph.numValues();
  // A value is float32 when a kept node makes it or it is a graph input
  // only kept nodes read; everything else float32 becomes float64.
  std::vector<bool> narrow(originalValues, false);
  for (size_t n = 0; n < graph.numNodes(); ++n)
    if (narrowNode[n])
      for (ir::ValueId out : graph.nodes()[n].outputs)
        if (out != ir::kNoValue)
          narrow[size_t(out)] = true;
  for (ir::ValueId in : graph.inputs) {
    const std::vector<ir::NodeId> users = graph.users(in);
    bool allKept = !users.empty();
    for (ir::NodeId u : users)
      allKept = allKept && narrowNode[size_t(u)];
    narrow[size_t(in)] = allKept;
  }
  // Constants: kept nodes read the float32 original, the others a float64
  // copy (one per constant).
  std::map<ir::ValueId, ir::ValueId> wideCopy;
  for (size_t n = 0; n < wide.numNodes(); ++n) {
    for (size_t i = 0; i < wide.node(ir::NodeId(n)).inputs.size(); ++i) {
      const ir::ValueId in = wide.node(ir::NodeId(n)).inputs[i];
      if (in == ir::kNoValue || size_t(in) >= originalValues)
        continue;
      const ir::Value &v = wide.value(in);
      if (v.type.dtype != ir::DType::Float32)
        continue;
      if (narrowNode[n] != narrow[size_t(in)] && !v.isConstant())
        return makeError("float64 evaluation: value '", v.name,
                         "' is read both in the float32 input "
                         "preprocessing and after quantization")
            .withContext(ir::nodeContext(wide.node(ir::NodeId(n))));
      if (narrowNode[n] || !v.isConstant())
        continue;
      auto [it, added] = wideCopy.try_emplace(in, ir::kNoValue);
      if (added) {
        ir::Tensor copy = widenedToFloat64(*v.constant);
        it->second =
            wide.addInitializer(wide.uniqueValueName(v.name + ".f64"), copy);
      }
      wide.node(ir::NodeId(n)).inputs[i] = it->second;
    }
  }
  for (size_t id = 0; id < originalValues; ++id) {
    ir::Value &v = wide.value(ir::ValueId(id));
    if (v.type.dtype == ir::DType::Float32 && !v.isConstant() && !narrow[id])
      v.type.dtype = ir::DType::Float64;
  }
  return wide;
}

std::vector<ir::Tensor> inputsFor(const ir::Graph &graph,
                                  const std::vector<ir::Tensor> &inputs) {
  std::vector<ir::Tensor> matched;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const bool wide =
        i < graph.inputs.size() &&
        graph.value(graph.inputs[i]).type.dtype == ir::DType::Float64;
    matched.push_back(wide ? widenedToFloat64(inputs[i]) : inputs[i]);
  }
  return matched;
}

Expected<std::vector<ir::Tensor>> run(const ir::Graph &graph,
                                      const std::vector<ir::Tensor> &inputs,
                                      Precision precision) {
  if (precision == Precision::Float32)
    return run(graph, inputs);
  Expected<ir::Graph> wide = widenedToFloat64(graph);
  if (!wide)
    return wide.error();
  return run(*wide, inputsFor(*wide, inputs));
}

} // namespace mars::interp
