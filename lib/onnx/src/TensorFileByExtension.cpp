// Tensor files chosen by extension: .npy (lib/data) or .pb (TensorProto).
#include "mars/onnx/TensorFile.h"

#include "mars/data/Npy.h"
#include "mars/support/AtomicFile.h"

#include <cstdio>

namespace mars::onnx {

namespace {

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Both sides store raw little-endian elements, so only the dtype tag maps.
data::NpyDType toNpy(ir::DType dtype) {
  switch (dtype) {
  case ir::DType::Float32: return data::NpyDType::Float32;
  case ir::DType::Int8: return data::NpyDType::Int8;
  case ir::DType::UInt8: return data::NpyDType::UInt8;
  case ir::DType::Int32: return data::NpyDType::Int32;
  case ir::DType::Int64: return data::NpyDType::Int64;
  case ir::DType::Float64: return data::NpyDType::Float64;
  }
  MARS_CHECK(false, "unknown DType");
}

ir::DType fromNpy(data::NpyDType dtype) {
  switch (dtype) {
  case data::NpyDType::Float32: return ir::DType::Float32;
  case data::NpyDType::Int8: return ir::DType::Int8;
  case data::NpyDType::UInt8: return ir::DType::UInt8;
  case data::NpyDType::Int32: return ir::DType::Int32;
  case data::NpyDType::Int64: return ir::DType::Int64;
  case data::NpyDType::Float64: return ir::DType::Float64;
  }
  MARS_CHECK(false, "unknown NpyDType");
}

} // namespace

Status checkTensorFileExtension(const std::string &path) {
  if (endsWith(path, ".npy") || endsWith(path, ".pb"))
    return Status::success();
  return makeError(path, ": unknown tensor file type (use .npy or .pb)");
}

Expected<ir::Tensor> readTensorFile(const std::string &path) {
  MARS_TRY(checkTensorFileExtension(path));
  if (endsWith(path, ".pb"))
    return readTensorProtoFile(path);
  auto array = data::readNpyFile(path);
  if (!array)
    return array.error();
  ir::Tensor tensor(fromNpy(array->dtype), array->shape);
  MARS_CHECK(tensor.byteSize() == array->bytes.size());
  tensor.bytes() = std::move(array->bytes);
  return tensor;
}

Expected<std::string> tensorFileBytes(const ir::Tensor &tensor,
                                      const std::string &name,
                                      const std::string &path) {
  MARS_TRY(checkTensorFileExtension(path));
  if (endsWith(path, ".pb")) {
    auto bytes = serializeTensorProto(tensor, name);
    if (!bytes)
      return bytes.error().withContext(path);
    return bytes;
  }
  data::NpyArray array;
  array.dtype = toNpy(tensor.dtype());
  array.shape = tensor.shape();
  array.bytes = tensor.bytes();
  auto bytes = data::serializeNpy(array);
  if (!bytes)
    return bytes.error().withContext(path);
  return bytes;
}

Status writeTensorFile(const ir::Tensor &tensor, const std::string &name,
                       const std::string &path) {
  auto bytes = tensorFileBytes(tensor, name, path);
  if (!bytes)
    return bytes.error();
  return writeFileAtomic(path, *bytes);
}

Expected<std::vector<ir::Tensor>>
readGraphInputs(const ir::Graph &graph, const std::vector<std::string> &paths,
                const std::string &model) {
  if (paths.size() != graph.inputs.size()) {
    std::string names;
    for (ir::ValueId id : graph.inputs)
      names += (names.empty() ? "'" : ", '") + graph.value(id).name + "'";
    return makeError(model, ": the model has ", graph.inputs.size(),
                     " input(s) (", names, ") but ", paths.size(),
                     " --input file(s) were given");
  }
  std::vector<ir::Tensor> tensors;
  for (size_t i = 0; i < paths.size(); ++i) {
    auto tensor = readTensorFile(paths[i]);
    if (!tensor)
      return tensor.error();
    const ir::Value &input = graph.value(graph.inputs[i]);
    ir::TensorType expected{input.type.dtype, input.type.shape, std::nullopt};
    ir::TensorType got{tensor->dtype(), tensor->shape(), std::nullopt};
    if (got != expected)
      return makeError("input '", input.name, "' (", paths[i],
                       "): the model expects ", expected.toString(),
                       " but the file holds ", got.toString(),
                       got.dtype == ir::DType::Float64 &&
                               expected.dtype == ir::DType::Float32
                           ? kFloat64Advice
                           : "");
    tensors.push_back(tensor.take());
  }
  return tensors;
}

Status writeGraphOutputs(const ir::Graph &graph,
                         const std::vector<ir::Tensor> &outputs,
                         const std::vector<std::string> &paths) {
  for (size_t i = 0; i < paths.size(); ++i) {
    Status s = writeTensorFile(outputs[i], graph.value(graph.outputs[i]).name,
                               paths[i]);
    if (s)
      continue;
    for (size_t k = 0; k < i; ++k)
      std::remove(paths[k].c_str());
    return s;
  }
  return Status::success();
}

} // namespace mars::onnx
