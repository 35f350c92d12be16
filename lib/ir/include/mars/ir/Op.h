#pragma once
/// \file
/// Operator kinds, generated from Ops.def, and their static descriptions.

#include <optional>
#include <string>
#include <vector>

namespace mars::ir {

enum class OpKind {
#define MARS_OP(kind, onnxName, minIn, maxIn, minOut, maxOut, attrs) kind,
#include "mars/ir/Ops.def"
};

/// The declared signature of an op kind (one row of Ops.def).
struct OpInfo {
  OpKind kind;
  const char *name; ///< The ONNX op_type, also the printed name.
  int minInputs, maxInputs, minOutputs, maxOutputs;
  const char *attributes; ///< "name:type name:type ...".
};

/// The row of Ops.def for `kind`.
const OpInfo &opInfo(OpKind kind);
/// Name of the op ("Conv").
inline const char *opName(OpKind kind) { return opInfo(kind).name; }
/// Looks up an op kind by its ONNX op_type.
std::optional<OpKind> opKindFromName(const std::string &name);
/// All op kinds in declaration order.
const std::vector<OpKind> &allOpKinds();
/// The attribute type code declared for (kind, attribute), or "" if the
/// attribute is not declared ("i", "f", "s", "ints", "floats", "t").
std::string declaredAttributeType(OpKind kind, const std::string &attribute);
/// "Add, AveragePool, BatchNormalization, ..." (sorted) for error messages.
std::string supportedOpList();

} // namespace mars::ir
