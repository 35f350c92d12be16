#include "mars/ir/Verifier.h"

#include <algorithm>
#include <set>

namespace mars::ir {

namespace {

/// Everything a value must satisfy on its own, whoever produces or uses it:
/// a unique name, no negative dimension, a constant that matches its type,
/// quantization parameters that match its shape.
void checkValue(const Value &v, std::set<std::string> &names,
                std::vector<std::string> &errors) {
  if (!names.insert(v.name).second)
    errors.push_back("value '" + v.name + "': name used twice");
  for (int64_t d : v.type.shape)
    if (d < 0)
      errors.push_back("value '" + v.name + "': negative dimension in " +
                       shapeToString(v.type.shape));
  if (v.constant) {
    if (v.constant->type() != v.type)
      errors.push_back("value '" + v.name +
                       "': constant type differs from value type");
    bool shapeOk =
        std::all_of(v.constant->shape().begin(), v.constant->shape().end(),
                    [](int64_t d) { return d >= 0; });
    if (shapeOk && v.constant->byteSize() !=
                       static_cast<size_t>(v.constant->numElements()) *
                           dtypeSize(v.constant->dtype()))
      errors.push_back("value '" + v.name +
                       "': constant data size does not match its shape");
  }
  if (v.type.quant) {
    const QuantParams &q = *v.type.quant;
    size_t expected = 1;
    if (q.perChannel()) {
      if (static_cast<size_t>(q.axis) >= v.type.rank())
        errors.push_back("value '" + v.name + "': quantization axis " +
                         std::to_string(q.axis) + " out of range");
      else
        expected = static_cast<size_t>(v.type.shape[q.axis]);
    }
    if (q.scales.size() != expected || q.zeroPoints.size() != expected)
      errors.push_back("value '" + v.name + "': expected " +
                       std::to_string(expected) +
                       " quantization scales and zero points");
    if (q.bits < 1 || q.bits > 32)
      errors.push_back("value '" + v.name + "': quantization bits " +
                       std::to_string(q.bits) + " out of range");
  }
}

/// The walk over the nodes in order: which values are defined so far (graph
/// inputs and initializers from the start, node outputs as they come), so
/// that a use before its definition, or a second definition, is caught.
class NodeChecker {
public:
  NodeChecker(const Graph &graph, std::vector<std::string> &errors)
      : graph_(graph), errors_(errors), defined_(graph.numValues(), false) {
    for (ValueId id : graph.inputs)
      if (inRange(id))
        defined_[id] = true;
    for (ValueId id : graph.initializers())
      defined_[id] = true;
  }

  bool inRange(ValueId id) const {
    return id >= 0 && static_cast<size_t>(id) < graph_.numValues();
  }
  bool defined(ValueId id) const { return defined_[id]; }

  /// Checks node n against its op's declaration and marks its outputs defined.
  void check(NodeId n) {
    const Node &node = graph_.node(n);
    const OpInfo &info = opInfo(node.op);
    const std::string ctx = nodeContext(node);
    int numIn = static_cast<int>(node.inputs.size());
    int numOut = static_cast<int>(node.outputs.size());
    if (numIn < info.minInputs || numIn > info.maxInputs)
      errors_.push_back(ctx + ": has " + std::to_string(numIn) +
                        " inputs, expected " + std::to_string(info.minInputs) +
                        ".." + std::to_string(info.maxInputs));
    if (numOut < info.minOutputs || numOut > info.maxOutputs)
      errors_.push_back(ctx + ": has " + std::to_string(numOut) +
                        " outputs, expected " +
                        std::to_string(info.minOutputs) + ".." +
                        std::to_string(info.maxOutputs));
    checkInputs(node, info, ctx);
    checkOutputs(node, n, ctx);
    checkAttributes(node, ctx);
  }

private:
  void checkInputs(const Node &node, const OpInfo &info,
                   const std::string &ctx) {
    int numIn = static_cast<int>(node.inputs.size());
    for (int i = 0; i < numIn; ++i) {
      ValueId in = node.inputs[i];
      if (in == kNoValue) {
        if (i < info.minInputs)
          errors_.push_back(ctx + ": required input " + std::to_string(i) +
                            " is missing");
        continue;
      }
      if (!inRange(in)) {
        errors_.push_back(ctx + ": input " + std::to_string(i) +
                          " id out of range");
        continue;
      }
      if (!defined_[in])
        errors_.push_back(ctx + ": input '" + graph_.value(in).name +
                          "' is used before it is defined (or never defined)");
    }
  }

  void checkOutputs(const Node &node, NodeId n, const std::string &ctx) {
    for (ValueId out : node.outputs) {
      if (!inRange(out)) {
        errors_.push_back(ctx + ": output id out of range");
        continue;
      }
      const Value &v = graph_.value(out);
      if (defined_[out])
        errors_.push_back(ctx + ": output '" + v.name +
                          "' is defined more than once");
      if (v.producer != n)
        errors_.push_back(ctx + ": output '" + v.name +
                          "' does not record this node as its producer");
      defined_[out] = true;
    }
  }

  void checkAttributes(const Node &node, const std::string &ctx) {
    for (const auto &[name, value] : node.attrs.entries()) {
      std::string declared = declaredAttributeType(node.op, name);
      if (declared.empty())
        errors_.push_back(ctx + ": unknown attribute '" + name + "'");
      else if (declared != attributeTypeCode(value))
        errors_.push_back(ctx + ": attribute '" + name + "' has type " +
                          attributeTypeCode(value) + ", expected " + declared);
    }
  }

  const Graph &graph_;
  std::vector<std::string> &errors_;
  std::vector<bool> defined_;
};
} // namespace

std::vector<std::string> verify(const Graph &graph) {
  std::vector<std::string> errors;
  std::set<std::string> names;
  for (size_t i = 0; i < graph.numValues(); ++i)
    checkValue(graph.value(static_cast<ValueId>(i)), names, errors);

  NodeChecker nodes(graph, errors);
  for (ValueId id : graph.inputs) {
    if (!nodes.inRange(id)) {
      errors.push_back("graph input id out of range");
      continue;
    }
    if (graph.value(id).constant)
      errors.push_back("graph input '" + graph.value(id).name +
                       "' is also an initializer");
  }
  for (ValueId id : graph.outputs)
    if (!nodes.inRange(id))
      errors.push_back("graph output id out of range");

  // Definition before use, in node order.
  for (size_t n = 0; n < graph.numNodes(); ++n)
    nodes.check(static_cast<NodeId>(n));
  for (ValueId id : graph.outputs)
    if (nodes.inRange(id) && !nodes.defined(id))
      errors.push_back("graph output '" + graph.value(id).name +
                       "' is never defined");
  return errors;
}

Status verifyStatus(const Graph &graph) {
  std::vector<std::string> errors = verify(graph);
  if (errors.empty())
    return Status::success();
  std::string joined;
  for (size_t i = 0; i < errors.size(); ++i)
    joined += (i ? "; " : "") + errors[i];
  return Error("invalid graph: " + joined);
}

} // namespace mars::ir
