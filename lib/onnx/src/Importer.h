#pragma once
/// \file
/// Internal: the state of one ONNX import and the per-node context that the
/// op converters (ImportOps.cpp) work through.

#include "Convert.h"

#include "mars/ir/Graph.h"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace mars::onnx::detail {

using AttributeValues = std::map<std::string, ir::Attribute>;

/// Converts a node's AttributeProtos to IR attribute values. TENSOR
/// attributes go through tensorFromProto; GRAPH, SPARSE_TENSOR, STRINGS and
/// reference attributes are errors (no supported op uses them).
/// `boolAsUInt8` as for tensorFromProto.
Expected<AttributeValues> parseAttributes(const ::onnx::NodeProto &node,
                                          bool boolAsUInt8 = false);

/// The graph being built and the names the model itself defines, so that
/// generated names never collide with a name defined later in the model.
struct Importer {
  ir::Graph graph;
  std::set<std::string> modelNames;
  /// Names that feed only Dropout's training_mode: the one place where a
  /// bool tensor is accepted (as u8), so that a constant true can be
  /// recognised and rejected.
  std::set<std::string> boolNames;
  int opset = 0;

  /// A value name built from `base` that neither the graph nor the model uses.
  std::string freshName(const std::string &base) const;
};

/// One ONNX node being converted: input lookup, attribute reads that record
/// use (attributes no converter reads are rejected, since silently ignoring
/// one could change the meaning), and node emission with immediate shape
/// inference so that later nodes can canonicalise against known shapes.
class OpContext {
public:
  /// `version` is the op version in force at the model's opset (the
  /// since-version of the ONNX schema; e.g. 6 for Add at opset 6).
  OpContext(Importer &importer, const ::onnx::NodeProto &proto,
            std::string name, int version, AttributeValues attrs);

  const std::string &name() const { return name_; }
  const std::string &opType() const { return proto_.op_type(); }
  int opset() const { return importer_.opset; }
  /// The version of this op in force at the model's opset: converters
  /// branch on it, not on the opset, to pick the semantics to convert.
  int version() const { return version_; }
  Importer &importer() { return importer_; }

  /// Input `i`, or kNoValue when its name is empty or it is beyond the list.
  ir::ValueId input(size_t i) const;
  /// All inputs, trailing absent ones dropped.
  std::vector<ir::ValueId> inputs() const;
  /// Type of a present input.
  const ir::TensorType &type(size_t i) const;
  /// Constant data of input `i`, or nullptr when absent or not constant.
  const ir::Tensor *constant(size_t i) const;
  /// Number of outputs, trailing empty names dropped.
  size_t numOutputs() const;

  bool hasAttr(const std::string &name) const { return attrs_.count(name); }
  int64_t getInt(const std::string &name, int64_t fallback);
  float getFloat(const std::string &name, float fallback);
  std::string getString(const std::string &name, const std::string &fallback);
  std::vector<int64_t> getInts(const std::string &name,
                               const std::vector<int64_t> &fallback);
  std::vector<float> getFloats(const std::string &name,
                               const std::vector<float> &fallback);
  /// The TENSOR attribute `name`, or nullptr when absent.
  const ir::Tensor *getTensor(const std::string &name);
  /// Marks an attribute as understood although it has no effect.
  void ignoreAttr(const std::string &name) { used_.insert(name); }
  /// Fails on an attribute read with the wrong type or never read.
  Status checkAttributes() const;

  /// "node 'conv1' (Conv): " + parts.
  template <typename... Parts> Error fail(const Parts &...parts) const {
    return makeError(ir::nodeContext(name_, opType()), ": ", parts...);
  }

  /// Values for the node's first `count` outputs, named as in the model
  /// (an empty name in the middle gets a generated one).
  Expected<std::vector<ir::ValueId>> outputs(size_t count);
  /// A new intermediate value named after `base`.
  ir::ValueId newValue(const std::string &base);
  /// A new initializer named after `base`.
  ir::ValueId addConstant(const std::string &base, ir::Tensor tensor);
  /// Adds an IR node and infers its output types.
  Status emit(ir::OpKind op, const std::string &nodeName,
              std::vector<ir::ValueId> inputs, std::vector<ir::ValueId> outputs,
              ir::AttributeMap attrs = {});

private:
  template <typename T> T getTyped(const std::string &name, T fallback);

  Importer &importer_;
  const ::onnx::NodeProto &proto_;
  std::string name_;
  int version_;
  AttributeValues attrs_;
  std::set<std::string> used_;
  std::optional<Error> attrError_;
};

/// Converts a Constant node into an initializer (no IR node).
Status convertConstant(OpContext &ctx);
/// Converts any other supported node into canonical IR nodes
/// (lib/onnx/README.md lists the rules).
Status convertNode(OpContext &ctx);

} // namespace mars::onnx::detail
