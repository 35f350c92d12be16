#pragma once
// Random one-Conv programs for the kernel tests (KernelTest.cpp,
// SaturatingKernelTest.cpp): any arch, the stored groups spread over the
// macros of all cores, each image loaded before its Computes.
#include "mars/support/Random.h"
#include "mars/support/IntRange.h"
#include "mars/program/Program.h"

#include <vector>

namespace mars::runtime::testing {

struct LayerCase {
  int inC = 8, h = 6, w = 6, outC = 12;
  int kernel = 3, stride = 1, pad = 1, groups = 1;
  int inputBits = 4;
  bool inputSigned = false;
  double density = 0.6; // fraction of CIM groups stored
};

/// A valid one-Conv program with accumulator output, the groups spread
/// over the macros of all cores, each image loaded before its Computes.
inline program::Program makeProgram(const arch::ArchSpec &a, const LayerCase &c,
                                    Random &rng) {
  program::Program p;
  p.arch = a;
  program::Buffer in;
  in.name = "x";
  in.channels = c.inC;
  in.height = c.h;
  in.width = c.w;
  in.bits = c.inputBits;
  in.isSigned = c.inputSigned;
  in.scale = 0.1;
  program::Buffer out;
  out.name = "y";
  out.channels = c.outC;
  out.height = (c.h + 2 * c.pad - c.kernel) / c.stride + 1;
  out.width = (c.w + 2 * c.pad - c.kernel) / c.stride + 1;
  out.bits = 32;
  out.isSigned = true;
  out.isAccumulator = true;
  out.bank = 1;
  p.buffers = {in, out};
  p.input = 0;
  p.output = 1;

  program::Layer l;
  l.name = "conv";
  l.inputs = {0};
  l.output = 1;
  l.kernelH = l.kernelW = c.kernel;
  l.strideH = l.strideW = c.stride;
  l.padTop = l.padLeft = l.padBottom = l.padRight = c.pad;
  l.groups = c.groups;
  l.matrix = 0;
  for (int oc = 0; oc < c.outC; ++oc) {
    l.bias.push_back(int32_t(rng.uniformInt(-1000, 1000)));
    l.logitScales.push_back(0.01);
  }
  p.layers = {l};

  program::WeightMatrix m;
  m.layer = 0;
  m.rows = c.kernel * c.kernel * c.inC;
  m.cols = c.outC;
  m.weightBits = a.macro.weightBits;
  m.rowsPerGroup = a.macro.wlOn;
  m.channelsPerGroup = a.partitionCols() / m.weightBits;
  m.rowGroups = (m.rows + m.rowsPerGroup - 1) / m.rowsPerGroup;
  m.colGroups = (m.cols + m.channelsPerGroup - 1) / m.channelsPerGroup;
  const int64_t lo = signedLo(m.weightBits), hi = signedHi(m.weightBits);
  const int inPerGroup = c.inC / c.groups, outPerGroup = c.outC / c.groups;
  for (int cg = 0; cg < m.colGroups; ++cg)
    for (int rg = 0; rg < m.rowGroups; ++rg) {
      if (!rng.chance(c.density))
        continue;
      program::Group g;
      g.rowGroup = rg;
      g.colGroup = cg;
      g.weights.assign(size_t(m.rowsPerGroup) * m.channelsPerGroup, 0);
      bool any = false;
      for (int r = 0; r < m.rowsPerGroup; ++r)
        for (int j = 0; j < m.channelsPerGroup; ++j) {
          const int row = rg * m.rowsPerGroup + r,
                    col = cg * m.channelsPerGroup + j;
          if (row >= m.rows || col >= m.cols)
            continue;
          // Grouped convolution: block-diagonal matrix.
          if ((row % c.inC) / inPerGroup != col / outPerGroup)
            continue;
          const int v = int(rng.uniformInt(lo, hi));
          g.weights[size_t(r) * m.channelsPerGroup + j] = int8_t(v);
          any |= v != 0;
        }
      if (any)
        m.groups.push_back(std::move(g));
    }
  p.matrices = {m};

  // Tiles of up to rows / wl_on groups of one column group, one per
  // partition, images filled partition by partition, macro by macro.
  const int slots = a.macro.rows / a.macro.wlOn;
  std::vector<program::PartitionImage> tiles;
  for (size_t i = 0; i < m.groups.size();) {
    program::PartitionImage t;
    t.matrix = 0;
    t.colGroup = m.groups[i].colGroup;
    t.indexCode.assign((m.rowGroups + 7) / 8, 0);
    for (int k = 0;
         k < slots && i < m.groups.size() && m.groups[i].colGroup == t.colGroup;
         ++k, ++i)
      t.indexCode[m.groups[i].rowGroup / 8] |=
          uint8_t(1u << (m.groups[i].rowGroup % 8));
    tiles.push_back(t);
  }
  p.streams.assign(a.chip.cores, {});
  const int pixels = out.height * out.width;
  for (size_t t = 0, image = 0; t < tiles.size(); ++image) {
    program::WeightImage im;
    im.core = int(image % a.chip.cores);
    im.macro = int(image / a.chip.cores % a.chip.macrosPerCore);
    im.layer = 0;
    im.partitions.resize(a.macro.partitions);
    for (int k = 0; k < a.macro.partitions && t < tiles.size(); ++k)
      im.partitions[k] = tiles[t++];
    p.images.push_back(im);
    auto &s = p.streams[im.core];
    s.push_back({program::Opcode::LoadImage, int32_t(image), 0, 0});
    // Two Computes over halves of the pixels, as replicas would.
    if (pixels / 2 > 0)
      s.push_back({program::Opcode::Compute, int32_t(image), 0, pixels / 2});
    s.push_back({program::Opcode::Compute, int32_t(image), pixels / 2, pixels});
  }
  for (auto &s : p.streams)
    s.push_back({program::Opcode::Sync, 0, 0, 0});
  p.streams[0].push_back({program::Opcode::Post, 0, 0, c.outC});
  return p;
}

inline std::vector<int32_t> randomInput(const program::Program &p,
                                        Random &rng) {
  const program::Buffer &b = p.buffers[0];
  std::vector<int32_t> x(size_t(b.size()));
  for (int32_t &v : x)
    v = int32_t(
        rng.uniformInt(intLo(b.bits, b.isSigned), intHi(b.bits, b.isSigned)));
  return x;
}

} // namespace mars::runtime::testing
