#include "mars/ir/Op.h"

#include "mars/support/Error.h"

#include <algorithm>
#include <sstream>

namespace mars::ir {

namespace {
const std::vector<OpInfo> &table() {
  static const std::vector<OpInfo> infos = {
#define MARS_OP(kind, onnxName, minIn, maxIn, minOut, maxOut, attrs)           \
  OpInfo{OpKind::kind, onnxName, minIn, maxIn, minOut, maxOut, attrs},
#include "mars/ir/Ops.def"
  };
  return infos;
}
} // namespace

const OpInfo &opInfo(OpKind kind) {
  size_t i = static_cast<size_t>(kind);
  MARS_CHECK(i < table().size(), "op kind out of range");
  return table()[i];
}

std::optional<OpKind> opKindFromName(const std::string &name) {
  for (const OpInfo &info : table())
    if (name == info.name)
      return info.kind;
  return std::nullopt;
}

const std::vector<OpKind> &allOpKinds() {
  static const std::vector<OpKind> kinds = [] {
    std::vector<OpKind> out;
    for (const OpInfo &info : table())
      out.push_back(info.kind);
    return out;
  }();
  return kinds;
}

std::string declaredAttributeType(OpKind kind, const std::string &attribute) {
  std::istringstream in(opInfo(kind).attributes);
  std::string item;
  while (in >> item) {
    size_t colon = item.find(':');
    if (item.substr(0, colon) == attribute)
      return item.substr(colon + 1);
  }
  return "";
}

std::string supportedOpList() {
  std::vector<std::string> names;
  for (const OpInfo &info : table())
    names.push_back(info.name);
  names.push_back("Constant"); // folded into initializers by the importer
  std::sort(names.begin(), names.end());
  std::string out;
  for (size_t i = 0; i < names.size(); ++i)
    out += (i ? ", " : "") + names[i];
  return out;
}

} // namespace mars::ir
