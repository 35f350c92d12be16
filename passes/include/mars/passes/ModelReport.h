#pragma once
/// \file
/// What a model is, layer by layer, before compilation (`marsc inspect`):
/// shapes, parameters, MACs, quantization bits and the CIM-group sparsity of
/// layers with integer weights. The group layout and count are lib/arch's
/// (`groupGeometry`, `groupOccupancy`), the ones training and the compiler
/// use; this file only finds a layer's integer weights in the IR.

#include "mars/arch/ArchSpec.h"
#include "mars/ir/Cost.h"
#include "mars/ir/Graph.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mars::passes {

/// All-zero CIM groups of one layer, and all its groups.
struct GroupSparsity {
  int64_t zeroGroups = 0;
  int64_t groups = 0;
};

/// For a Conv or Gemm whose weights are DequantizeLinear of an integer
/// constant (the form `marsc train` and `marsc compile --save-qdq` write):
/// its zero and total CIM groups on `spec`, with the weight bits of the
/// constant's quantization (8 when it has none). Groups off a grouped
/// convolution's block diagonal count as zero, as the program leaves them
/// out. Any other node, or float weights: nullopt.
std::optional<GroupSparsity> groupSparsity(const ir::Graph &graph,
                                           const ir::Node &node,
                                           const arch::ArchSpec &spec);

/// One row of the layer table: one node.
struct LayerRow {
  const ir::Node *node = nullptr;
  std::vector<ir::Shape> inputs; ///< Non-constant inputs.
  ir::Shape output;
  ir::NodeCost cost;
  std::optional<int> weightBits; ///< Set when a constant input is quantized.
  std::optional<int> activationBits; ///< Set when the output is quantized.
  /// Conv/Gemm with integer weights: all-zero CIM groups and all groups.
  std::optional<GroupSparsity> groups;
};

/// One row per node of `graph`, in node order; `cost` is ir::graphCost(graph).
std::vector<LayerRow> layerRows(const ir::Graph &graph,
                                const ir::GraphCost &cost,
                                const arch::ArchSpec &spec);

/// The text `marsc inspect` prints: model, inputs and outputs, an aligned
/// table of `rows` (numbers right-aligned, 1,234,567 with commas) and the
/// totals of `cost` (params, MACs, bytes, also as K/M/G and KiB/MiB).
/// `model` names the file.
std::string formatLayerTable(const std::string &model, const ir::Graph &graph,
                             const std::vector<LayerRow> &rows,
                             const ir::GraphCost &cost);

/// The same as JSON (`marsc inspect --json`), pretty-printed with two-space
/// indents, no final newline.
std::string layerTableJson(const std::string &model, const ir::Graph &graph,
                           const std::vector<LayerRow> &rows,
                           const ir::GraphCost &cost);

} // namespace mars::passes
