// Text form of the integer network for --print-ir-after lower-to-integer/fuse.
#include "mars/quant/IntegerNet.h"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace mars::passes {

namespace {
std::string valueText(const quant::IntegerNet &net, int id) {
  const quant::IntValue &v = net.value(id);
  char buf[200];
  if (v.isAccumulator)
    std::snprintf(buf, sizeof buf, "%%%s: acc32[%d,%d,%d]", v.name.c_str(),
                  v.channels, v.height, v.width);
  else
    std::snprintf(buf, sizeof buf, "%%%s: %s%d[%d,%d,%d] scale=%.6g",
                  v.name.c_str(), v.quant.isSigned ? "i" : "u", v.quant.bits,
                  v.channels, v.height, v.width, v.quant.scale);
  return buf;
}
} // namespace

/// One line per layer; a layer that fuse put into a Conv's digital pipeline
/// (`fusedInto[i]` ≥ 0) ends with "fused into <that Conv's name>".
std::string printIntegerNet(const quant::IntegerNet &net,
                            const std::vector<int32_t> &fusedInto) {
  std::string out = "integer-net " + net.name + " {\n";
  out += "  input " + valueText(net, net.input) + "\n";
  for (const quant::IntLayer &l : net.layers) {
    out +=
        "  " + valueText(net, l.output) + " = " + quant::intOpName(l.op) + "(";
    for (size_t i = 0; i < l.inputs.size(); ++i)
      out += (i ? ", %" : "%") + net.value(l.inputs[i]).name;
    char buf[200];
    std::snprintf(
        buf, sizeof buf, ") {k=%dx%d s=%dx%d g=%d wbits=%d clamp=[%lld,%lld]}",
        l.kernelH, l.kernelW, l.strideH, l.strideW, l.groups, l.weightBits,
        static_cast<long long>(l.clampLo), static_cast<long long>(l.clampHi));
    out += buf;
    out += " # " + l.name;
    const size_t i = size_t(&l - net.layers.data());
    if (i < fusedInto.size() && fusedInto[i] >= 0)
      out += ", fused into " + net.layers[size_t(fusedInto[i])].name;
    out += "\n";
  }
  out += "  output %" + net.value(net.output).name + "\n}\n";
  return out;
}

} // namespace mars::passes
