/// disassemble: the whole program as deterministic text (golden tests diff
/// it; users read it).
#include "mars/program/ProgramFile.h"
#include "mars/support/Format.h"

#include <cstdio>

namespace mars::program {

namespace {

std::string join(const std::vector<int32_t> &v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

std::string indexBits(const PartitionImage &p, int32_t rowGroups) {
  std::string s;
  for (int32_t b = 0; b < rowGroups; ++b)
    s += (p.indexCode[b / 8] >> (b % 8) & 1) ? '1' : '0';
  return s;
}

void layerText(std::string &out, const Program &p, size_t i) {
  const Layer &l = p.layers[i];
  const Buffer &o = p.buffers[l.output];
  out += formatString("  L%zu %s '%s': in [%s] -> b%d (%dx%dx%d)", i,
                      layerKindName(l.kind), l.name.c_str(),
                      join(l.inputs).c_str(), l.output, o.channels, o.height,
                      o.width);
  if (l.kind == LayerKind::Conv || l.kind == LayerKind::MaxPool ||
      l.kind == LayerKind::AvgPool)
    out += formatString(" k%dx%d s%dx%d p%d,%d,%d,%d d%dx%d", l.kernelH,
                        l.kernelW, l.strideH, l.strideW, l.padTop, l.padLeft,
                        l.padBottom, l.padRight, l.dilationH, l.dilationW);
  if (l.kind == LayerKind::Conv)
    out += formatString(" groups %d matrix M%d", l.groups, l.matrix);
  if (l.kind == LayerKind::AvgPool && l.countIncludePad)
    out += " count_include_pad";
  if (l.ceilMode)
    out += " ceil_mode";
  if (l.kind == LayerKind::Conv || l.kind == LayerKind::AvgPool ||
      l.kind == LayerKind::Add)
    out +=
        formatString(" clamp [%lld, %lld]", static_cast<long long>(l.clampLo),
                     static_cast<long long>(l.clampHi));
  if (l.fusedInto >= 0)
    out += formatString(" fused into L%d", l.fusedInto);
  out += "\n";
  if (!l.bias.empty())
    out += "    bias " + join(l.bias) + "\n";
  if (!l.requant.empty()) {
    out += l.kind == LayerKind::AvgPool ? "    window requant" : "    requant";
    for (const Requant &r : l.requant)
      out += formatString(" %d>>%d", r.value, r.shift);
    out += "\n";
  }
  if (!l.inputRequant.empty()) {
    out += "    input requant";
    for (const Requant &r : l.inputRequant)
      out += formatString(" %d>>%d", r.value, r.shift);
    out += "\n";
  }
  if (!l.logitScales.empty()) {
    out += "    logit scales";
    for (double s : l.logitScales)
      out += formatString(" %.9g", s);
    out += "\n";
  }
}

/// The header comment lines and the input/output line: where the program
/// came from, what the scheduler estimated, the arch it was compiled for and
/// how the input is normalised.
void headerText(std::string &out, const Program &p) {
  out += formatString("; marsc program, format version %u\n", kFormatVersion);
  out += "; model: " + p.info.model + "\n";
  out += "; options: " + p.info.options + "\n";
  if (!p.info.trainedAdc.empty())
    out += "; trained for ADC: " + p.info.trainedAdc + "\n";
  out +=
      formatString("; estimate: %lld cycles per image, lower bound %lld; dense "
                   "MACs %lld\n",
                   static_cast<long long>(p.info.scheduledCycles),
                   static_cast<long long>(p.info.boundCycles),
                   static_cast<long long>(p.info.denseMacs));
  out += "\narch:\n" + arch::archToJson(p.arch) + "\n";

  out += formatString("\ninput b%d, output b%d", p.input, p.output);
  if (!p.inputOffset.empty()) {
    out += "; normalise (x - offset) * multiplier per channel:";
    for (size_t c = 0; c < p.inputOffset.size(); ++c)
      out += formatString(" (%.9g, %.9g)", p.inputOffset[c],
                          c < p.inputMultiplier.size() ? p.inputMultiplier[c]
                                                       : 1.0f);
  }
  if (p.inputClipLo > -1e300 || p.inputClipHi < 1e300)
    out += formatString("; clip [%.9g, %.9g]", p.inputClipLo, p.inputClipHi);
  out += p.powerOfTwoScales ? "; power-of-two scales\n" : "\n";
}

void buffersText(std::string &out, const Program &p) {
  out += formatString("\nbuffers (%zu):\n", p.buffers.size());
  for (size_t i = 0; i < p.buffers.size(); ++i) {
    const Buffer &b = p.buffers[i];
    out +=
        formatString("  b%zu '%s' %dx%dx%d %s%d scale %.9g %s bank %d offset "
                     "%lld\n",
                     i, b.name.c_str(), b.channels, b.height, b.width,
                     b.isAccumulator ? "acc" : (b.isSigned ? "s" : "u"), b.bits,
                     b.scale, b.memory == Memory::Sram ? "sram" : "dram",
                     b.bank, static_cast<long long>(b.offset));
  }
}

/// Each matrix with its stored groups' weights, one channel's weights per
/// comma-separated run.
void matricesText(std::string &out, const Program &p) {
  out += formatString("\nmatrices (%zu):\n", p.matrices.size());
  for (size_t i = 0; i < p.matrices.size(); ++i) {
    const WeightMatrix &m = p.matrices[i];
    out +=
        formatString("  M%zu layer L%d: %dx%d, %d-bit, groups %dx%d of %dx%d, "
                     "%zu of %d stored\n",
                     i, m.layer, m.rows, m.cols, m.weightBits, m.rowGroups,
                     m.colGroups, m.rowsPerGroup, m.channelsPerGroup,
                     m.groups.size(), m.rowGroups * m.colGroups);
    for (const Group &g : m.groups) {
      out += formatString("    g(%d,%d):", g.rowGroup, g.colGroup);
      for (size_t k = 0; k < g.weights.size(); ++k)
        out += (k % m.channelsPerGroup == 0 ? " " : ",") +
               std::to_string(int(g.weights[k]));
      out += "\n";
    }
  }
}

/// Each weight image with its used partitions and their index codes.
void imagesText(std::string &out, const Program &p) {
  out += formatString("\nweight images (%zu):\n", p.images.size());
  for (size_t i = 0; i < p.images.size(); ++i) {
    const WeightImage &w = p.images[i];
    out += formatString("  I%zu core %d macro %d layer L%d\n", i, w.core,
                        w.macro, w.layer);
    for (size_t k = 0; k < w.partitions.size(); ++k) {
      const PartitionImage &part = w.partitions[k];
      if (part.matrix < 0)
        continue;
      out += formatString(
          "    p%zu M%d col group %d index %s (%d groups)\n", k, part.matrix,
          part.colGroup,
          indexBits(part, p.matrices[part.matrix].rowGroups).c_str(),
          storedGroups(part));
    }
  }
}

/// One instruction per line; the operands are printed by what they mean
/// for the opcode (image, pixel range, layer and channel range).
void instrText(std::string &out, const Program &p, const Instr &in) {
  switch (in.op) {
  case Opcode::LoadImage:
    out += formatString("  %-8s I%d", opcodeName(in.op), in.a);
    if (in.b != 0) // A replica's bytes (Program.h).
      out += formatString(" from I%d", loadSource(in));
    out += loadKeeps(in) ? " keep\n" : "\n";
    break;
  case Opcode::FetchImage:
    out += formatString("  %-8s I%d\n", opcodeName(in.op), in.a);
    break;
  case Opcode::Compute:
    out += formatString("  %-8s I%d pixels [%d, %d)\n", opcodeName(in.op), in.a,
                        in.b, in.c);
    break;
  case Opcode::Post:
  case Opcode::Digital:
    out +=
        formatString("  %-8s L%d '%s' channels [%d, %d)\n", opcodeName(in.op),
                     in.a, p.layers[in.a].name.c_str(), in.b, in.c);
    break;
  case Opcode::Sync:
    out += formatString("  %-8s %d%s\n", opcodeName(in.op), in.a,
                        isStageBoundary(in) ? " stage boundary" : "");
    break;
  }
}

} // namespace

std::string disassemble(const Program &p) {
  std::string out;
  headerText(out, p);
  buffersText(out, p);

  out += formatString("\nlayers (%zu):\n", p.layers.size());
  for (size_t i = 0; i < p.layers.size(); ++i)
    layerText(out, p, i);

  matricesText(out, p);
  imagesText(out, p);

  for (size_t c = 0; c < p.streams.size(); ++c) {
    out += formatString("\ncore %zu (%zu instructions):\n", c,
                        p.streams[c].size());
    for (const Instr &in : p.streams[c])
      instrText(out, p, in);
  }
  return out;
}

} // namespace mars::program
