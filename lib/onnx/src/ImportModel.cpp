// Walking an ONNX model: opsets, graph inputs, initializers, node order, and
// the final canonical value order, shape inference and verification.
#include "Importer.h"

#include "mars/ir/ShapeInference.h"
#include "mars/ir/Verifier.h"
#include "mars/onnx/Import.h"

#include <onnx/defs/schema.h>

#include <exception>

namespace mars::onnx {

using namespace detail;
using ::onnx::GraphProto;
using ::onnx::ModelProto;
using ::onnx::NodeProto;

namespace detail {

std::string Importer::freshName(const std::string &base) const {
  auto taken = [&](const std::string &n) {
    return graph.findValue(n).has_value() || modelNames.count(n) != 0;
  };
  if (!taken(base))
    return base;
  for (int i = 1;; ++i) {
    std::string candidate = base + "." + std::to_string(i);
    if (!taken(candidate))
      return candidate;
  }
}

OpContext::OpContext(Importer &importer, const NodeProto &proto,
                     std::string name, int version, AttributeValues attrs)
    : importer_(importer), proto_(proto), name_(std::move(name)),
      version_(version), attrs_(std::move(attrs)) {}

ir::ValueId OpContext::input(size_t i) const {
  if (i >= static_cast<size_t>(proto_.input_size()) || proto_.input(i).empty())
    return ir::kNoValue;
  std::optional<ir::ValueId> id = importer_.graph.findValue(proto_.input(i));
  MARS_CHECK(id.has_value(), "inputs are resolved before conversion");
  return *id;
}

std::vector<ir::ValueId> OpContext::inputs() const {
  std::vector<ir::ValueId> out;
  for (int i = 0; i < proto_.input_size(); ++i)
    out.push_back(input(i));
  while (!out.empty() && out.back() == ir::kNoValue)
    out.pop_back();
  return out;
}

const ir::TensorType &OpContext::type(size_t i) const {
  return importer_.graph.value(input(i)).type;
}

const ir::Tensor *OpContext::constant(size_t i) const {
  ir::ValueId id = input(i);
  if (id == ir::kNoValue)
    return nullptr;
  const ir::Value &v = importer_.graph.value(id);
  return v.constant ? &*v.constant : nullptr;
}

size_t OpContext::numOutputs() const {
  size_t n = static_cast<size_t>(proto_.output_size());
  while (n > 0 && proto_.output(static_cast<int>(n - 1)).empty())
    --n;
  return n;
}

Expected<std::vector<ir::ValueId>> OpContext::outputs(size_t maxCount) {
  size_t n = numOutputs();
  if (n == 0)
    return fail("has no outputs");
  if (n > maxCount)
    return fail("has ", n, " outputs, at most ", maxCount, " supported");
  std::vector<ir::ValueId> out;
  for (size_t i = 0; i < n; ++i) {
    const std::string &name = proto_.output(static_cast<int>(i));
    if (name.empty()) {
      out.push_back(newValue(name_ + ".unused" + std::to_string(i)));
      continue;
    }
    if (importer_.graph.findValue(name))
      return fail("output '", name, "' is already defined");
    out.push_back(importer_.graph.addValue(name, {}));
  }
  return out;
}

ir::ValueId OpContext::newValue(const std::string &base) {
  return importer_.graph.addValue(importer_.freshName(base), {});
}

ir::ValueId OpContext::addConstant(const std::string &base, ir::Tensor tensor) {
  return importer_.graph.addInitializer(importer_.freshName(base),
                                        std::move(tensor));
}

Status OpContext::emit(ir::OpKind op, const std::string &nodeName,
                       std::vector<ir::ValueId> nodeInputs,
                       std::vector<ir::ValueId> nodeOutputs,
                       ir::AttributeMap attrs) {
  MARS_TRY(checkAttributes());
  ir::NodeId id =
      importer_.graph.addNode(op, nodeName, std::move(nodeInputs),
                              std::move(nodeOutputs), std::move(attrs));
  return ir::inferNodeTypes(importer_.graph, id);
}

} // namespace detail

namespace {

/// The node's own name, or a stable generated one from its op type and its
/// index in the ONNX node list.
std::string nodeName(const NodeProto &node, int index) {
  if (!node.name().empty())
    return node.name();
  return node.op_type() + "_" + std::to_string(index);
}

std::string nodeContext(const NodeProto &node, int index) {
  return ir::nodeContext(nodeName(node, index), node.op_type());
}

/// The ai.onnx opsets a model may import. Below 6 only the ops whose
/// version in force has no consumed_inputs import (opVersion);
/// lib/onnx/README.md lists which op versions are handled.
constexpr int kMinOpset = 1;
constexpr int kMaxOpset = 17;

Expected<int> defaultOpset(const ModelProto &model) {
  std::optional<int64_t> version;
  for (const auto &entry : model.opset_import())
    if (entry.domain().empty() || entry.domain() == "ai.onnx")
      version = entry.version();
  if (!version)
    return makeError("the model imports no ai.onnx opset");
  if (*version < kMinOpset || *version > kMaxOpset)
    return makeError("ai.onnx opset ", *version,
                     " is not supported (supported: ", kMinOpset, " to ",
                     kMaxOpset, ")");
  return static_cast<int>(*version);
}

/// The version of `node`'s op in force at `opset` (the since-version of its
/// ONNX schema). Versions that only have the pre-opset-6 in-place form
/// (`consumed_inputs`: Add-1, BatchNormalization-1, Relu-1, Reshape-1, ...)
/// are rejected; the converters handle every later version (and reject
/// Pad-1).
Expected<int> opVersion(const NodeProto &node, int index, int opset) {
  using ::onnx::OpSchemaRegistry;
  const ::onnx::OpSchema *schema =
      OpSchemaRegistry::Schema(node.op_type(), opset, /*domain=*/"");
  if (!schema)
    return makeError(nodeContext(node, index), ": ", node.op_type(),
                     " does not exist at ai.onnx opset ", opset);
  const int version = schema->SinceVersion();
  if (!schema->attributes().count("consumed_inputs"))
    return version;
  // The first later version, to say which opset to re-export at.
  int supportedFrom = 0;
  for (int v = opset + 1; v <= kMaxOpset && !supportedFrom; ++v) {
    const ::onnx::OpSchema *next =
        OpSchemaRegistry::Schema(node.op_type(), v, /*domain=*/"");
    if (next && next->SinceVersion() != version)
      supportedFrom = next->SinceVersion();
  }
  return makeError(nodeContext(node, index), ": ", node.op_type(), "-", version,
                   " (the version at ai.onnx opset ", opset,
                   ") is not supported: its consumed_inputs (in-place) form "
                   "has no IR equivalent; ",
                   node.op_type(), " is supported from opset ", supportedFrom);
}

/// What a user can do about an op that neither the importer nor the chip
/// handles, for the ops that CNN exports commonly contain; empty otherwise.
std::string unsupportedOpAdvice(const std::string &op) {
  if (op == "ConvTranspose")
    return ". The CIM macros compute forward convolutions and matrix "
           "products only: replace ConvTranspose with an upsampling by zero "
           "insertion followed by a Conv, or run that part on the host";
  if (op == "LSTM" || op == "GRU" || op == "RNN")
    return ". Recurrent layers are not mapped to the macros: export the "
           "convolutional part of the network alone";
  if (op == "Resize" || op == "Upsample")
    return ". Resampling is not done on the chip: run it on the host before "
           "or after the convolutional part";
  if (op == "LogSoftmax")
    return ". Remove it from the exported graph: the chip reports logits, "
           "and top-1 accuracy needs no normalisation";
  return "";
}

} // namespace

bool isImportedOp(const std::string &opType) {
  return opType == "Constant" || opType == "ReduceMean" ||
         ir::opKindFromName(opType).has_value();
}

namespace {

Status checkOpsSupported(const GraphProto &graph) {
  for (int i = 0; i < graph.node_size(); ++i) {
    const NodeProto &node = graph.node(i);
    if (!node.domain().empty() && node.domain() != "ai.onnx")
      return makeError(nodeContext(node, i), ": domain '", node.domain(),
                       "' is not supported (only ai.onnx)");
    if (!isImportedOp(node.op_type()))
      return makeError(nodeContext(node, i),
                       ": unsupported op; supported: ", ir::supportedOpList(),
                       ", and ReduceMean over H and W",
                       unsupportedOpAdvice(node.op_type()));
  }
  return Status::success();
}

/// The type of a graph input; unknown or symbolic dims become the batch size.
Expected<ir::TensorType> graphInputType(const ::onnx::ValueInfoProto &info,
                                        int64_t batchSize) {
  const std::string ctx = "graph input '" + info.name() + "'";
  if (!info.type().has_tensor_type())
    return makeError(ctx, ": not a tensor");
  const auto &tensorType = info.type().tensor_type();
  std::optional<ir::DType> dtype = dtypeFromOnnx(tensorType.elem_type());
  if (!dtype)
    return makeError(ctx, ": unsupported dtype ",
                     onnxDTypeName(tensorType.elem_type()),
                     " (supported: FLOAT, INT8, UINT8, INT32, INT64)");
  if (!tensorType.has_shape())
    return makeError(ctx, ": has no shape (unknown rank)");
  ir::TensorType type{*dtype, {}, std::nullopt};
  for (const auto &dim : tensorType.shape().dim())
    type.shape.push_back(dim.has_dim_value() ? dim.dim_value() : batchSize);
  Status ok = checkShape(type.shape, /*allowZero=*/false);
  if (!ok)
    return ok.error().withContext(ctx);
  return type;
}

/// Graph inputs (or bindings of them) and initializers. An initializer also
/// listed as a graph input (pre-IR-4 style) is an initializer only.
Status addSources(Importer &imp, const GraphProto &graph,
                  const ImportOptions &options) {
  std::set<std::string> initNames;
  for (const auto &init : graph.initializer())
    initNames.insert(init.name());
  std::set<std::string> inputNames;
  std::vector<std::pair<std::string, ir::Tensor>> bound;
  for (const auto &info : graph.input()) {
    inputNames.insert(info.name());
    if (initNames.count(info.name()))
      continue;
    if (imp.graph.findValue(info.name()))
      return makeError("graph input '", info.name(), "' is listed twice");
    auto binding = options.bindInputs.find(info.name());
    if (binding != options.bindInputs.end()) {
      bound.emplace_back(info.name(), binding->second);
      continue;
    }
    bool asBool =
        imp.boolNames.count(info.name()) &&
        info.type().tensor_type().elem_type() == ::onnx::TensorProto::BOOL;
    ::onnx::ValueInfoProto patched = info;
    if (asBool)
      patched.mutable_type()->mutable_tensor_type()->set_elem_type(
          ::onnx::TensorProto::UINT8);
    Expected<ir::TensorType> type = graphInputType(patched, options.batchSize);
    if (!type)
      return type.error();
    imp.graph.inputs.push_back(imp.graph.addValue(info.name(), type.take()));
  }
  for (const auto &[name, tensor] : options.bindInputs)
    if (!inputNames.count(name) || initNames.count(name))
      return makeError("bound input '", name, "' is not an input of the graph");
  // Bound inputs come first among initializers, in graph-input order.
  for (auto &[name, tensor] : bound)
    imp.graph.addInitializer(name, std::move(tensor));
  for (const auto &init : graph.initializer()) {
    if (imp.graph.findValue(init.name()))
      return makeError("initializer '", init.name(), "' is defined twice");
    Expected<ir::Tensor> t =
        tensorFromProto(init, imp.boolNames.count(init.name()) != 0);
    if (!t)
      return t.error().withContext("initializer '" + init.name() + "'");
    imp.graph.addInitializer(init.name(), t.take());
  }
  return Status::success();
}

/// Every name a node reads must be defined somewhere in the graph; every
/// name is defined once.
Status checkDefinitions(const Importer &imp, const GraphProto &graph) {
  std::set<std::string> defined;
  for (const ir::Value &v : imp.graph.values())
    defined.insert(v.name);
  for (int i = 0; i < graph.node_size(); ++i) {
    if (graph.node(i).op_type() == "Constant")
      continue; // already an initializer
    for (const std::string &out : graph.node(i).output())
      if (!out.empty() && !defined.insert(out).second)
        return makeError(nodeContext(graph.node(i), i), ": output '", out,
                         "' is already defined");
  }
  for (int i = 0; i < graph.node_size(); ++i)
    for (const std::string &in : graph.node(i).input())
      if (!in.empty() && !defined.count(in))
        return makeError(nodeContext(graph.node(i), i), ": input '", in,
                         "' is not defined by any node, graph input or "
                         "initializer (missing initializer?)");
  for (const auto &out : graph.output())
    if (!defined.count(out.name()))
      return makeError("graph output '", out.name(), "' is never defined");
  return Status::success();
}

/// The ONNX indices of the non-Constant nodes in topological order. Uses a
/// scratch graph so that Graph::topoSort names the node on a cycle.
Expected<std::vector<int>> nodeOrder(const Importer &imp,
                                     const GraphProto &graph) {
  ir::Graph scratch;
  for (const ir::Value &v : imp.graph.values())
    scratch.inputs.push_back(scratch.addValue(v.name, {}));
  // Outputs first: nodes may read values that later nodes produce.
  std::vector<std::vector<ir::ValueId>> outputs(graph.node_size());
  for (int i = 0; i < graph.node_size(); ++i)
    if (graph.node(i).op_type() != "Constant")
      for (const std::string &out : graph.node(i).output())
        if (!out.empty())
          outputs[i].push_back(scratch.addValue(out, {}));
  for (int i = 0; i < graph.node_size(); ++i) {
    const NodeProto &node = graph.node(i);
    if (node.op_type() == "Constant")
      continue;
    const std::vector<ir::ValueId> &outs = outputs[i];
    std::vector<ir::ValueId> ins;
    for (const std::string &in : node.input())
      ins.push_back(in.empty() ? ir::kNoValue : *scratch.findValue(in));
    ir::AttributeMap index;
    index.set("index", int64_t{i});
    // ReduceMean becomes a GlobalAveragePool (ImportOps.cpp); any kind
    // orders alike.
    const ir::OpKind kind = node.op_type() == "ReduceMean"
                                ? ir::OpKind::GlobalAveragePool
                                : *ir::opKindFromName(node.op_type());
    scratch.addNode(kind, nodeName(node, i), ins, outs, index);
  }
  MARS_TRY(scratch.topoSort());
  std::vector<int> order;
  for (const ir::Node &node : scratch.nodes())
    order.push_back(static_cast<int>(node.attrs.getInt("index", -1)));
  return order;
}

Status convertOne(Importer &imp, const NodeProto &node, int index) {
  Expected<int> version = opVersion(node, index, imp.opset);
  if (!version)
    return version.error();
  bool boolAttrs = false;
  for (const std::string &out : node.output())
    boolAttrs = boolAttrs || imp.boolNames.count(out);
  Expected<AttributeValues> attrs = parseAttributes(node, boolAttrs);
  if (!attrs)
    return attrs.error().withContext(nodeContext(node, index));
  OpContext ctx(imp, node, nodeName(node, index), *version, attrs.take());
  MARS_TRY(node.op_type() == "Constant" ? convertConstant(ctx)
                                        : convertNode(ctx));
  return ctx.checkAttributes();
}

/// Rebuilds the graph with values in the documented order (graph inputs,
/// initializers in creation order, node outputs in node order), so that the
/// same model always gives the same ids and export/import round-trips.
/// Constants are moved, not copied: `g` is consumed.
ir::Graph canonicalOrder(ir::Graph &&g) {
  ir::Graph out;
  out.name = g.name;
  std::vector<ir::ValueId> remap(g.numValues(), ir::kNoValue);
  auto copy = [&](ir::ValueId id) {
    // Each value is visited once (inputs, initializers and node outputs are
    // disjoint), so moving its constant out is safe.
    MARS_CHECK(remap[id] == ir::kNoValue, "value visited twice");
    ir::Value &v = g.value(id);
    remap[id] = v.constant ? out.addInitializer(v.name, std::move(*v.constant))
                           : out.addValue(v.name, v.type);
  };
  for (ir::ValueId id : g.inputs) {
    copy(id);
    out.inputs.push_back(remap[id]);
  }
  for (ir::ValueId id : g.initializers())
    copy(id);
  for (const ir::Node &node : g.nodes()) {
    for (ir::ValueId id : node.outputs)
      copy(id);
    std::vector<ir::ValueId> ins, outs;
    for (ir::ValueId id : node.inputs)
      ins.push_back(id == ir::kNoValue ? ir::kNoValue : remap[id]);
    for (ir::ValueId id : node.outputs)
      outs.push_back(remap[id]);
    out.addNode(node.op, node.name, ins, outs, node.attrs);
  }
  for (ir::ValueId id : g.outputs)
    out.outputs.push_back(remap[id]);
  return out;
}

/// Restores QuantParams written by the exporter into metadata_props.
Status restoreQuant(ir::Graph &graph, const ModelProto &model) {
  const std::string prefix = kQuantKeyPrefix;
  const std::string mars = kMetadataKeyPrefix;
  for (const auto &prop : model.metadata_props()) {
    if (prop.key().compare(0, prefix.size(), prefix) != 0) {
      if (prop.key().compare(0, mars.size(), mars) == 0)
        graph.metadata[prop.key().substr(mars.size())] = prop.value();
      continue;
    }
    std::string name = prop.key().substr(prefix.size());
    std::optional<ir::ValueId> id = graph.findValue(name);
    if (!id)
      return makeError("metadata '", prop.key(), "' names no value");
    Expected<ir::QuantParams> quant = decodeQuant(prop.value());
    if (!quant)
      return quant.error().withContext("metadata '" + prop.key() + "'");
    ir::Value &v = graph.value(*id);
    v.type.quant = *quant;
    if (v.constant)
      v.constant->type().quant = *quant;
  }
  return Status::success();
}

Expected<ir::Graph> importGraph(const ModelProto &model,
                                const ImportOptions &options) {
  if (!model.has_graph())
    return makeError("the model has no graph");
  if (options.batchSize <= 0)
    return makeError("batch size must be positive, got ", options.batchSize);
  Expected<int> opset = defaultOpset(model);
  if (!opset)
    return opset.error();
  const GraphProto &graph = model.graph();
  MARS_TRY(checkOpsSupported(graph));

  Importer imp;
  imp.opset = *opset;
  imp.graph.name = graph.name().empty() ? "main" : graph.name();
  for (const auto &info : graph.input())
    imp.modelNames.insert(info.name());
  for (const auto &init : graph.initializer())
    imp.modelNames.insert(init.name());
  for (const NodeProto &node : graph.node()) {
    for (const std::string &out : node.output())
      imp.modelNames.insert(out);
    if (node.op_type() == "Dropout" && node.input_size() > 2)
      imp.boolNames.insert(node.input(2));
  }
  // A name read by anything but Dropout's training_mode keeps strict dtypes.
  for (const NodeProto &node : graph.node())
    for (int i = 0; i < node.input_size(); ++i)
      if (node.op_type() != "Dropout" || i != 2)
        imp.boolNames.erase(node.input(i));

  MARS_TRY(addSources(imp, graph, options));
  for (int i = 0; i < graph.node_size(); ++i)
    if (graph.node(i).op_type() == "Constant")
      MARS_TRY(convertOne(imp, graph.node(i), i));
  MARS_TRY(checkDefinitions(imp, graph));
  Expected<std::vector<int>> order = nodeOrder(imp, graph);
  if (!order)
    return order.error();
  for (int i : *order)
    MARS_TRY(convertOne(imp, graph.node(i), i));
  for (const auto &out : graph.output())
    imp.graph.outputs.push_back(*imp.graph.findValue(out.name()));

  ir::Graph result = canonicalOrder(std::move(imp.graph));
  MARS_TRY(result.topoSort());
  MARS_TRY(restoreQuant(result, model));
  MARS_TRY(ir::inferShapes(result));
  MARS_TRY(ir::verifyStatus(result));
  return result;
}

} // namespace

Expected<ir::Graph> importModel(const std::string &bytes,
                                const std::string &sourceName,
                                const ImportOptions &options) {
  try {
    ModelProto model;
    if (!model.ParseFromString(bytes))
      return makeError(sourceName,
                       ": not a valid ONNX model (protobuf parsing failed)");
    Expected<ir::Graph> graph = importGraph(model, options);
    if (!graph)
      return graph.error().withContext(sourceName);
    return graph;
  } catch (const std::exception &e) {
    return makeError(sourceName, ": import failed: ", e.what());
  }
}

Expected<ir::Graph> importModelFile(const std::string &path,
                                    const ImportOptions &options) {
  Expected<std::string> bytes = readFile(path);
  if (!bytes)
    return bytes.error();
  return importModel(*bytes, path, options);
}

} // namespace mars::onnx
