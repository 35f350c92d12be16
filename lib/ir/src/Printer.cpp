#include "mars/ir/Printer.h"

#include <cstdio>
#include <sstream>

namespace mars::ir {

namespace {
std::string formatFloat(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string formatAttribute(const Attribute &a) {
  if (auto *i = std::get_if<int64_t>(&a))
    return std::to_string(*i);
  if (auto *f = std::get_if<float>(&a))
    return formatFloat(*f);
  if (auto *s = std::get_if<std::string>(&a))
    return "\"" + *s + "\"";
  if (auto *is = std::get_if<std::vector<int64_t>>(&a)) {
    std::string out = "[";
    for (size_t k = 0; k < is->size(); ++k)
      out += (k ? "," : "") + std::to_string((*is)[k]);
    return out + "]";
  }
  if (auto *fs = std::get_if<std::vector<float>>(&a)) {
    std::string out = "[";
    for (size_t k = 0; k < fs->size(); ++k)
      out += (k ? "," : "") + formatFloat((*fs)[k]);
    return out + "]";
  }
  return "tensor " + std::get<Tensor>(a).type().toString();
}

std::string ref(const Graph &g, ValueId id) {
  return id == kNoValue ? std::string("none") : "%" + g.value(id).name;
}
} // namespace

std::string printGraph(const Graph &graph) {
  std::ostringstream out;
  out << "graph " << graph.name << " {\n";
  for (ValueId id : graph.inputs)
    out << "  input " << ref(graph, id) << ": "
        << graph.value(id).type.toString() << "\n";
  for (ValueId id : graph.initializers()) {
    const Value &v = graph.value(id);
    out << "  init " << ref(graph, id) << ": " << v.type.toString();
    // Small constants (shapes, pads, scalars) are printed in full because
    // they change meaning; weights are summarised.
    if (v.constant->numElements() <= 8) {
      out << " = [";
      for (int64_t i = 0; i < v.constant->numElements(); ++i)
        out << (i ? "," : "") << formatFloat(v.constant->getAsDouble(i));
      out << "]";
    }
    out << "\n";
  }
  for (const Node &node : graph.nodes()) {
    out << "  ";
    for (size_t i = 0; i < node.outputs.size(); ++i)
      out << (i ? ", " : "") << ref(graph, node.outputs[i]) << ": "
          << graph.value(node.outputs[i]).type.toString();
    out << " = " << opName(node.op) << "(";
    for (size_t i = 0; i < node.inputs.size(); ++i)
      out << (i ? ", " : "") << ref(graph, node.inputs[i]);
    out << ")";
    if (node.attrs.size()) {
      out << " {";
      bool first = true;
      for (const auto &[name, value] : node.attrs.entries()) {
        out << (first ? "" : ", ") << name << "=" << formatAttribute(value);
        first = false;
      }
      out << "}";
    }
    out << " # " << node.name << "\n";
  }
  for (ValueId id : graph.outputs)
    out << "  output " << ref(graph, id) << "\n";
  out << "}\n";
  return out.str();
}

} // namespace mars::ir
