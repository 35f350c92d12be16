// The text table `marsc verify` prints.
#include "mars/verify/Verify.h"

#include <cstdio>

namespace mars::verify {

namespace {

std::string cell(bool present, int64_t differing, int64_t maxDiff,
                 int64_t total) {
  if (!present)
    return "-";
  if (differing == 0)
    return "equal";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%lld/%lld off, max %lld",
                static_cast<long long>(differing),
                static_cast<long long>(total), static_cast<long long>(maxDiff));
  return buf;
}

std::string optionalValue(const std::optional<int64_t> &v) {
  return v ? std::to_string(*v) : std::string("-");
}

} // namespace

std::string formatVerifyResult(const VerifyResult &r) {
  std::string out;
  char line[512];
  const std::string qdqHeader = std::string("QDQ (") +
                                interp::precisionName(r.precision) +
                                ") vs integer";
  std::snprintf(line, sizeof line, "%-28s %-9s %9s  %-28s %-28s\n", "layer",
                "op", "elements", qdqHeader.c_str(), "chip vs integer");
  out += line;
  for (const ValueAgreement &a : r.values) {
    const int64_t total = a.elements * r.images;
    std::snprintf(
        line, sizeof line, "%-28s %-9s %9lld  %-28s %-28s%s\n",
        a.layer.substr(0, 28).c_str(), a.op.c_str(),
        static_cast<long long>(a.elements),
        cell(a.hasFloat, a.floatDiffering, a.floatMaxDiff, total).c_str(),
        cell(a.hasChip, a.chipDiffering, a.chipMaxDiff, total).c_str(),
        a.inputsAgreed ? "" : "  (inputs differed)");
    out += line;
  }
  if (!r.first) {
    std::snprintf(line, sizeof line,
                  "agree: %d image(s); the chip equals the integer reference "
                  "everywhere and the QDQ model (%s) %s\n",
                  r.images, interp::precisionName(r.precision),
                  allowedQdqDifference(r.precision) == 0
                      ? "equals it"
                      : "is within 1 LSB of it where its inputs agreed");
    out += line;
    return out;
  }
  const Divergence &d = *r.first;
  std::snprintf(line, sizeof line,
                "DIVERGES at layer '%s' (%s), image %d, element %lld (channel "
                "%d, y %d, x %d): QDQ %s, integer %lld, chip %s (the %s "
                "differs; the layer's inputs agreed)\n",
                d.layer.c_str(), d.op.c_str(), d.image,
                static_cast<long long>(d.element), d.channel, d.y, d.x,
                optionalValue(d.floatValue).c_str(),
                static_cast<long long>(d.integerValue),
                optionalValue(d.chipValue).c_str(), d.what.c_str());
  out += line;
  return out;
}

} // namespace mars::verify
