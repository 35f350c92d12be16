// ONNX AttributeProto → IR attribute values, and the typed, use-tracking
// reads that converters make through OpContext.
#include "Importer.h"

namespace mars::onnx::detail {

using ::onnx::AttributeProto;

namespace {
/// Very old exporters leave AttributeProto.type unset; infer it from the
/// field that is filled.
AttributeProto::AttributeType effectiveType(const AttributeProto &a) {
  if (a.type() != AttributeProto::UNDEFINED)
    return a.type();
  if (a.has_f())
    return AttributeProto::FLOAT;
  if (a.has_i())
    return AttributeProto::INT;
  if (a.has_s())
    return AttributeProto::STRING;
  if (a.has_t())
    return AttributeProto::TENSOR;
  if (a.floats_size())
    return AttributeProto::FLOATS;
  if (a.ints_size())
    return AttributeProto::INTS;
  return AttributeProto::UNDEFINED;
}
} // namespace

Expected<AttributeValues> parseAttributes(const ::onnx::NodeProto &node,
                                          bool boolAsUInt8) {
  AttributeValues out;
  for (const AttributeProto &a : node.attribute()) {
    if (!a.ref_attr_name().empty())
      return makeError("attribute '", a.name(),
                       "' refers to a function attribute, which is not "
                       "supported");
    if (out.count(a.name()))
      return makeError("attribute '", a.name(), "' is given twice");
    switch (effectiveType(a)) {
    case AttributeProto::FLOAT: out[a.name()] = a.f(); break;
    case AttributeProto::INT: out[a.name()] = int64_t{a.i()}; break;
    case AttributeProto::STRING: out[a.name()] = a.s(); break;
    case AttributeProto::INTS:
      out[a.name()] = std::vector<int64_t>(a.ints().begin(), a.ints().end());
      break;
    case AttributeProto::FLOATS:
      out[a.name()] = std::vector<float>(a.floats().begin(), a.floats().end());
      break;
    case AttributeProto::TENSOR: {
      Expected<ir::Tensor> t = tensorFromProto(a.t(), boolAsUInt8);
      if (!t)
        return t.error().withContext("attribute '" + a.name() + "'");
      out[a.name()] = t.take();
      break;
    }
    default:
      return makeError("attribute '", a.name(), "' has unsupported type ",
                       AttributeProto::AttributeType_Name(effectiveType(a)));
    }
  }
  return out;
}

template <typename T>
T OpContext::getTyped(const std::string &name, T fallback) {
  auto it = attrs_.find(name);
  if (it == attrs_.end())
    return fallback;
  used_.insert(name);
  if (const T *v = std::get_if<T>(&it->second))
    return *v;
  // A wrong attribute type means a malformed model. Keep converting with the
  // fallback; emit() and checkAttributes() report the first mismatch.
  if (!attrError_)
    attrError_ = fail("attribute '", name, "' has type ",
                      ir::attributeTypeCode(it->second), ", expected ",
                      ir::attributeTypeCode(ir::Attribute(fallback)));
  return fallback;
}

int64_t OpContext::getInt(const std::string &name, int64_t fallback) {
  return getTyped<int64_t>(name, fallback);
}
float OpContext::getFloat(const std::string &name, float fallback) {
  return getTyped<float>(name, fallback);
}
std::string OpContext::getString(const std::string &name,
                                 const std::string &fallback) {
  return getTyped<std::string>(name, fallback);
}
std::vector<int64_t> OpContext::getInts(const std::string &name,
                                        const std::vector<int64_t> &fallback) {
  return getTyped<std::vector<int64_t>>(name, fallback);
}
std::vector<float> OpContext::getFloats(const std::string &name,
                                        const std::vector<float> &fallback) {
  return getTyped<std::vector<float>>(name, fallback);
}

const ir::Tensor *OpContext::getTensor(const std::string &name) {
  auto it = attrs_.find(name);
  if (it == attrs_.end())
    return nullptr;
  used_.insert(name);
  if (const ir::Tensor *t = std::get_if<ir::Tensor>(&it->second))
    return t;
  if (!attrError_)
    attrError_ = fail("attribute '", name, "' has type ",
                      ir::attributeTypeCode(it->second), ", expected t");
  return nullptr;
}

Status OpContext::checkAttributes() const {
  if (attrError_)
    return *attrError_;
  for (const auto &entry : attrs_)
    if (!used_.count(entry.first))
      return fail("unsupported attribute '", entry.first, "'");
  return Status::success();
}

} // namespace mars::onnx::detail
