#include "mars/ir/Attribute.h"

#include "mars/support/Error.h"

namespace mars::ir {

const char *attributeTypeCode(const Attribute &a) {
  static const char *codes[] = {"i", "f", "s", "ints", "floats", "t"};
  return codes[a.index()];
}

namespace {
template <typename T>
T getTyped(const AttributeMap &map, const std::string &name, T fallback) {
  const Attribute *a = map.find(name);
  if (!a)
    return fallback;
  const T *v = std::get_if<T>(a);
  MARS_CHECK(v != nullptr, "attribute has another type");
  return *v;
}
} // namespace

int64_t AttributeMap::getInt(const std::string &name, int64_t fallback) const {
  return getTyped<int64_t>(*this, name, fallback);
}
float AttributeMap::getFloat(const std::string &name, float fallback) const {
  return getTyped<float>(*this, name, fallback);
}
std::string AttributeMap::getString(const std::string &name,
                                    const std::string &fallback) const {
  return getTyped<std::string>(*this, name, fallback);
}
std::vector<int64_t>
AttributeMap::getInts(const std::string &name,
                      const std::vector<int64_t> &fallback) const {
  return getTyped<std::vector<int64_t>>(*this, name, fallback);
}
std::vector<float>
AttributeMap::getFloats(const std::string &name,
                        const std::vector<float> &fallback) const {
  return getTyped<std::vector<float>>(*this, name, fallback);
}

} // namespace mars::ir
