#pragma once
/// \file
/// The byte layout of each section of program.bin, written once as templates
/// over Encoder, Decoder and SizeCounter (Codec.h). Fields appear in declaration order of
/// Program.h; counts are u32, enumerations one byte.

#include "Codec.h"
#include "mars/program/Program.h"

namespace mars::program::detail {

/// Section kinds, in file order (the Arch section is JSON text).
enum SectionKind : uint32_t {
  kArch = 1,
  kInfo = 2,
  kBuffers = 3,
  kLayers = 4,
  kMatrices = 5,
  kImages = 6,
  kStreams = 7,
};
inline constexpr uint32_t kSectionCount = 7;
inline constexpr size_t kHeaderBytes = 64;
inline constexpr size_t kSectionEntryBytes = 24;
inline constexpr size_t kChecksumOffset = 24;
inline const char *sectionName(uint32_t kind) {
  static const char *names[] = {"?",      "arch",     "info",   "buffers",
                                "layers", "matrices", "images", "streams"};
  return kind <= kSectionCount ? names[kind] : "?";
}

template <typename IO> void ioInfo(IO &io, Program &p) {
  io.str(p.info.model);
  io.str(p.info.options);
  io.i64(p.info.scheduledCycles);
  io.i64(p.info.boundCycles);
  io.i64(p.info.denseMacs);
  io.str(p.info.trainedAdc);
  io.i32(p.input);
  io.i32(p.output);
  io.list("input_offset", p.inputOffset, 4, [&](float &v) { io.f32(v); });
  io.list("input_multiplier", p.inputMultiplier, 4,
          [&](float &v) { io.f32(v); });
  io.f64(p.inputClipLo);
  io.f64(p.inputClipHi);
  io.flag(p.powerOfTwoScales);
}

template <typename IO> void ioBuffer(IO &io, Buffer &b) {
  io.str(b.name);
  io.i32(b.channels);
  io.i32(b.height);
  io.i32(b.width);
  io.i32(b.bits);
  io.flag(b.isSigned);
  io.f64(b.scale);
  io.flag(b.isAccumulator);
  io.enumeration(b.memory, 2);
  io.i32(b.bank);
  io.i64(b.offset);
}
inline constexpr size_t kBufferMinBytes = 4 + 4 * 4 + 1 + 8 + 1 + 1 + 4 + 8;

template <typename IO> void ioRequant(IO &io, Requant &r) {
  io.i32(r.value);
  io.i32(r.shift);
}

template <typename IO> void ioLayer(IO &io, Layer &l) {
  io.enumeration(l.kind, 6);
  io.str(l.name);
  io.list("inputs", l.inputs, 4, [&](int32_t &v) { io.i32(v); });
  io.i32(l.output);
  for (int32_t *f : {&l.kernelH, &l.kernelW, &l.strideH, &l.strideW, &l.padTop,
                     &l.padLeft, &l.padBottom, &l.padRight, &l.dilationH,
                     &l.dilationW, &l.groups, &l.matrix})
    io.i32(*f);
  io.list("bias", l.bias, 4, [&](int32_t &v) { io.i32(v); });
  io.list("requant", l.requant, 8, [&](Requant &r) { ioRequant(io, r); });
  io.list("logit_scales", l.logitScales, 8, [&](double &v) { io.f64(v); });
  io.flag(l.countIncludePad);
  io.flag(l.ceilMode);
  io.list("input_requant", l.inputRequant, 8,
          [&](Requant &r) { ioRequant(io, r); });
  io.i64(l.clampLo);
  io.i64(l.clampHi);
  io.i32(l.fusedInto);
}
inline constexpr size_t kLayerMinBytes =
    1 + 4 + 4 + 4 + 12 * 4 + 4 * 3 + 1 + 1 + 4 + 16 + 4;

template <typename IO> void ioMatrix(IO &io, WeightMatrix &m) {
  for (int32_t *f : {&m.layer, &m.rows, &m.cols, &m.weightBits, &m.rowsPerGroup,
                     &m.channelsPerGroup, &m.rowGroups, &m.colGroups})
    io.i32(*f);
  io.list("groups", m.groups, 12, [&](Group &g) {
    io.i32(g.rowGroup);
    io.i32(g.colGroup);
    io.byteList("weights", g.weights);
  });
}

template <typename IO> void ioImage(IO &io, WeightImage &w) {
  io.i32(w.core);
  io.i32(w.macro);
  io.i32(w.layer);
  io.list("partitions", w.partitions, 12, [&](PartitionImage &p) {
    io.i32(p.matrix);
    io.i32(p.colGroup);
    io.byteList("index_code", p.indexCode);
  });
}

template <typename IO> void ioStream(IO &io, std::vector<Instr> &s) {
  io.list("instr", s, 13, [&](Instr &in) {
    io.enumeration(in.op, 6);
    io.i32(in.a);
    io.i32(in.b);
    io.i32(in.c);
  });
}

/// Every numbered section of `p` except the arch, through `io`.
template <typename IO> void ioSection(IO &io, uint32_t kind, Program &p) {
  switch (kind) {
  case kInfo: ioInfo(io, p); break;
  case kBuffers:
    io.list("buffers", p.buffers, kBufferMinBytes,
            [&](Buffer &b) { ioBuffer(io, b); });
    break;
  case kLayers:
    io.list("layers", p.layers, kLayerMinBytes,
            [&](Layer &l) { ioLayer(io, l); });
    break;
  case kMatrices:
    io.list("matrices", p.matrices, 36,
            [&](WeightMatrix &m) { ioMatrix(io, m); });
    break;
  case kImages:
    io.list("images", p.images, 16, [&](WeightImage &w) { ioImage(io, w); });
    break;
  case kStreams:
    io.list("streams", p.streams, 4,
            [&](std::vector<Instr> &s) { ioStream(io, s); });
    break;
  default: break;
  }
}

} // namespace mars::program::detail
