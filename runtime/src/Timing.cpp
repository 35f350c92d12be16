// The timing simulator: walks the cores' streams in time order over the
// resources of Timing.h's model.
#include "TimingInternal.h"

#include <algorithm>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

namespace mars::runtime {

namespace {

using detail::Cause;
using detail::Interval;
using program::Buffer;
using program::LayerKind;
using program::Memory;
using program::Opcode;

/// For every core, macro and partition: the image it holds, or -1.
using Holdings = std::vector<std::vector<std::vector<int32_t>>>;

int64_t bytesPerElement(const Buffer &b) { return (b.bits + 7) / 8; }

/// Elements of `b` that belong to `channels` of the `perChannelOf` channels
/// the instruction's range is counted in (pooling and flattening change the
/// elements per channel, not the channel split).
int64_t rangeElements(const Buffer &b, int64_t channels, int64_t perChannelOf) {
  if (perChannelOf <= 0)
    return 0;
  return b.size() * channels / perChannelOf;
}

struct CoreState {
  size_t pc = 0;
  int64_t ready = 0;   // Earliest start of the next instruction (in order).
  int64_t lastEnd = 0; // When everything issued so far has finished.
  // When its weight fetches and macro loads are done: work that only this
  // core's own later instructions wait for, so barriers do not.
  int64_t localEnd = 0;
  int64_t sramFree = 0, digitalFree = 0;
  std::vector<int64_t> macroFree;
  std::map<int32_t, int64_t> computeDone; // Conv layer -> last Compute end.
  std::map<int32_t, int64_t> bufferReady; // Buffer -> written by this core.
  std::map<int32_t, int64_t> fetchDone;   // Image -> its FetchImage end.
  // End of the latest LoadImage issued so far: a later FetchImage writes
  // into weight SRAM that these loads have finished reading.
  int64_t loadsEnd = 0;
  // FetchImages issued but not yet granted the DRAM channel, in order.
  struct QueuedFetch {
    int32_t image;
    int64_t ready; // Issued, and the loads before it done.
    size_t event;  // Its entry in `events`.
  };
  std::deque<QueuedFetch> dma;
  std::set<int32_t> queued; // Images in `dma`.
  int32_t lastLayer = -1;
  bool waiting = false; // At a barrier.
  int64_t arrival = 0;
  size_t syncEvent = 0;
  std::vector<Interval> intervals;
  std::vector<TimedEvent> events;
};

/// What a Compute of one weight image costs per pixel. It depends on the
/// image alone, so each image's index codes are walked once, not once per
/// Compute (that walk was most of the timing model's time).
struct ComputeCost {
  int64_t cyclesPerPixel = 0;     ///< Input slices × one slice's cycles.
  int64_t inputBytesPerPixel = 0; ///< Distinct row groups × wl_on inputs.
  /// Activation, conversion and MAC counters of one pixel: every one is a
  /// product with the pixel count as a factor (countActivations).
  TimingCounters perPixel;
};

ComputeCost computeCostOf(const program::Program &p,
                          const program::WeightImage &im) {
  const arch::ArchSpec &arch = p.arch;
  const Buffer &input = p.buffers[p.layers[im.layer].inputs[0]];
  const int64_t slices = arch.inputSlices(input.bits, input.isSigned);
  ComputeCost cost;
  std::vector<int64_t> stored;
  for (const program::PartitionImage &part : im.partitions) {
    if (part.matrix < 0)
      continue;
    const program::WeightMatrix &m = p.matrices[part.matrix];
    const int64_t n = program::storedGroups(part);
    stored.push_back(n);
    countActivations(arch, n, /*pixels=*/1, input.bits, input.isSigned,
                     m.channelsPerGroup, m.weightBits, cost.perPixel);
    // MACs executed: only rows and channels inside the matrix count.
    const int64_t channels = std::clamp<int64_t>(
        m.cols - int64_t(part.colGroup) * m.channelsPerGroup, 0,
        m.channelsPerGroup);
    for (int32_t rg : program::slotRowGroups(part)) {
      const int64_t rows = std::clamp<int64_t>(
          m.rows - int64_t(rg) * m.rowsPerGroup, 0, m.rowsPerGroup);
      cost.perPixel.executedMacs += rows * channels;
    }
  }
  cost.cyclesPerPixel = slices * pixelSliceCycles(arch, stored);
  cost.inputBytesPerPixel =
      distinctRowGroups(im) * arch.macro.wlOn * bytesPerElement(input);
  return cost;
}

/// `perPixel` × `pixels`, added to `to`.
void addPixels(TimingCounters &to, const TimingCounters &perPixel,
               int64_t pixels) {
  to.activations += perPixel.activations * pixels;
  to.adcConversions += perPixel.adcConversions * pixels;
  to.accumulates += perPixel.accumulates * pixels;
  to.shiftAddBits += perPixel.shiftAddBits * pixels;
  to.executedMacs += perPixel.executedMacs * pixels;
}

/// A LoadImage of `image` (index `index`): the macro's partitions that it
/// stores now hold it. The one rule for holdings, in the simulation and in
/// holdingsAfterOneImage.
void holdImage(std::vector<int32_t> &held, const program::WeightImage &image,
               int32_t index) {
  for (size_t q = 0; q < image.partitions.size() && q < held.size(); ++q)
    if (image.partitions[q].matrix >= 0)
      held[q] = index;
}

class Simulator {
public:
  /// `steadyState`: loads of images their macros already hold are free
  /// (`holds`: what the macros start with), and the stage boundary does
  /// not wait.
  Simulator(const program::Program &p, bool steadyState, Holdings holds)
      : program_(p), arch_(p.arch), steadyState_(steadyState),
        holds_(std::move(holds)) {}

  Expected<TimingResult> run();

private:
  Status step(int core);
  void fetch(int core, const program::Instr &in, TimedEvent &ev);
  /// Grants the DRAM channel to the oldest queued fetch of `core`.
  void grantFetch(int core);
  /// When the next thing `core` does can happen: the grant of its oldest
  /// queued fetch (`dma` true) or the issue of its next instruction, or
  /// nothing (-1: done, at a barrier, or a LoadImage whose fetch is queued).
  int64_t nextTime(int core, bool dma) const;
  void load(int core, const program::Instr &in, TimedEvent &ev);
  void compute(int core, const program::Instr &in, TimedEvent &ev);
  void post(int core, const program::Instr &in, TimedEvent &ev);
  void digital(int core, const program::Instr &in, TimedEvent &ev);
  void releaseIfComplete(int32_t barrier);
  /// Moves `bytes` of a buffer in `memory` for `core`, no earlier than
  /// `earliest`, over the core's SRAM port or the shared DRAM channel.
  /// Returns the end of the transfer.
  int64_t transfer(int core, Memory memory, int64_t bytes, int64_t earliest,
                   TimingCounters &counters);
  /// Books `bytes` on the DRAM channel no earlier than `earliest`: the
  /// channel is busy for the bytes alone (requests pipeline); the data has
  /// all arrived `dram_latency_cycles` later. Returns {start, arrival}.
  std::pair<int64_t, int64_t> dramTransfer(int64_t bytes, int64_t earliest);
  void addInterval(int core, int64_t start, int64_t end, Cause cause,
                   int32_t layer);
  /// Totals, per-layer spans, breakdowns and utilisation from the events.
  void summarise(TimingResult &r);

  const program::Program &program_;
  const arch::ArchSpec &arch_;
  bool steadyState_;
  Holdings holds_;
  std::vector<CoreState> cores_;
  int64_t dramFree_ = 0;
  std::map<int32_t, std::set<int>> participants_;       // Barrier -> cores.
  std::vector<std::optional<ComputeCost>> computeCost_; ///< Per image.
};

void Simulator::addInterval(int core, int64_t start, int64_t end, Cause cause,
                            int32_t layer) {
  if (end > start)
    cores_[core].intervals.push_back({start, end, cause, layer});
}

int64_t Simulator::transfer(int core, Memory memory, int64_t bytes,
                            int64_t earliest, TimingCounters &counters) {
  if (bytes <= 0)
    return earliest;
  if (memory == Memory::Dram) {
    counters.dramBytes += bytes;
    return dramTransfer(bytes, earliest).second;
  }
  CoreState &cs = cores_[core];
  const int64_t start = std::max(earliest, cs.sramFree);
  cs.sramFree = start + transferCycles(bytes, arch_.timing.sramBytesPerCycle);
  counters.sramBytes += bytes;
  return cs.sramFree;
}

std::pair<int64_t, int64_t> Simulator::dramTransfer(int64_t bytes,
                                                    int64_t earliest) {
  const int64_t start = std::max(earliest, dramFree_);
  dramFree_ = start + transferCycles(bytes, arch_.timing.dramBytesPerCycle);
  return {start, dramFree_ + arch_.timing.dramLatencyCycles};
}

void Simulator::fetch(int core, const program::Instr &in, TimedEvent &ev) {
  // A DMA into the weight SRAM: the core queues it and goes on issuing.
  // The transfer starts once the channel is free and every LoadImage this
  // core issued before it has finished reading the weight SRAM, which is
  // where the compiler made room for it (the validator checks the room).
  CoreState &cs = cores_[core];
  ev.lane = Lane::Dma;
  ev.start = ev.end = ev.issue;
  cs.dma.push_back({in.a, std::max(ev.issue, cs.loadsEnd), cs.events.size()});
  cs.queued.insert(in.a);
}

void Simulator::grantFetch(int core) {
  CoreState &cs = cores_[core];
  const CoreState::QueuedFetch f = cs.dma.front();
  cs.dma.pop_front();
  cs.queued.erase(f.image);
  TimedEvent &ev = cs.events[f.event];
  const int64_t bytes = imageBytes(arch_, program_.images[f.image]);
  std::tie(ev.start, ev.end) = dramTransfer(bytes, f.ready);
  ev.counters.dramBytes = bytes;
  ev.counters.weightSramBytes = bytes; // Written into the weight SRAM.
  cs.fetchDone[f.image] = ev.end;
  cs.localEnd = std::max(cs.localEnd, ev.end);
  addInterval(core, ev.start, ev.end, Cause::Reload, ev.layer);
}

void Simulator::load(int core, const program::Instr &in, TimedEvent &ev) {
  CoreState &cs = cores_[core];
  const program::WeightImage &im = program_.images[in.a];
  std::vector<int32_t> &held = holds_[core][im.macro];
  bool alreadyHeld = true;
  for (size_t q = 0; q < im.partitions.size(); ++q)
    if (im.partitions[q].matrix >= 0)
      alreadyHeld = alreadyHeld && q < held.size() && held[q] == in.a;
  const int64_t rows = steadyState_ && alreadyHeld ? 0 : imageRows(arch_, im);

  ev.macro = im.macro;
  const int64_t base = std::max(ev.issue, cs.macroFree[im.macro]);
  // Its bytes are its source's (a replica's, or its own) in weight SRAM.
  auto fetched = cs.fetchDone.find(program::loadSource(in));
  ev.start = base;
  if (rows > 0 && fetched != cs.fetchDone.end())
    ev.start = std::max(base, fetched->second);
  addInterval(core, base, ev.start, Cause::Reload, ev.layer); // Fetch wait.
  ev.end = ev.start + rows * arch_.timing.rowWriteCycles;
  cs.macroFree[im.macro] = ev.end;
  cs.loadsEnd = std::max(cs.loadsEnd, ev.end);
  if (rows > 0) {
    ev.counters.rowWrites = rows;
    ev.counters.weightSramBytes = imageBytes(arch_, im);
  }
  addInterval(core, ev.start, ev.end, Cause::Reload, ev.layer);
  holdImage(held, im, in.a);
}

void Simulator::compute(int core, const program::Instr &in, TimedEvent &ev) {
  CoreState &cs = cores_[core];
  const program::WeightImage &im = program_.images[in.a];
  const program::Layer &layer = program_.layers[im.layer];
  const int32_t inputId = layer.inputs[0];
  const Buffer &input = program_.buffers[inputId];
  const int64_t pixels = in.c - in.b;
  if (!computeCost_[in.a])
    computeCost_[in.a] = computeCostOf(program_, im);
  const ComputeCost &cost = *computeCost_[in.a];
  addPixels(ev.counters, cost.perPixel, pixels);
  const int64_t cycles = pixels * cost.cyclesPerPixel;
  const int64_t inputBytes = pixels * cost.inputBytesPerPixel;

  ev.macro = im.macro;
  ev.start =
      std::max({ev.issue, cs.macroFree[im.macro], cs.bufferReady[inputId]});
  // Ping-pong input buffers: the fetch of the next pixels overlaps the
  // activations of the current ones, so the slower of the two sets the end.
  const int64_t fetched =
      transfer(core, input.memory, inputBytes, ev.start, ev.counters);
  ev.end = std::max(ev.start + cycles, fetched);
  cs.macroFree[im.macro] = ev.end;
  int64_t &done = cs.computeDone[im.layer];
  done = std::max(done, ev.end);
  addInterval(core, ev.start, ev.start + cycles, Cause::Compute, ev.layer);
  addInterval(core, ev.start + cycles, ev.end, Cause::Memory, ev.layer);
}

void Simulator::post(int core, const program::Instr &in, TimedEvent &ev) {
  CoreState &cs = cores_[core];
  const program::Layer &conv = program_.layers[in.a];
  const int64_t convChannels = program_.buffers[conv.output].channels;
  const int64_t channels = in.c - in.b;
  ev.lane = Lane::Digital;
  ev.start = std::max({ev.issue, cs.computeDone[in.a], cs.digitalFree});
  // Bias, requantization and clamp per element, then each fused layer.
  ev.counters.digitalOps +=
      rangeElements(program_.buffers[conv.output], channels, convChannels);
  int32_t chainOutput = conv.output;
  std::vector<std::pair<int32_t, int64_t>> residualReads; // Buffer, elements.
  for (size_t j = in.a + 1; j < program_.layers.size(); ++j) {
    const program::Layer &f = program_.layers[j];
    if (f.fusedInto != in.a)
      continue;
    const int64_t outElems =
        rangeElements(program_.buffers[f.output], channels, convChannels);
    if (f.kind == LayerKind::MaxPool || f.kind == LayerKind::AvgPool)
      ev.counters.digitalOps += outElems * f.kernelH * f.kernelW;
    if (f.kind == LayerKind::Add) {
      ev.counters.digitalOps += outElems * int64_t(f.inputs.size());
      for (int32_t other : f.inputs)
        if (other != chainOutput) {
          residualReads.push_back(
              {other,
               rangeElements(program_.buffers[other], channels, convChannels)});
          ev.start = std::max(ev.start, cs.bufferReady[other]);
        }
    }
    chainOutput = f.output;
  }
  int64_t t = ev.start;
  for (const auto &[buffer, elems] : residualReads) {
    const Buffer &b = program_.buffers[buffer];
    t = transfer(core, b.memory, elems * bytesPerElement(b), t, ev.counters);
  }
  t = std::max(t, ev.start + arch_.timing.digitalPipelineCycles);
  const Buffer &out = program_.buffers[chainOutput];
  ev.end = transfer(core, out.memory,
                    rangeElements(out, channels, convChannels) *
                        bytesPerElement(out),
                    t, ev.counters);
  cs.digitalFree = ev.end;
  cs.bufferReady[chainOutput] = std::max(cs.bufferReady[chainOutput], ev.end);
  addInterval(core, ev.start, ev.end, Cause::Digital, ev.layer);
}

void Simulator::digital(int core, const program::Instr &in, TimedEvent &ev) {
  CoreState &cs = cores_[core];
  const program::Layer &l = program_.layers[in.a];
  const Buffer &out = program_.buffers[l.output];
  const int64_t channels = in.c - in.b;
  const int64_t outElems = rangeElements(out, channels, out.channels);
  ev.lane = Lane::Digital;
  ev.start = std::max(ev.issue, cs.digitalFree);
  for (int32_t id : l.inputs)
    ev.start = std::max(ev.start, cs.bufferReady[id]);

  int64_t t = ev.start;
  int64_t concatOffset = 0;
  for (int32_t id : l.inputs) {
    const Buffer &b = program_.buffers[id];
    int64_t elems = 0;
    switch (l.kind) {
    case LayerKind::Concat: {
      // Only the inputs whose channels fall in [b, c) are read.
      const int64_t lo = std::max<int64_t>(in.b, concatOffset);
      const int64_t hi = std::min<int64_t>(in.c, concatOffset + b.channels);
      elems = hi > lo ? rangeElements(b, hi - lo, b.channels) : 0;
      concatOffset += b.channels;
      break;
    }
    case LayerKind::Reshape:
      elems = outElems; // Same elements, another shape.
      break;
    default: // Pooling and Add read the same channels of every input.
      elems = rangeElements(b, channels, out.channels);
    }
    t = transfer(core, b.memory, elems * bytesPerElement(b), t, ev.counters);
  }
  if (l.kind == LayerKind::MaxPool || l.kind == LayerKind::AvgPool)
    ev.counters.digitalOps = outElems * l.kernelH * l.kernelW;
  if (l.kind == LayerKind::Add)
    ev.counters.digitalOps = outElems * int64_t(l.inputs.size());
  t += arch_.timing.digitalPipelineCycles;
  ev.end = transfer(core, out.memory, outElems * bytesPerElement(out), t,
                    ev.counters);
  cs.digitalFree = ev.end;
  cs.bufferReady[l.output] = std::max(cs.bufferReady[l.output], ev.end);
  addInterval(core, ev.start, ev.end, Cause::Digital, ev.layer);
}

void Simulator::releaseIfComplete(int32_t barrier) {
  const std::set<int> &who = participants_[barrier];
  int64_t release = 0;
  for (int c : who) {
    const CoreState &cs = cores_[c];
    const program::Instr &in = program_.streams[c][cs.pc - 1];
    if (!cs.waiting || in.a != barrier)
      return;
    release = std::max(release, cs.arrival);
  }
  for (int c : who) {
    CoreState &cs = cores_[c];
    TimedEvent &ev = cs.events[cs.syncEvent];
    ev.end = release;
    addInterval(c, cs.arrival, release, Cause::Stall, ev.layer);
    cs.waiting = false;
    cs.ready = release;
    cs.lastEnd = std::max(cs.lastEnd, release);
  }
}

Status Simulator::step(int core) {
  CoreState &cs = cores_[core];
  const size_t index = cs.pc++;
  MARS_TRY(detail::checkInstr(program_, core, index));
  const program::Instr &in = program_.streams[core][index];

  TimedEvent ev;
  ev.core = core;
  ev.instr = static_cast<int32_t>(index);
  ev.op = in.op;
  ev.issue = cs.ready;
  ev.layer = in.op == Opcode::Sync ? cs.lastLayer
             : in.op == Opcode::Post || in.op == Opcode::Digital
                 ? in.a
                 : program_.images[in.a].layer;
  const std::string layerName =
      ev.layer >= 0 ? program_.layers[ev.layer].name : std::string("start");
  const std::string range =
      "[" + std::to_string(in.b) + "," + std::to_string(in.c) + ")";
  switch (in.op) {
  case Opcode::FetchImage:
    fetch(core, in, ev);
    ev.name = layerName + " fetch image " + std::to_string(in.a);
    break;
  case Opcode::LoadImage:
    load(core, in, ev);
    ev.name = layerName + " load image " + std::to_string(in.a);
    break;
  case Opcode::Compute:
    compute(core, in, ev);
    ev.name = layerName + " compute px" + range;
    break;
  case Opcode::Post:
    post(core, in, ev);
    ev.name = layerName + " post ch" + range;
    break;
  case Opcode::Digital:
    digital(core, in, ev);
    ev.name = layerName + " digital ch" + range;
    break;
  case Opcode::Sync:
    ev.lane = Lane::Sync;
    ev.name = "sync " + std::to_string(in.a);
    if (steadyState_ && program::isStageBoundary(in)) {
      // The work after it is of the image before (Program.h): nothing to
      // wait for.
      ev.name += " (stage boundary)";
      ev.start = ev.end = cs.ready;
      break;
    }
    // The core arrives once all its work that other cores may depend on
    // (computes reading buffers, writes of buffers) is done; the barrier's
    // release time is known when the last participant arrives.
    ev.start = std::max(cs.ready, cs.lastEnd);
    ev.end = ev.start;
    cs.waiting = true;
    cs.arrival = ev.start;
    cs.syncEvent = cs.events.size();
    break;
  }
  if (in.op == Opcode::FetchImage) {
    // Queued for the DMA engine (grantFetch times it): issue goes on.
  } else if (in.op == Opcode::LoadImage) {
    cs.ready = std::max(cs.ready, ev.start);
    cs.localEnd = std::max(cs.localEnd, ev.end);
  } else if (in.op != Opcode::Sync) {
    cs.ready = std::max(cs.ready, ev.start);
    cs.lastEnd = std::max(cs.lastEnd, ev.end);
  }
  if (in.op != Opcode::Sync)
    cs.lastLayer = ev.layer;
  cs.events.push_back(std::move(ev));
  if (cs.waiting)
    releaseIfComplete(in.a);
  return Status::success();
}

int64_t Simulator::nextTime(int core, bool dma) const {
  const CoreState &cs = cores_[core];
  if (dma)
    return cs.dma.empty() ? -1 : cs.dma.front().ready;
  if (cs.waiting || cs.pc >= program_.streams[core].size())
    return -1;
  const program::Instr &in = program_.streams[core][cs.pc];
  // A load of an image still queued for the channel waits for its grant
  // (which comes first: the queue's head is always ready to go).
  if (in.op == Opcode::LoadImage && cs.queued.count(program::loadSource(in)))
    return -1;
  return cs.ready;
}

Expected<TimingResult> Simulator::run() {
  const int cores = arch_.chip.cores;
  if (static_cast<int>(program_.streams.size()) != cores)
    return makeError("timing: the program has ", program_.streams.size(),
                     " instruction streams but the arch has ", cores, " cores");
  for (int32_t id : {program_.input, program_.output})
    if (id < 0 || id >= static_cast<int32_t>(program_.buffers.size()))
      return makeError("timing: input/output buffer ", id, " out of range");
  cores_.assign(cores, CoreState{});
  computeCost_.assign(program_.images.size(), std::nullopt);
  holds_.resize(cores);
  for (int c = 0; c < cores; ++c) {
    cores_[c].macroFree.assign(arch_.chip.macrosPerCore, 0);
    holds_[c].resize(arch_.chip.macrosPerCore);
    for (auto &macro : holds_[c])
      macro.resize(arch_.macro.partitions, -1);
    for (const program::Instr &in : program_.streams[c])
      if (in.op == Opcode::Sync)
        participants_[in.a].insert(c);
  }
  // A barrier waits for the cores whose streams have it (Program.h); one
  // that can never be released is reported after the run.

  // The image arrives from off-chip before the first instruction.
  TimingResult r;
  const Buffer &input = program_.buffers[program_.input];
  TimedEvent inEv;
  inEv.core = -1;
  inEv.lane = Lane::Io;
  inEv.name = "input " + input.name;
  if (input.memory == Memory::Sram) {
    inEv.end = dramTransfer(input.bytes(), 0).second;
    inEv.counters.dramBytes = inEv.counters.sramBytes = input.bytes();
  }
  for (int c = 0; c < cores; ++c) {
    cores_[c].ready = cores_[c].lastEnd = inEv.end;
    addInterval(c, 0, inEv.end, Cause::Memory, -1);
  }

  // Always advance whatever is earliest in time, so shared resources are
  // granted in time order. At a tie instructions go first, in core order
  // (so every core has queued the fetches it issues at that cycle), then
  // the queued fetches take turns by core, starting after the core last
  // granted the channel (a round-robin arbiter).
  int lastGrant = cores - 1;
  for (;;) {
    int next = -1;
    bool nextIsDma = false;
    int64_t nextAt = 0;
    for (bool dma : {false, true})
      for (int k = 1; k <= cores; ++k) {
        const int c = dma ? (lastGrant + k) % cores : k - 1;
        const int64_t t = nextTime(c, dma);
        if (t >= 0 && (next < 0 || t < nextAt)) {
          next = c;
          nextIsDma = dma;
          nextAt = t;
        }
      }
    if (next < 0)
      break;
    if (nextIsDma) {
      grantFetch(next);
      lastGrant = next;
    } else
      MARS_TRY(step(next));
  }
  for (int c = 0; c < cores; ++c)
    if (cores_[c].waiting)
      return makeError("timing: core ", c, " waits forever at barrier ",
                       program_.streams[c][cores_[c].pc - 1].a,
                       " (another core never reaches it)");

  int64_t done = inEv.end;
  for (const CoreState &cs : cores_)
    done = std::max({done, cs.ready, cs.lastEnd, cs.localEnd});
  // The result leaves the chip after the last instruction.
  const Buffer &output = program_.buffers[program_.output];
  TimedEvent outEv;
  outEv.core = -1;
  outEv.lane = Lane::Io;
  outEv.name = "output " + output.name;
  outEv.issue = outEv.start = outEv.end = done;
  if (output.memory == Memory::Sram) {
    std::tie(outEv.start, outEv.end) = dramTransfer(output.bytes(), done);
    outEv.counters.dramBytes = outEv.counters.sramBytes = output.bytes();
  }
  for (int c = 0; c < cores; ++c)
    addInterval(c, done, outEv.end, Cause::Memory, -1);

  r.cycles = outEv.end;
  for (const auto &stream : program_.streams)
    for (const program::Instr &in : stream)
      if (program::isStageBoundary(in))
        r.stages = 2;
  r.inputCycles = inEv.end - inEv.start;
  r.outputCycles = outEv.end - outEv.start;
  r.ioCounters = inEv.counters;
  r.ioCounters += outEv.counters;
  for (CoreState &cs : cores_)
    for (TimedEvent &ev : cs.events)
      r.events.push_back(std::move(ev));
  r.events.push_back(std::move(inEv));
  r.events.push_back(std::move(outEv));
  summarise(r);
  return r;
}

void Simulator::summarise(TimingResult &r) {
  r.clockMhz = arch_.timing.clockMhz;
  const double periodUs = double(r.cycles) / r.clockMhz;
  r.fps = periodUs > 0 ? 1e6 / periodUs : 0;
  // A pipelined image spends a period in each stage; one image alone (not
  // steady) runs its stages one after the other, within `cycles`.
  r.latencyUs = steadyState_ ? periodUs * r.stages : periodUs;
  const int64_t macros = arch_.totalMacros();

  r.layers.resize(program_.layers.size());
  for (size_t i = 0; i < program_.layers.size(); ++i) {
    r.layers[i].layer = static_cast<int32_t>(i);
    r.layers[i].name = program_.layers[i].name;
    r.layers[i].start = std::numeric_limits<int64_t>::max();
  }
  r.totals = r.ioCounters;
  for (const TimedEvent &ev : r.events) {
    if (ev.core < 0)
      continue;
    r.totals += ev.counters;
    if (ev.layer < 0)
      continue;
    LayerTiming &lt = r.layers[ev.layer];
    lt.counters += ev.counters;
    // A barrier's wait belongs to the layer but not its span; nor do its
    // weight fetches, which run ahead under earlier layers (their bytes
    // and energy stay the layer's; a load that waits for one shows it).
    if (ev.op == Opcode::Sync || ev.op == Opcode::FetchImage)
      continue;
    lt.hasInstructions = true;
    lt.start = std::min(lt.start, ev.issue);
    lt.end = std::max(lt.end, ev.end);
  }
  for (LayerTiming &lt : r.layers)
    if (!lt.hasInstructions)
      lt.start = lt.end = 0;

  r.coreBusyCycles.assign(cores_.size(), 0);
  r.coreStallCycles.assign(cores_.size(), 0);
  for (size_t c = 0; c < cores_.size(); ++c) {
    const std::vector<Interval> &ivs = cores_[c].intervals;
    for (const Interval &iv : ivs)
      if (iv.cause == Cause::Compute) {
        r.macroComputeCycles += iv.end - iv.start;
        if (iv.layer >= 0)
          r.layers[iv.layer].macroComputeCycles += iv.end - iv.start;
      }
    const TimeBreakdown whole =
        detail::splitTime(ivs, 0, r.cycles, detail::kAnyLayer);
    detail::operator+=(r.breakdown, whole);
    r.coreStallCycles[c] = whole.stall;
    r.coreBusyCycles[c] = whole.total() - whole.stall - whole.idle;
    for (LayerTiming &lt : r.layers)
      if (lt.hasInstructions)
        detail::operator+=(lt.breakdown,
                           detail::splitTime(ivs, lt.start, lt.end, lt.layer));
  }
  for (LayerTiming &lt : r.layers)
    if (lt.cycles() > 0)
      lt.macroUtilisation =
          double(lt.macroComputeCycles) / double(macros * lt.cycles());
  if (r.cycles > 0)
    r.macroUtilisation =
        double(r.macroComputeCycles) / double(macros * r.cycles);
}

/// What the macros hold after one image: per core, the last LoadImage of
/// each (macro, partition). Simulator::load updates holdings (holdImage) in
/// stream order whatever the timing, so this needs no simulation. Loads that
/// checkInstr would refuse are skipped; the timed run reports them.
Holdings holdingsAfterOneImage(const program::Program &p) {
  const int32_t macros = p.arch.chip.macrosPerCore;
  Holdings holds(p.streams.size(),
                 std::vector<std::vector<int32_t>>(
                     size_t(std::max(macros, 0)),
                     std::vector<int32_t>(
                         size_t(std::max(p.arch.macro.partitions, 0)), -1)));
  for (size_t c = 0; c < p.streams.size(); ++c)
    for (const program::Instr &in : p.streams[c]) {
      if (in.op != Opcode::LoadImage || in.a < 0 ||
          size_t(in.a) >= p.images.size())
        continue;
      const program::WeightImage &im = p.images[size_t(in.a)];
      if (im.macro < 0 || im.macro >= macros)
        continue;
      holdImage(holds[c][size_t(im.macro)], im, in.a);
    }
  return holds;
}

} // namespace

Expected<TimingResult> simulateTiming(const program::Program &program,
                                      const TimingOptions &options) {
  if (!options.steadyState) {
    Simulator cold(program, /*steadyState=*/false, {});
    return cold.run();
  }
  // A first image leaves the macros holding their last images; the timed
  // image starts from there.
  Simulator warm(program, /*steadyState=*/true, holdingsAfterOneImage(program));
  Expected<TimingResult> r = warm.run();
  if (r)
    r->steadyState = true;
  return r;
}

} // namespace mars::runtime
