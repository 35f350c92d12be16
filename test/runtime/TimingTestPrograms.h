#pragma once
// Tiny hand-built programs for the timing, energy and report tests: one 1×1
// Conv whose weight images store a chosen number of CIM groups per
// partition, so that every cycle count can be worked out by hand.
#include "mars/program/Program.h"
#include "mars/runtime/Timing.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace mars::runtime::testing {

/// The arch the hand-computed expectations were worked out on: the default
/// with an 8-byte-per-cycle DRAM channel (so off-chip transfers take
/// visibly many cycles).
inline arch::ArchSpec handArch() {
  arch::ArchSpec a = arch::defaultArch();
  // Round constants of its own, so that hand-computed figures in the tests
  // do not move when the default arch is recalibrated.
  a.timing.clockMhz = 200;
  a.timing.dramBytesPerCycle = 8;
  a.timing.dramLatencyCycles = 0; // Its own test case adds latency.
  a.energy.activationPj = 1.2;
  a.energy.adcPj = 0.35;
  a.energy.shiftAddPjPerBit = 0.01;
  a.energy.accumulatePj = 0.05;
  a.energy.sramBytePj = 0.6;
  a.energy.weightSramBytePj = 0.6;
  a.energy.dramBytePj = 20.0;
  a.energy.rowWritePj = 4.0;
  a.energy.staticMw = 5.0;
  return a;
}

/// Index code with the first `n` row groups set, over `rowGroups` groups.
inline std::vector<uint8_t> firstGroupsCode(int n, int rowGroups) {
  std::vector<uint8_t> code((rowGroups + 7) / 8, 0);
  for (int i = 0; i < n; ++i)
    code[i / 8] |= uint8_t(1u << (i % 8));
  return code;
}

/// A program with one 1×1 Conv "conv" on a `height`×`width` image. Its
/// matrix has max(groups) row groups and one column group per entry of
/// `groups`; column group p stores its first groups[p] row groups. No image
/// and no instruction yet (see addImage); the streams are empty, one per
/// core of `arch`. info.denseMacs is the dense matrix's MACs.
inline program::Program tinyConvProgram(const arch::ArchSpec &arch,
                                        const std::vector<int> &groups,
                                        int height = 4, int width = 4,
                                        int inputBits = 8) {
  program::Program p;
  p.arch = arch;
  p.info.model = "tiny";
  const int rowGroups =
      std::max(1, *std::max_element(groups.begin(), groups.end()));
  const int cpp = arch.channelsPerPartition();

  program::WeightMatrix m;
  m.layer = 0;
  m.rowsPerGroup = arch.macro.wlOn;
  m.channelsPerGroup = cpp;
  m.weightBits = arch.macro.weightBits;
  m.rowGroups = rowGroups;
  m.colGroups = static_cast<int32_t>(groups.size());
  m.rows = rowGroups * m.rowsPerGroup;
  m.cols = m.colGroups * cpp;
  for (int cg = 0; cg < m.colGroups; ++cg)
    for (int rg = 0; rg < groups[cg]; ++rg)
      m.groups.push_back(
          {rg, cg, std::vector<int8_t>(size_t(m.rowsPerGroup) * cpp, 1)});
  p.matrices.push_back(m);

  program::Buffer in;
  in.name = "x";
  in.channels = m.rows;
  in.height = height;
  in.width = width;
  in.bits = inputBits;
  program::Buffer out = in;
  out.name = "y";
  out.channels = m.cols;
  out.bits = 8;
  out.bank = 1;
  p.buffers = {in, out};
  p.input = 0;
  p.output = 1;

  program::Layer conv;
  conv.kind = program::LayerKind::Conv;
  conv.name = "conv";
  conv.inputs = {0};
  conv.output = 1;
  conv.matrix = 0;
  conv.bias.assign(m.cols, 0);
  conv.requant.assign(m.cols, program::Requant{});
  conv.clampLo = 0;
  conv.clampHi = 255;
  p.layers.push_back(conv);

  p.info.denseMacs = int64_t(m.rows) * m.cols * height * width;
  p.streams.assign(arch.chip.cores, {});
  return p;
}

/// Adds a weight image of layer 0 on (core, macro) whose partition p holds
/// the first groups[p] row groups of column group p; returns its index.
inline int32_t addImage(program::Program &p, int core, int macro,
                        const std::vector<int> &groups) {
  program::WeightImage im;
  im.core = core;
  im.macro = macro;
  im.layer = 0;
  im.partitions.resize(p.arch.macro.partitions);
  for (size_t q = 0; q < groups.size(); ++q) {
    if (groups[q] == 0)
      continue;
    im.partitions[q].matrix = 0;
    im.partitions[q].colGroup = static_cast<int32_t>(q);
    im.partitions[q].indexCode =
        firstGroupsCode(groups[q], p.matrices[0].rowGroups);
  }
  p.images.push_back(im);
  return static_cast<int32_t>(p.images.size() - 1);
}

/// The timed event of instruction `instr` of core `core`.
inline const TimedEvent &eventOf(const TimingResult &r, int core, int instr) {
  for (const TimedEvent &ev : r.events)
    if (ev.core == core && ev.instr == instr)
      return ev;
  FAIL("no event for core " << core << " instruction " << instr);
  return r.events.front();
}

inline void emit(program::Program &p, int core, program::Opcode op, int32_t a,
                 int32_t b = 0, int32_t c = 0) {
  p.streams[core].push_back({op, a, b, c});
}

} // namespace mars::runtime::testing
