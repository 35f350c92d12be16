// The schedule's clock (ScheduleClock.h): replays the emitted streams over
// the chip's resources, always advancing the core whose next instruction
// issues first, so the shared DRAM channel is granted in time order.
#include "ScheduleClock.h"

#include "MappingModel.h"

#include <algorithm>
#include <deque>
#include <map>
#include <utility>

namespace mars::passes {

namespace {

using program::Buffer;
using program::Instr;
using program::LayerKind;
using program::Memory;
using program::Opcode;

/// Per core, macro and partition: the image it holds, or -1.
using Held = std::vector<std::vector<std::vector<int32_t>>>;

int64_t ceilDiv(int64_t bytes, int64_t perCycle) {
  return bytes <= 0 ? 0
                    : (bytes + perCycle - 1) / std::max<int64_t>(perCycle, 1);
}

int64_t elementBytes(const Buffer &b) { return (b.bits + 7) / 8; }

/// Elements of `b` in `channels` of the `of` channels an instruction's
/// range counts (pooling and flattening keep the channel split).
int64_t share(const Buffer &b, int64_t channels, int64_t of) {
  return of > 0 ? b.size() * channels / of : 0;
}

/// Row groups one pixel of an image's Compute reads: partitions that store
/// the same row group of the same matrix share its word lines. Per matrix,
/// the union of its partitions' index codes (bitmaps over its row groups).
int64_t rowGroupsRead(const program::WeightImage &im) {
  std::vector<program::PartitionImage> unions; // One per matrix.
  for (const program::PartitionImage &p : im.partitions) {
    if (p.matrix < 0)
      continue;
    auto same = std::find_if(
        unions.begin(), unions.end(),
        [&](const program::PartitionImage &u) { return u.matrix == p.matrix; });
    if (same == unions.end()) {
      unions.push_back(p);
      continue;
    }
    same->indexCode.resize(
        std::max(same->indexCode.size(), p.indexCode.size()));
    for (size_t i = 0; i < p.indexCode.size(); ++i)
      same->indexCode[i] |= p.indexCode[i];
  }
  int64_t rows = 0;
  for (const program::PartitionImage &u : unions)
    rows += program::storedGroups(u);
  return rows;
}

struct Core {
  size_t pc = 0;
  int64_t ready = 0;   ///< Earliest start of the next instruction.
  int64_t lastEnd = 0; ///< When everything issued so far is done.
  /// When its weight fetches and macro loads are done (barriers do not
  /// wait for them: only this core's own later work depends on them).
  int64_t localEnd = 0;
  int64_t portFree = 0, pipelineFree = 0;
  std::vector<int64_t> macroFree;
  std::vector<int64_t> computeDone; ///< Per layer: its last Compute's end.
  std::vector<int64_t> written;     ///< Per buffer: written by this core.
  std::vector<int64_t>
      fetched; ///< Per image: in weight SRAM (-1: not fetched, -2: queued).
  /// The latest end of this core's loads so far: a fetch writes weight
  /// SRAM only after the loads issued before it have read theirs.
  int64_t loadsEnd = 0;
  /// Fetches waiting for the DRAM channel: image, earliest start.
  std::deque<std::pair<int32_t, int64_t>> dma;
  bool waiting = false;
  int64_t arrival = 0;
};

class Clock {
public:
  Clock(const program::Program &p, Held held, bool reuseHeld)
      : program_(p), arch_(p.arch), held_(std::move(held)),
        reuseHeld_(reuseHeld) {}

  Expected<ScheduleTiming> run();
  Held held() const { return held_; }

private:
  /// Start and end of instruction `in` issued by `core` at `issue`.
  std::pair<int64_t, int64_t> time(int core, const Instr &in, int64_t issue);
  std::pair<int64_t, int64_t> load(Core &c, const Instr &in, int64_t issue,
                                   std::vector<std::vector<int32_t>> &held);
  std::pair<int64_t, int64_t> compute(int core, const Instr &in, int64_t issue);
  std::pair<int64_t, int64_t> post(int core, const Instr &in, int64_t issue);
  std::pair<int64_t, int64_t> digital(int core, const Instr &in, int64_t issue);
  /// Books `bytes` on the DRAM channel from `earliest`; {start, arrival}.
  std::pair<int64_t, int64_t> dram(int64_t bytes, int64_t earliest);
  /// Moves `bytes` of a buffer in `memory` for `core`; returns the end.
  int64_t move(int core, Memory memory, int64_t bytes, int64_t earliest);
  void arriveAtBarrier(int core, int32_t barrier);

  const program::Program &program_;
  const arch::ArchSpec &arch_;
  Held held_;
  bool reuseHeld_;
  std::vector<Core> cores_;
  int64_t dramFree_ = 0;
  std::map<int32_t, std::vector<int>> members_; ///< Barrier -> its cores.
  std::vector<int64_t> layerEnd_;
  std::vector<int64_t> rowGroupsRead_; ///< Per image (rowGroupsRead).
};

std::pair<int64_t, int64_t> Clock::dram(int64_t bytes, int64_t earliest) {
  const int64_t start = std::max(earliest, dramFree_);
  dramFree_ = start + ceilDiv(bytes, arch_.timing.dramBytesPerCycle);
  return {start, dramFree_ + arch_.timing.dramLatencyCycles};
}

int64_t Clock::move(int core, Memory memory, int64_t bytes, int64_t earliest) {
  if (bytes <= 0)
    return earliest;
  if (memory == Memory::Dram)
    return dram(bytes, earliest).second;
  int64_t &free = cores_[core].portFree;
  free =
      std::max(earliest, free) + ceilDiv(bytes, arch_.timing.sramBytesPerCycle);
  return free;
}

std::pair<int64_t, int64_t>
Clock::load(Core &c, const Instr &in, int64_t issue,
            std::vector<std::vector<int32_t>> &held) {
  const program::WeightImage &im = program_.images[in.a];
  std::vector<int32_t> &macro = held[im.macro];
  bool alreadyThere = true;
  for (size_t q = 0; q < im.partitions.size(); ++q)
    if (im.partitions[q].matrix >= 0)
      alreadyThere = alreadyThere && q < macro.size() && macro[q] == in.a;
  const int64_t rows = reuseHeld_ && alreadyThere ? 0 : imageRows(arch_, im);
  int64_t start = std::max(issue, c.macroFree[im.macro]);
  const int32_t source = program::loadSource(in); // Whose bytes it reads.
  if (rows > 0 && c.fetched[source] >= 0)
    start = std::max(start, c.fetched[source]);
  const int64_t end = start + rows * arch_.timing.rowWriteCycles;
  c.macroFree[im.macro] = end;
  c.loadsEnd = std::max(c.loadsEnd, end);
  for (size_t q = 0; q < im.partitions.size() && q < macro.size(); ++q)
    if (im.partitions[q].matrix >= 0)
      macro[q] = in.a;
  return {start, end};
}

std::pair<int64_t, int64_t> Clock::compute(int core, const Instr &in,
                                           int64_t issue) {
  Core &c = cores_[core];
  const program::WeightImage &im = program_.images[in.a];
  const int32_t inputId = program_.layers[im.layer].inputs[0];
  const Buffer &input = program_.buffers[inputId];
  int64_t maxGroups = 0, sumGroups = 0;
  for (const program::PartitionImage &part : im.partitions)
    if (part.matrix >= 0) {
      maxGroups = std::max<int64_t>(maxGroups, program::storedGroups(part));
      sumGroups += program::storedGroups(part);
    }
  const int64_t pixels = in.c - in.b;
  const int64_t cycles = pixels * inputSlices(arch_, input) *
                         pixelSliceCycles(arch_, maxGroups, sumGroups);
  const int64_t inputBytes =
      pixels * rowGroupsRead_[in.a] * arch_.macro.wlOn * elementBytes(input);
  const int64_t start =
      std::max({issue, c.macroFree[im.macro], c.written[inputId]});
  // The next pixels' inputs stream in while the current ones compute.
  const int64_t end =
      std::max(start + cycles, move(core, input.memory, inputBytes, start));
  c.macroFree[im.macro] = end;
  int64_t &done = c.computeDone[im.layer];
  done = std::max(done, end);
  return {start, end};
}

std::pair<int64_t, int64_t> Clock::post(int core, const Instr &in,
                                        int64_t issue) {
  Core &c = cores_[core];
  const int64_t convChannels =
      program_.buffers[program_.layers[in.a].output].channels;
  const int64_t channels = in.c - in.b;
  int64_t start = std::max({issue, c.computeDone[in.a], c.pipelineFree});
  int32_t chain = program_.layers[in.a].output;
  std::vector<std::pair<int32_t, int64_t>> residuals; // Buffer, bytes.
  for (size_t j = in.a + 1; j < program_.layers.size(); ++j) {
    const program::Layer &f = program_.layers[j];
    if (f.fusedInto != in.a)
      continue;
    if (f.kind == LayerKind::Add)
      for (int32_t other : f.inputs)
        if (other != chain) {
          const Buffer &b = program_.buffers[other];
          residuals.push_back(
              {other, share(b, channels, convChannels) * elementBytes(b)});
          start = std::max(start, c.written[other]);
        }
    chain = f.output;
  }
  int64_t t = start;
  for (const auto &[buffer, bytes] : residuals)
    t = move(core, program_.buffers[buffer].memory, bytes, t);
  t = std::max(t, start + arch_.timing.digitalPipelineCycles);
  const Buffer &out = program_.buffers[chain];
  const int64_t end =
      move(core, out.memory,
           share(out, channels, convChannels) * elementBytes(out), t);
  c.pipelineFree = end;
  c.written[chain] = std::max(c.written[chain], end);
  return {start, end};
}

std::pair<int64_t, int64_t> Clock::digital(int core, const Instr &in,
                                           int64_t issue) {
  Core &c = cores_[core];
  const program::Layer &l = program_.layers[in.a];
  const Buffer &out = program_.buffers[l.output];
  const int64_t channels = in.c - in.b;
  const int64_t outElements = share(out, channels, out.channels);
  int64_t start = std::max(issue, c.pipelineFree);
  for (int32_t id : l.inputs)
    start = std::max(start, c.written[id]);
  int64_t t = start, concatOffset = 0;
  for (int32_t id : l.inputs) {
    const Buffer &b = program_.buffers[id];
    int64_t elements = share(b, channels, out.channels);
    if (l.kind == LayerKind::Concat) { // Only inputs inside [b, c) are read.
      const int64_t lo = std::max<int64_t>(in.b, concatOffset);
      const int64_t hi = std::min<int64_t>(in.c, concatOffset + b.channels);
      elements = hi > lo ? share(b, hi - lo, b.channels) : 0;
      concatOffset += b.channels;
    } else if (l.kind == LayerKind::Reshape) {
      elements = outElements;
    }
    t = move(core, b.memory, elements * elementBytes(b), t);
  }
  t += arch_.timing.digitalPipelineCycles;
  const int64_t end =
      move(core, out.memory, outElements * elementBytes(out), t);
  c.pipelineFree = end;
  c.written[l.output] = std::max(c.written[l.output], end);
  return {start, end};
}

std::pair<int64_t, int64_t> Clock::time(int core, const Instr &in,
                                        int64_t issue) {
  Core &c = cores_[core];
  switch (in.op) {
  case Opcode::FetchImage: // A DMA, queued: the core goes on issuing.
    c.dma.push_back({in.a, std::max(issue, c.loadsEnd)});
    c.fetched[in.a] = -2;
    return {issue, issue};
  case Opcode::LoadImage: return load(c, in, issue, held_[core]);
  case Opcode::Compute: return compute(core, in, issue);
  case Opcode::Post: return post(core, in, issue);
  case Opcode::Digital: return digital(core, in, issue);
  case Opcode::Sync: break;
  }
  return {issue, issue};
}

void Clock::arriveAtBarrier(int core, int32_t barrier) {
  Core &c = cores_[core];
  c.waiting = true;
  c.arrival = std::max(c.ready, c.lastEnd);
  int64_t release = 0;
  for (int m : members_[barrier]) {
    const Core &other = cores_[m];
    if (!other.waiting || program_.streams[m][other.pc - 1].a != barrier)
      return;
    release = std::max(release, other.arrival);
  }
  for (int m : members_[barrier]) {
    Core &other = cores_[m];
    other.waiting = false;
    other.ready = release;
    other.lastEnd = std::max(other.lastEnd, release);
  }
}

Expected<ScheduleTiming> Clock::run() {
  const int cores = arch_.chip.cores;
  cores_.assign(cores, Core{});
  held_.resize(cores);
  layerEnd_.assign(program_.layers.size(), 0);
  rowGroupsRead_.clear();
  for (const program::WeightImage &im : program_.images)
    rowGroupsRead_.push_back(rowGroupsRead(im));
  for (int c = 0; c < cores; ++c) {
    cores_[c].macroFree.assign(arch_.chip.macrosPerCore, 0);
    cores_[c].computeDone.assign(program_.layers.size(), 0);
    cores_[c].written.assign(program_.buffers.size(), 0);
    cores_[c].fetched.assign(program_.images.size(), -1);
    held_[c].resize(arch_.chip.macrosPerCore);
    for (auto &macro : held_[c])
      macro.resize(arch_.macro.partitions, -1);
    for (const Instr &in : program_.streams[c])
      if (in.op == Opcode::Sync)
        members_[in.a].push_back(c);
  }
  for (auto &[barrier, members] : members_)
    members.erase(std::unique(members.begin(), members.end()), members.end());

  const Buffer &input = program_.buffers[program_.input];
  const int64_t inputIn =
      input.memory == Memory::Sram ? dram(input.bytes(), 0).second : 0;
  for (Core &c : cores_)
    c.ready = c.lastEnd = inputIn;

  int lastGrant = cores - 1; // Queued fetches take turns by core at a tie.
  for (;;) {
    // The earliest of: each core's next instruction, unless that is a
    // load whose fetch is still queued, and (after the instructions at a
    // tie, so every core has queued what it issues then) each core's
    // oldest queued fetch.
    int next = -1;
    bool dma = false;
    int64_t at = 0;
    auto consider = [&](int c, bool isDma, int64_t t) {
      if (next < 0 || t < at) {
        next = c;
        dma = isDma;
        at = t;
      }
    };
    for (int c = 0; c < cores; ++c) {
      const Core &core = cores_[c];
      if (core.waiting || core.pc >= program_.streams[c].size())
        continue;
      const Instr &in = program_.streams[c][core.pc];
      if (in.op == Opcode::LoadImage &&
          core.fetched[program::loadSource(in)] == -2)
        continue;
      consider(c, false, core.ready);
    }
    for (int k = 1; k <= cores; ++k) {
      const int c = (lastGrant + k) % cores;
      if (!cores_[c].dma.empty())
        consider(c, true, cores_[c].dma.front().second);
    }
    if (next < 0)
      break;
    Core &c = cores_[next];
    if (dma) {
      lastGrant = next;
      const auto [image, earliest] = c.dma.front();
      c.dma.pop_front();
      const int64_t arrival =
          dram(imageBytes(arch_, program_.images[image]), earliest).second;
      c.fetched[image] = arrival;
      c.localEnd = std::max(c.localEnd, arrival);
      const int32_t layer = program_.images[image].layer;
      layerEnd_[layer] = std::max(layerEnd_[layer], arrival);
      continue;
    }
    const Instr &in = program_.streams[next][c.pc++];
    if (in.op == Opcode::Sync) {
      // In the steady state the work after the stage boundary is of the
      // image before (Program.h): nothing to wait for.
      if (!(reuseHeld_ && program::isStageBoundary(in)))
        arriveAtBarrier(next, in.a);
      continue;
    }
    const auto [start, end] = time(next, in, c.ready);
    if (in.op == Opcode::FetchImage)
      continue; // Timed when the channel is granted.
    if (in.op == Opcode::LoadImage) {
      c.ready = std::max(c.ready, start);
      c.localEnd = std::max(c.localEnd, end);
    } else {
      c.ready = std::max(c.ready, start);
      c.lastEnd = std::max(c.lastEnd, end);
    }
    const int32_t layer = in.op == Opcode::Post || in.op == Opcode::Digital
                              ? in.a
                              : program_.images[in.a].layer;
    layerEnd_[layer] = std::max(layerEnd_[layer], end);
  }
  int64_t done = inputIn;
  for (int c = 0; c < cores; ++c) {
    if (cores_[c].waiting)
      return makeError("schedule: core ", c, " waits forever at barrier ",
                       program_.streams[c][cores_[c].pc - 1].a);
    done = std::max(
        {done, cores_[c].ready, cores_[c].lastEnd, cores_[c].localEnd});
  }
  const Buffer &output = program_.buffers[program_.output];
  ScheduleTiming t;
  t.cycles =
      output.memory == Memory::Sram ? dram(output.bytes(), done).second : done;
  t.layerEnd = layerEnd_;
  return t;
}

} // namespace

Expected<ScheduleTiming> timeSchedule(const program::Program &p) {
  // The first image leaves the macros holding their last images.
  Clock first(p, {}, /*reuseHeld=*/false);
  MARS_TRY(first.run());
  Clock steady(p, first.held(), /*reuseHeld=*/true);
  return steady.run();
}

} // namespace mars::passes
