// What `marsc inspect` prints: a model's layers with shapes, parameters,
// MACs, quantization bits and CIM-group sparsity, as text or JSON.
#include "mars/passes/ModelReport.h"

#include "mars/arch/CimGroups.h"
#include "mars/support/Format.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdarg>
#include <cstdio>

namespace mars::passes {

namespace {

/// printf into `out`.
__attribute__((format(printf, 2, 3))) void appendf(std::string &out,
                                                   const char *format, ...) {
  va_list args;
  va_start(args, format);
  out += vformatString(format, args);
  va_end(args);
}

/// 1234567 -> "1,234,567".
std::string withCommas(int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return v < 0 ? "-" + out : out;
}

/// 416520 -> "416.52 K", with `base` 1000 (K, M, G) or 1024 (KiB, MiB, GiB).
std::string human(double v, double base) {
  const char *units[] = {"", "K", "M", "G", "T"};
  int u = 0;
  while (v >= base && u < 4) {
    v /= base;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f %s%s", v, units[u],
                base == 1024 && u ? "iB" : "");
  return buf;
}

std::string bitsLabel(const LayerRow &layer) {
  std::string s;
  if (layer.weightBits)
    s += "w" + std::to_string(*layer.weightBits);
  if (layer.activationBits)
    s += (s.empty() ? "a" : " a") + std::to_string(*layer.activationBits);
  return s.empty() ? "-" : s;
}

std::string groupsLabel(const LayerRow &layer) {
  if (!layer.groups)
    return "-";
  char buf[48];
  std::snprintf(
      buf, sizeof buf, "%lld/%lld (%.0f%%)",
      (long long)layer.groups->zeroGroups, (long long)layer.groups->groups,
      100.0 * double(layer.groups->zeroGroups) / double(layer.groups->groups));
  return buf;
}

std::string joinShapes(const std::vector<ir::Shape> &shapes) {
  std::string s;
  for (const ir::Shape &shape : shapes)
    s += (s.empty() ? "" : " ") + ir::shapeToString(shape);
  return s;
}

nlohmann::ordered_json valueJson(const ir::Graph &graph, ir::ValueId id) {
  const ir::Value &v = graph.value(id);
  return {{"name", v.name},
          {"dtype", ir::dtypeName(v.type.dtype)},
          {"shape", v.type.shape}};
}

/// The rows as aligned columns two spaces apart, one line each; numbers
/// right-aligned (#, params, MACs), text left-aligned, no trailing blanks.
std::string alignedTable(const std::vector<std::vector<std::string>> &rows) {
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto &row : rows)
    for (size_t c = 0; c < row.size(); ++c)
      width[c] = std::max(width[c], row[c].size());
  auto rightAligned = [](size_t c) { return c == 0 || c == 5 || c == 6; };
  std::string text;
  for (const auto &row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      std::string pad(width[c] - row[c].size(), ' ');
      line += (c ? "  " : "") + (rightAligned(c) ? pad + row[c] : row[c] + pad);
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    text += line + "\n";
  }
  return text;
}

} // namespace

std::optional<GroupSparsity> groupSparsity(const ir::Graph &graph,
                                           const ir::Node &node,
                                           const arch::ArchSpec &spec) {
  if (node.op != ir::OpKind::Conv && node.op != ir::OpKind::Gemm)
    return std::nullopt;
  ir::NodeId producer = graph.value(node.inputs[1]).producer;
  if (producer < 0 || graph.node(producer).op != ir::OpKind::DequantizeLinear)
    return std::nullopt;
  const ir::Value &w = graph.value(graph.node(producer).inputs[0]);
  if (!w.constant || !ir::isInteger(w.type.dtype))
    return std::nullopt;
  const ir::Shape &shape = w.type.shape;
  const bool conv = node.op == ir::OpKind::Conv;
  if ((conv && shape.size() != 4) || (!conv && shape.size() != 2))
    return std::nullopt;
  // A Gemm without transB holds its weights as [in][out].
  const bool transposed = !conv && node.attrs.getInt("transB", 0) == 0;
  const int out = int(transposed ? shape[1] : shape[0]);
  const int in = int(transposed ? shape[0] : shape[1]);
  const int kh = conv ? int(shape[2]) : 1, kw = conv ? int(shape[3]) : 1;
  const int bits = w.type.quant ? w.type.quant->bits : 8;
  // `in` is the weight's second axis: input channels per convolution group.
  const int convGroups = conv ? int(node.attrs.getInt("group", 1)) : 1;
  arch::GroupGeometry g =
      arch::groupGeometry(spec, bits, out, in * convGroups, convGroups, kh, kw);
  arch::GroupOccupancy o =
      arch::groupOccupancy(g, [&](int oc, int ic, int ky, int kx) {
        int64_t index = transposed
                            ? int64_t(ic) * out + oc
                            : ((int64_t(oc) * in + ic) * kh + ky) * kw + kx;
        return w.constant->getAsInt64(index) != 0;
      });
  return GroupSparsity{o.zeroGroups(), g.numGroups()};
}

std::vector<LayerRow> layerRows(const ir::Graph &graph,
                                const ir::GraphCost &cost,
                                const arch::ArchSpec &spec) {
  std::vector<LayerRow> layers;
  for (size_t i = 0; i < graph.numNodes(); ++i) {
    const ir::Node &node = graph.nodes()[i];
    LayerRow layer{&node,
                   {},
                   {},
                   cost.nodes[i],
                   std::nullopt,
                   std::nullopt,
                   groupSparsity(graph, node, spec)};
    for (ir::ValueId in : node.inputs) {
      if (in == ir::kNoValue)
        continue;
      const ir::Value &v = graph.value(in);
      if (!v.isConstant())
        layer.inputs.push_back(v.type.shape);
      else if (v.type.quant && ir::isParameter(v))
        layer.weightBits =
            std::max(layer.weightBits.value_or(0), v.type.quant->bits);
    }
    if (!node.outputs.empty()) {
      const ir::TensorType &out = graph.value(node.outputs[0]).type;
      layer.output = out.shape;
      if (out.quant)
        layer.activationBits = out.quant->bits;
    }
    layers.push_back(std::move(layer));
  }
  return layers;
}

std::string formatLayerTable(const std::string &model, const ir::Graph &graph,
                             const std::vector<LayerRow> &layers,
                             const ir::GraphCost &cost) {
  std::string text;
  appendf(text, "model %s (graph '%s', %zu nodes)\n", model.c_str(),
          graph.name.c_str(), graph.numNodes());
  for (ir::ValueId id : graph.inputs)
    appendf(text, "input  %s: %s\n", graph.value(id).name.c_str(),
            graph.value(id).type.toString().c_str());
  for (ir::ValueId id : graph.outputs)
    appendf(text, "output %s: %s\n", graph.value(id).name.c_str(),
            graph.value(id).type.toString().c_str());

  std::vector<std::vector<std::string>> rows = {{"#", "op", "name", "inputs",
                                                 "output", "params", "MACs",
                                                 "bits", "zero groups"}};
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerRow &l = layers[i];
    rows.push_back({std::to_string(i), ir::opName(l.node->op), l.node->name,
                    joinShapes(l.inputs), ir::shapeToString(l.output),
                    withCommas(l.cost.params), withCommas(l.cost.macs),
                    bitsLabel(l), groupsLabel(l)});
  }
  text += "\n" + alignedTable(rows);
  appendf(text, "\nparams: %s (%s)\n", withCommas(cost.params).c_str(),
          human(double(cost.params), 1000).c_str());
  appendf(text, "MACs:   %s (%s)\n", withCommas(cost.macs).c_str(),
          human(double(cost.macs), 1000).c_str());
  appendf(text, "size:   %s bytes (%s)\n", withCommas(cost.paramBytes).c_str(),
          human(double(cost.paramBytes), 1024).c_str());
  return text;
}

std::string layerTableJson(const std::string &model, const ir::Graph &graph,
                           const std::vector<LayerRow> &layers,
                           const ir::GraphCost &cost) {
  nlohmann::ordered_json j;
  j["model"] = model;
  j["graph"] = graph.name;
  j["inputs"] = nlohmann::ordered_json::array();
  for (ir::ValueId id : graph.inputs)
    j["inputs"].push_back(valueJson(graph, id));
  j["outputs"] = nlohmann::ordered_json::array();
  for (ir::ValueId id : graph.outputs)
    j["outputs"].push_back(valueJson(graph, id));
  j["layers"] = nlohmann::ordered_json::array();
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerRow &l = layers[i];
    nlohmann::ordered_json layer = {{"index", i},
                                    {"op", ir::opName(l.node->op)},
                                    {"name", l.node->name},
                                    {"inputs", l.inputs},
                                    {"output", l.output},
                                    {"params", l.cost.params},
                                    {"macs", l.cost.macs},
                                    {"weight_bits", nullptr},
                                    {"activation_bits", nullptr}};
    if (l.weightBits)
      layer["weight_bits"] = *l.weightBits;
    if (l.activationBits)
      layer["activation_bits"] = *l.activationBits;
    if (l.groups) {
      layer["cim_groups"] = l.groups->groups;
      layer["zero_cim_groups"] = l.groups->zeroGroups;
    }
    j["layers"].push_back(std::move(layer));
  }
  j["totals"] = {{"layers", layers.size()},
                 {"params", cost.params},
                 {"macs", cost.macs},
                 {"size_bytes", cost.paramBytes}};
  return j.dump(2);
}

} // namespace mars::passes
