// Text form of the integer network for --print-ir-after legalize/fuse.
#include "mars/quant/IntegerNet.h"

#include <cstdio>
#include <string>

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

std::string printIntegerNet(const quant::IntegerNet &net) {
  std::string out = "integer-net " + net.name + " {\n";
  out += "  input " + valueText(net, net.input) + "\n";
  for (const quant::IntLayer &l : net.layers) {
    out += "  " + valueText(net, l.output) + " = " + quant::intOpName(l.op) + "(";
    for (size_t i = 0; i < l.inputs.size(); ++i)
      out += (i ? ", %" : "%") + net.value(l.inputs[i]).name;
    char buf[200];
    std::snprintf(buf, sizeof buf, ") {k=%dx%d s=%dx%d g=%d wbits=%d clamp=[%lld,%lld]}",
                  l.kernelH, l.kernelW, l.strideH, l.strideW, l.groups,
                  l.weightBits, static_cast<long long>(l.clampLo),
                  static_cast<long long>(l.clampHi));
    out += buf;
    out += " # " + l.name + "\n";
  }
  out += "  output %" + net.value(net.output).name + "\n}\n";
  return out;
}

} // namespace mars::passes
