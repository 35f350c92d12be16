#pragma once
/// \file
/// The Graph IR: values (typed, possibly constant), nodes and the graph that
/// owns them. Values and nodes are referred to by dense integer ids.

#include "mars/ir/Attribute.h"
#include "mars/ir/Op.h"
#include "mars/ir/Tensor.h"
#include "mars/support/Error.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace mars::ir {

using ValueId = int32_t;
using NodeId = int32_t;
/// Marks an absent optional input (ONNX's empty input name).
constexpr ValueId kNoValue = -1;
/// Producer of graph inputs and initializers.
constexpr NodeId kNoNode = -1;

/// A named SSA value. Initializers are values that carry a constant.
struct Value {
  std::string name;
  TensorType type;
  std::optional<Tensor> constant; ///< Set for initializers.
  NodeId producer = kNoNode;

  bool isConstant() const { return constant.has_value(); }
};

/// One operation. Inputs may contain kNoValue for absent optional inputs.
struct Node {
  OpKind op;
  std::string name;
  std::vector<ValueId> inputs;
  std::vector<ValueId> outputs;
  AttributeMap attrs;

  /// The input at `i`, or kNoValue when absent or beyond the list.
  ValueId input(size_t i) const {
    return i < inputs.size() ? inputs[i] : kNoValue;
  }
};

/// How every error names a node: `node 'conv3' (Conv)`.
std::string nodeContext(const Node &node);
/// The same for a node known only by its name and op type (the ONNX
/// importer's, before it is a Node).
std::string nodeContext(const std::string &name, const std::string &opType);

/// A dataflow graph. Nodes are kept in topological order by `topoSort()`,
/// which importers and passes call after building or rewriting.
class Graph {
public:
  std::string name;

  /// Adds a value with no constant and no producer (a graph input, or an
  /// output slot for a node about to be added). Names must be unique.
  ValueId addValue(const std::string &name, TensorType type);
  /// Adds an initializer: a value carrying `constant`.
  ValueId addInitializer(const std::string &name, Tensor constant);
  /// Adds a node; sets the producer of each output.
  NodeId addNode(OpKind op, const std::string &name,
                 std::vector<ValueId> inputs, std::vector<ValueId> outputs,
                 AttributeMap attrs = {});

  Value &value(ValueId id);
  const Value &value(ValueId id) const;
  Node &node(NodeId id);
  const Node &node(NodeId id) const;
  size_t numValues() const { return values_.size(); }
  size_t numNodes() const { return nodes_.size(); }
  const std::vector<Node> &nodes() const { return nodes_; }
  std::vector<Node> &nodes() { return nodes_; }
  const std::vector<Value> &values() const { return values_; }

  /// The value named `name`, if any.
  std::optional<ValueId> findValue(const std::string &name) const;
  /// A name not used by any value yet, built from `base`.
  std::string uniqueValueName(const std::string &base) const;

  /// Graph inputs (values fed at run time; never constants).
  std::vector<ValueId> inputs;
  /// Graph outputs.
  std::vector<ValueId> outputs;
  /// Model-level facts marsc records in the ONNX file (metadata_props
  /// "mars.<key>"), e.g. quant::kPowerOfTwoScalesKey. Keys must not start
  /// with "quant." (the per-value quantization parameters use that prefix).
  std::map<std::string, std::string> metadata;

  /// Initializer ids in insertion order.
  std::vector<ValueId> initializers() const;
  /// Nodes that read `id`, in node order.
  std::vector<NodeId> users(ValueId id) const;

  /// Reorders nodes topologically (stable: keeps the current order where it
  /// is already valid). Fails naming a node on a cycle, or a node reading a
  /// value that no node, input or initializer defines.
  Status topoSort();
  /// Removes the nodes for which `dead[id]` is true, then values that are no
  /// longer referenced (neither graph input/output nor used nor produced).
  /// Ids are renumbered; previously held ids become invalid.
  void eraseNodes(const std::vector<bool> &dead);
  /// Removes nodes whose outputs are unused and not graph outputs, and
  /// unused values. Returns the number of nodes removed.
  size_t removeDeadCode();

  bool operator==(const Graph &o) const;

private:
  void rebuildNameIndex();

  std::vector<Value> values_;
  std::vector<Node> nodes_;
  std::unordered_map<std::string, ValueId> nameIndex_;
};

} // namespace mars::ir
