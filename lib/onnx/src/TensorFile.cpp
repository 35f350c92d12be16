// Tensors as serialized TensorProto files (ONNX backend test data).
#include "Convert.h"

#include "mars/onnx/TensorFile.h"
#include "mars/support/AtomicFile.h"

#include <exception>

namespace mars::onnx {

using namespace detail;

Expected<ir::Tensor> readTensorProtoFile(const std::string &path,
                                         std::string *name) {
  try {
    Expected<std::string> bytes = readFile(path);
    if (!bytes)
      return bytes.error();
    ::onnx::TensorProto proto;
    if (!proto.ParseFromString(*bytes))
      return makeError(path, ": not a valid TensorProto file");
    // BOOL reads as u8 0/1: Dropout masks and training_mode inputs.
    Expected<ir::Tensor> tensor = tensorFromProto(proto, /*boolAsUInt8=*/true);
    if (!tensor)
      return tensor.error().withContext(path + ": tensor '" + proto.name() +
                                        "'");
    if (name)
      *name = proto.name();
    return tensor;
  } catch (const std::exception &e) {
    return makeError(path, ": ", e.what());
  }
}

Expected<std::string> serializeTensorProto(const ir::Tensor &tensor,
                                           const std::string &name) {
  try {
    ::onnx::TensorProto proto;
    tensorToProto(tensor, name, proto);
    std::string bytes;
    if (!proto.SerializeToString(&bytes))
      return makeError("cannot serialize tensor '", name, "'");
    return bytes;
  } catch (const std::exception &e) {
    return makeError(e.what());
  }
}

Status writeTensorProtoFile(const ir::Tensor &tensor, const std::string &name,
                            const std::string &path) {
  auto bytes = serializeTensorProto(tensor, name);
  if (!bytes)
    return bytes.error().withContext(path);
  return writeFileAtomic(path, *bytes);
}

} // namespace mars::onnx
