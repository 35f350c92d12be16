// Graph IR → ONNX ModelProto (opset 17), including IR → TensorProto.
#include "Convert.h"

#include "mars/ir/Verifier.h"
#include "mars/onnx/Export.h"
#include "mars/support/AtomicFile.h"

#include <cstring>
#include <exception>
#include <set>

namespace mars::onnx {

using namespace detail;

namespace detail {

void tensorToProto(const ir::Tensor &tensor, const std::string &name,
                   ::onnx::TensorProto &proto) {
  proto.set_name(name);
  proto.set_data_type(dtypeToOnnx(tensor.dtype()));
  for (int64_t d : tensor.shape())
    proto.add_dims(d);
  proto.set_raw_data(
      std::string(reinterpret_cast<const char *>(tensor.bytes().data()),
                  tensor.bytes().size()));
}

} // namespace detail

namespace {

/// Dropout's mask is bool in ONNX and u8 in the IR (see ShapeInference).
int32_t elemType(const ir::Graph &graph, ir::ValueId id) {
  const ir::Value &v = graph.value(id);
  if (v.producer != ir::kNoNode) {
    const ir::Node &node = graph.node(v.producer);
    if (node.op == ir::OpKind::Dropout && node.outputs.size() > 1 &&
        node.outputs[1] == id)
      return ::onnx::TensorProto::BOOL;
  }
  return dtypeToOnnx(v.type.dtype);
}

/// The name of the symbolic batch dimension of graph inputs and outputs.
constexpr const char *kBatchDim = "N";

/// Whether a leading 1 is written as the symbolic batch dimension.
enum class BatchDim { Concrete, Symbolic };

/// Graph inputs and outputs of rank ≥ 2 with a leading 1 get the symbolic
/// batch dimension (BatchDim::Symbolic), so other tools can feed a batch; the
/// importer gives it the batch size asked for (1 by default), so import ∘
/// export is the identity. Inner values computed from the inputs are
/// written the same way (dependOnInputs).
void setValueInfo(const ir::Graph &graph, ir::ValueId id,
                  ::onnx::ValueInfoProto &info,
                  BatchDim batch = BatchDim::Concrete) {
  const ir::Value &v = graph.value(id);
  info.set_name(v.name);
  auto *tensorType = info.mutable_type()->mutable_tensor_type();
  tensorType->set_elem_type(elemType(graph, id));
  auto *shape = tensorType->mutable_shape();
  const std::vector<int64_t> &dims = v.type.shape;
  const bool batched =
      batch == BatchDim::Symbolic && dims.size() >= 2 && dims[0] == 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i == 0 && batched)
      shape->add_dim()->set_dim_param(kBatchDim);
    else
      shape->add_dim()->set_dim_value(dims[i]);
  }
}

/// The values computed from a graph input: they carry its batch dimension.
/// (Values computed from initializers alone, such as a dequantized weight,
/// do not.)
std::set<ir::ValueId> dependOnInputs(const ir::Graph &graph) {
  std::set<ir::ValueId> out(graph.inputs.begin(), graph.inputs.end());
  // Until nothing changes, so that node order does not matter.
  for (size_t before = 0; before != out.size();) {
    before = out.size();
    for (const ir::Node &node : graph.nodes()) {
      bool fromInput = false;
      for (ir::ValueId id : node.inputs)
        fromInput = fromInput || (id != ir::kNoValue && out.count(id));
      if (fromInput)
        out.insert(node.outputs.begin(), node.outputs.end());
    }
  }
  return out;
}

void setAttribute(const std::string &name, const ir::Attribute &value,
                  ::onnx::AttributeProto &a) {
  using ::onnx::AttributeProto;
  a.set_name(name);
  if (auto *i = std::get_if<int64_t>(&value)) {
    a.set_type(AttributeProto::INT);
    a.set_i(*i);
  } else if (auto *f = std::get_if<float>(&value)) {
    a.set_type(AttributeProto::FLOAT);
    a.set_f(*f);
  } else if (auto *s = std::get_if<std::string>(&value)) {
    a.set_type(AttributeProto::STRING);
    a.set_s(*s);
  } else if (auto *is = std::get_if<std::vector<int64_t>>(&value)) {
    a.set_type(AttributeProto::INTS);
    for (int64_t v : *is)
      a.add_ints(v);
  } else if (auto *fs = std::get_if<std::vector<float>>(&value)) {
    a.set_type(AttributeProto::FLOATS);
    for (float v : *fs)
      a.add_floats(v);
  } else {
    a.set_type(AttributeProto::TENSOR);
    tensorToProto(std::get<ir::Tensor>(value), "", *a.mutable_t());
  }
}

::onnx::ModelProto buildModel(const ir::Graph &graph) {
  ::onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name("marsc");
  auto *opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(17);

  ::onnx::GraphProto &g = *model.mutable_graph();
  g.set_name(graph.name.empty() ? "main" : graph.name);
  std::set<ir::ValueId> declared;
  for (ir::ValueId id : graph.inputs) {
    setValueInfo(graph, id, *g.add_input(), BatchDim::Symbolic);
    declared.insert(id);
  }
  for (ir::ValueId id : graph.initializers()) {
    tensorToProto(*graph.value(id).constant, graph.value(id).name,
                  *g.add_initializer());
    declared.insert(id);
  }
  for (const ir::Node &node : graph.nodes()) {
    ::onnx::NodeProto &n = *g.add_node();
    n.set_op_type(ir::opName(node.op));
    n.set_name(node.name);
    for (ir::ValueId id : node.inputs)
      n.add_input(id == ir::kNoValue ? "" : graph.value(id).name);
    for (ir::ValueId id : node.outputs)
      n.add_output(graph.value(id).name);
    for (const auto &[name, value] : node.attrs.entries())
      setAttribute(name, value, *n.add_attribute());
  }
  for (ir::ValueId id : graph.outputs) {
    setValueInfo(graph, id, *g.add_output(), BatchDim::Symbolic);
    declared.insert(id);
  }
  const std::set<ir::ValueId> batched = dependOnInputs(graph);
  for (size_t i = 0; i < graph.numValues(); ++i) {
    ir::ValueId id = static_cast<ir::ValueId>(i);
    if (!declared.count(id) && graph.value(id).producer != ir::kNoNode)
      setValueInfo(graph, id, *g.add_value_info(),
                   batched.count(id) ? BatchDim::Symbolic : BatchDim::Concrete);
  }
  // ONNX has no field for quantization parameters of arbitrary values.
  for (const ir::Value &v : graph.values()) {
    if (!v.type.quant)
      continue;
    auto *prop = model.add_metadata_props();
    prop->set_key(kQuantKeyPrefix + v.name);
    prop->set_value(encodeQuant(*v.type.quant));
  }
  for (const auto &[key, value] : graph.metadata) {
    auto *prop = model.add_metadata_props();
    prop->set_key(kMetadataKeyPrefix + key);
    prop->set_value(value);
  }
  return model;
}

} // namespace

Expected<std::string> exportModel(const ir::Graph &graph) {
  try {
    Status valid = ir::verifyStatus(graph);
    if (!valid)
      return valid.error().withContext("cannot export graph '" + graph.name +
                                       "'");
    std::string bytes;
    if (!buildModel(graph).SerializeToString(&bytes))
      return makeError("cannot export graph '", graph.name,
                       "': serialization failed (model larger than 2 GiB?)");
    return bytes;
  } catch (const std::exception &e) {
    return makeError("cannot export graph '", graph.name, "': ", e.what());
  }
}

Status exportModelFile(const ir::Graph &graph, const std::string &path) {
  Expected<std::string> bytes = exportModel(graph);
  if (!bytes)
    return bytes.error().withContext(path);
  return writeFileAtomic(path, *bytes);
}

} // namespace mars::onnx
