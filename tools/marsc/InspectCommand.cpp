// `marsc inspect`: what a model is, layer by layer, and what it costs.
#include "Commands.h"

#include "mars/arch/CimGroups.h"
#include "mars/ir/Cost.h"
#include "mars/ir/Printer.h"
#include "mars/onnx/Import.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>

namespace mars::cli {

namespace {

struct InspectOptions {
  std::string model;
  std::string archPath;
  int64_t batch = 1;
  bool json = false;
  bool printIr = false;
};

/// One row of the layer table.
struct Layer {
  const ir::Node *node;
  std::vector<ir::Shape> inputs; ///< Non-constant inputs.
  ir::Shape output;
  ir::NodeCost cost;
  std::optional<int> weightBits; ///< Set when a constant input is quantized.
  std::optional<int> activationBits; ///< Set when the output is quantized.
  /// Conv/Gemm with integer weights: all-zero CIM groups and all groups.
  std::optional<std::pair<int64_t, int64_t>> zeroGroups;
};

/// CIM-group sparsity of a Conv/Gemm whose weights are DequantizeLinear of an
/// integer constant (the form `marsc train` writes).
std::optional<std::pair<int64_t, int64_t>>
groupSparsity(const ir::Graph &graph, const ir::Node &node,
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
  const bool transposed = !conv && node.attrs.getInt("transB", 0) == 0;
  const int out = int(transposed ? shape[1] : shape[0]);
  const int in = int(transposed ? shape[0] : shape[1]);
  const int kh = conv ? int(shape[2]) : 1, kw = conv ? int(shape[3]) : 1;
  const int bits = w.type.quant ? w.type.quant->bits : 8;
  // `in` is the weight's second axis: input channels per convolution group.
  const int convGroups = conv ? int(node.attrs.getInt("group", 1)) : 1;
  arch::GroupGeometry g = arch::groupGeometry(spec, bits, out, in * convGroups,
                                              convGroups, kh, kw);
  arch::GroupOccupancy o =
      arch::groupOccupancy(g, [&](int oc, int ic, int ky, int kx) {
        int64_t index = transposed
                            ? int64_t(ic) * out + oc
                            : ((int64_t(oc) * in + ic) * kh + ky) * kw + kx;
        return w.constant->getAsInt64(index) != 0;
      });
  return std::make_pair(o.zeroGroups(), g.numGroups());
}

std::vector<Layer> collectLayers(const ir::Graph &graph,
                                 const ir::GraphCost &cost,
                                 const arch::ArchSpec &spec) {
  std::vector<Layer> layers;
  for (size_t i = 0; i < graph.numNodes(); ++i) {
    const ir::Node &node = graph.nodes()[i];
    Layer layer{&node, {}, {}, cost.nodes[i], std::nullopt, std::nullopt,
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

std::string bitsLabel(const Layer &layer) {
  std::string s;
  if (layer.weightBits)
    s += "w" + std::to_string(*layer.weightBits);
  if (layer.activationBits)
    s += (s.empty() ? "a" : " a") + std::to_string(*layer.activationBits);
  return s.empty() ? "-" : s;
}

std::string groupsLabel(const Layer &layer) {
  if (!layer.zeroGroups)
    return "-";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld/%lld (%.0f%%)",
                (long long)layer.zeroGroups->first,
                (long long)layer.zeroGroups->second,
                100.0 * double(layer.zeroGroups->first) /
                    double(layer.zeroGroups->second));
  return buf;
}

std::string joinShapes(const std::vector<ir::Shape> &shapes) {
  std::string s;
  for (const ir::Shape &shape : shapes)
    s += (s.empty() ? "" : " ") + ir::shapeToString(shape);
  return s;
}

void printTable(const InspectOptions &options, const ir::Graph &graph,
                const std::vector<Layer> &layers, const ir::GraphCost &cost) {
  std::printf("model %s (graph '%s', %zu nodes)\n", options.model.c_str(),
              graph.name.c_str(), graph.numNodes());
  for (ir::ValueId id : graph.inputs)
    std::printf("input  %s: %s\n", graph.value(id).name.c_str(),
                graph.value(id).type.toString().c_str());
  for (ir::ValueId id : graph.outputs)
    std::printf("output %s: %s\n", graph.value(id).name.c_str(),
                graph.value(id).type.toString().c_str());

  std::vector<std::vector<std::string>> rows = {
      {"#", "op", "name", "inputs", "output", "params", "MACs", "bits",
       "zero groups"}};
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer &l = layers[i];
    rows.push_back({std::to_string(i), ir::opName(l.node->op), l.node->name,
                    joinShapes(l.inputs), ir::shapeToString(l.output),
                    withCommas(l.cost.params), withCommas(l.cost.macs),
                    bitsLabel(l), groupsLabel(l)});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto &row : rows)
    for (size_t c = 0; c < row.size(); ++c)
      width[c] = std::max(width[c], row[c].size());
  // Numbers right-aligned (#, params, MACs), text left-aligned.
  auto rightAligned = [](size_t c) { return c == 0 || c == 5 || c == 6; };
  std::printf("\n");
  for (const auto &row : rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) {
      std::string pad(width[c] - row[c].size(), ' ');
      line += (c ? "  " : "") + (rightAligned(c) ? pad + row[c] : row[c] + pad);
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    std::printf("%s\n", line.c_str());
  }
  std::printf("\nparams: %s (%s)\n", withCommas(cost.params).c_str(),
              human(double(cost.params), 1000).c_str());
  std::printf("MACs:   %s (%s)\n", withCommas(cost.macs).c_str(),
              human(double(cost.macs), 1000).c_str());
  std::printf("size:   %s bytes (%s)\n", withCommas(cost.paramBytes).c_str(),
              human(double(cost.paramBytes), 1024).c_str());
}

nlohmann::ordered_json valueJson(const ir::Graph &graph, ir::ValueId id) {
  const ir::Value &v = graph.value(id);
  return {{"name", v.name},
          {"dtype", ir::dtypeName(v.type.dtype)},
          {"shape", v.type.shape}};
}

void printJson(const InspectOptions &options, const ir::Graph &graph,
               const std::vector<Layer> &layers, const ir::GraphCost &cost) {
  nlohmann::ordered_json j;
  j["model"] = options.model;
  j["graph"] = graph.name;
  j["inputs"] = nlohmann::ordered_json::array();
  for (ir::ValueId id : graph.inputs)
    j["inputs"].push_back(valueJson(graph, id));
  j["outputs"] = nlohmann::ordered_json::array();
  for (ir::ValueId id : graph.outputs)
    j["outputs"].push_back(valueJson(graph, id));
  j["layers"] = nlohmann::ordered_json::array();
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer &l = layers[i];
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
    if (l.zeroGroups) {
      layer["cim_groups"] = l.zeroGroups->second;
      layer["zero_cim_groups"] = l.zeroGroups->first;
    }
    j["layers"].push_back(std::move(layer));
  }
  j["totals"] = {{"layers", layers.size()},
                 {"params", cost.params},
                 {"macs", cost.macs},
                 {"size_bytes", cost.paramBytes}};
  std::cout << j.dump(2) << "\n";
}

Status runInspect(const InspectOptions &options) {
  onnx::ImportOptions importOptions;
  importOptions.batchSize = options.batch;
  auto graph = onnx::importModelFile(options.model, importOptions);
  if (!graph)
    return graph.error();
  arch::ArchSpec spec = arch::defaultArch();
  if (!options.archPath.empty()) {
    auto loaded = arch::loadArchFile(options.archPath);
    if (!loaded)
      return loaded.error();
    spec = *loaded;
  }
  ir::GraphCost cost = ir::graphCost(*graph);
  std::vector<Layer> layers = collectLayers(*graph, cost, spec);
  if (options.json) {
    printJson(options, *graph, layers, cost);
    return Status::success();
  }
  if (options.printIr)
    std::printf("%s\n", ir::printGraph(*graph).c_str());
  printTable(options, *graph, layers, cost);
  return Status::success();
}

} // namespace

Command addInspectCommand(CLI::App &parent) {
  auto options = std::make_shared<InspectOptions>();
  CLI::App *app = parent.add_subcommand(
      "inspect", "Show a model's layers with shapes, parameters and MACs.");
  app->footer(
      "Imports the ONNX model (shape inference included) and prints one row "
      "per node: index, op, name, the shapes of its non-constant inputs, its "
      "output shape, its parameters (elements of constant inputs) and its "
      "multiply-accumulates, then totals for parameters, MACs and parameter "
      "storage in bytes. 'bits' shows weight (w) and activation (a) "
      "quantization bits when the model carries them; 'zero groups' "
      "counts the all-zero CIM groups (wl_on rows x one partition's output "
      "channels of --arch) of Conv/Gemm layers with integer weights, as "
      "marsc train writes them.");
  app->add_option("--arch", options->archPath,
                  "Arch JSON defining the CIM groups (default: built-in)");
  app->add_option("model", options->model, "ONNX model file (.onnx)")
      ->required();
  app->add_option("--batch", options->batch,
                  "Size given to symbolic batch dimensions (default 1)")
      ->check(CLI::PositiveNumber);
  CLI::Option *json = app->add_flag(
      "--json", options->json, "Print the same information as JSON on stdout");
  app->add_flag("--print-ir", options->printIr,
                "Print the imported IR (ir::printGraph) before the table")
      ->excludes(json);
  return {app, [options] { return runInspect(*options); }};
}

} // namespace mars::cli
