#pragma once
/// \file
/// Typed node attributes.

#include "mars/ir/Tensor.h"

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace mars::ir {

/// One attribute value. The alternatives mirror ONNX's INT, FLOAT, STRING,
/// INTS, FLOATS and TENSOR attribute types.
using Attribute =
    std::variant<int64_t, float, std::string, std::vector<int64_t>,
                 std::vector<float>, Tensor>;

/// Type code of an attribute value: "i", "f", "s", "ints", "floats", "t".
const char *attributeTypeCode(const Attribute &a);

/// Attributes of a node, ordered by name so that printing is deterministic.
class AttributeMap {
public:
  bool has(const std::string &name) const { return map_.count(name) != 0; }
  void set(const std::string &name, Attribute value) {
    map_[name] = std::move(value);
  }
  void erase(const std::string &name) { map_.erase(name); }
  const Attribute *find(const std::string &name) const {
    auto it = map_.find(name);
    return it == map_.end() ? nullptr : &it->second;
  }

  /// Typed getters returning `fallback` when the attribute is absent. A
  /// present attribute of another type is an internal error (the verifier
  /// checks types against Ops.def).
  int64_t getInt(const std::string &name, int64_t fallback) const;
  float getFloat(const std::string &name, float fallback) const;
  std::string getString(const std::string &name,
                        const std::string &fallback) const;
  std::vector<int64_t> getInts(const std::string &name,
                               const std::vector<int64_t> &fallback) const;
  std::vector<float> getFloats(const std::string &name,
                               const std::vector<float> &fallback) const;

  const std::map<std::string, Attribute> &entries() const { return map_; }
  size_t size() const { return map_.size(); }
  bool operator==(const AttributeMap &o) const { return map_ == o.map_; }

private:
  std::map<std::string, Attribute> map_;
};

} // namespace mars::ir
