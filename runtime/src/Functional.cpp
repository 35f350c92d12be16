// The functional executor: walks the cores' instruction streams in barrier
// phases and runs each instruction with the chip's integer arithmetic
// (ConvKernels for the macros, DigitalOps for the digital side).
#include "mars/runtime/Functional.h"

#include "AdcClipCorrection.h"
#include "ConvKernels.h"
#include "DigitalOps.h"
#include "PackedConv.h"
#include "SaturatingKernel.h"
#include "mars/program/BarrierPhases.h"
#include "mars/quant/FixedPoint.h"
#include "mars/support/IntRange.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

namespace mars::runtime {

using program::Buffer;
using program::Instr;
using program::Layer;
using program::LayerKind;
using program::Opcode;
using program::Program;

namespace {

/// Simulator memory one executor may allocate (buffers, accumulators,
/// im2col copies); a hostile program asking for more is refused.
constexpr double kMaxExecutorBytes = 4.0 * (int64_t(1) << 30);

/// The macro-level kernels that are exact sums plus ADC clip corrections.
bool correctsClipping(MacroKernel k) {
  return k == MacroKernel::Best || k == MacroKernel::PortableCorrections ||
         k == MacroKernel::Avx2Corrections;
}

} // namespace

/// Everything one executor owns; see Executor.
class ExecutorState {
public:
  struct ConvState {
    std::vector<int64_t> acc; ///< [pixel][channel], zeroed once per run.
    uint64_t accRun = 0;      ///< The run that last zeroed `acc`.
    detail::Im2col cols;
    uint64_t colsVersion = 0; ///< Input buffer version `cols` was built from.
    bool int32Safe = false;
    /// MacroLevel on the packed kernel: how the ADC's clipping is added.
    detail::AdcClipLayout adcClip;
    /// MacroLevel otherwise: the saturating kernel's packing; when it does
    /// not fit, computeMacroLevel runs on bit masks instead.
    detail::SatLayout sat;
    std::vector<int32_t> fused; ///< Layers run by this layer's Post.
    /// Where it fits: the packed kernel, its input and int32 accumulators
    /// [channel][pixel] (then `acc` stays empty, and `cols` too in Fast
    /// mode).
    detail::PackedLayer packed;
    size_t acc32At = 0, acc32Size = 0; ///< In arena_: int32 [channel][pixel].
    size_t planarAt = 0, colsAt = 0, wordsAt = 0; ///< In arena_: the packed
                                                  ///< input.
  };

  ExecutorState(const Program &p, const ExecOptions &o)
      : program_(p), options_(o) {}

  Status init();
  void initPacked();
  Expected<std::vector<int32_t>> run(const std::vector<int32_t> &input);
  const ExecCounters &counters() const { return counters_; }
  const detail::Buffers &buffers() const { return buffers_; }

private:
  Status checkMemory(bool macroLevel);
  void initBuffers();
  /// work_, holderSlots_ and slotsBegin_: each image's used partitions.
  void initWork();
  void prepareMatrices(bool macroLevel);
  /// Calls f(core, pc, instruction) on every instruction but Sync in the
  /// order run() executes them.
  template <typename F> Status forEachInRunOrder(const F &f) const;
  std::vector<int32_t> imagesInRunOrder() const;
  Status execute(size_t core, size_t pc, const Instr &in);
  Status compute(size_t core, size_t pc, const Instr &in);
  ConvState &convFor(int32_t layer);
  void written(int32_t buffer) { version_[buffer] = ++clock_; }
  size_t holderIndex(int32_t core, int32_t macro, size_t part) const {
    return (size_t(core) * program_.arch.chip.macrosPerCore + macro) *
               program_.arch.macro.partitions +
           part;
  }

  /// The digital layers' vector forms follow the fast kernel's choice.
  static detail::DigitalSimd digitalSimdFor(FastKernel k) {
    switch (k) {
    case FastKernel::Portable: return detail::DigitalSimd::Scalar;
    case FastKernel::Avx2:
    case FastKernel::AvxVnni: return detail::DigitalSimd::Avx2;
    case FastKernel::Avx512Vnni: return detail::DigitalSimd::Avx512;
    case FastKernel::Best:
    case FastKernel::Unpacked: break;
    }
    return detail::bestDigitalSimd();
  }

  const Program &program_;
  ExecOptions options_;
  detail::DigitalSimd digitalSimd_ = digitalSimdFor(options_.fastKernel);
  detail::Buffers buffers_;
  std::vector<uint64_t> version_;
  uint64_t clock_ = 0, runId_ = 0;
  std::vector<ConvState> conv_; ///< Indexed by layer (Conv layers only).
  /// Read-only after init, so shared by the executors `clone` makes.
  std::shared_ptr<const std::vector<detail::PreparedMatrix>> prepared_;
  /// Per image: the work of each non-empty partition, and which partition.
  std::vector<std::vector<detail::PartitionWork>> work_;
  /// Image i's used partitions as holder_ indices: holderSlots_[k] for k
  /// in [slotsBegin_[i], slotsBegin_[i + 1]); one array, so that LoadImage
  /// and Compute do not each chase a pointer per image (a cache miss per
  /// image on large networks).
  std::vector<int32_t> holderSlots_, slotsBegin_;
  /// work_ packed for the packed kernel (images of packed layers only);
  /// read-only after init, shared like prepared_.
  std::shared_ptr<const detail::PackedWeights> packed_;
  std::vector<int32_t> holder_; ///< Image held per (core, macro, partition).
  /// The packed layers' accumulators and inputs, in one allocation.
  detail::HugeBytes arena_;
  int32_t *acc32(const ConvState &c) const {
    return reinterpret_cast<int32_t *>(arena_.data() + c.acc32At);
  }
  detail::PackedInput packedInput(const ConvState &c) const {
    return {arena_.data() + c.planarAt, arena_.data() + c.colsAt,
            reinterpret_cast<int16_t *>(arena_.data() + c.wordsAt)};
  }
  ExecCounters counters_;
};

Status ExecutorState::init() {
  if (options_.mode == ExecMode::Fast && !adcIsExact(program_))
    return makeError("the fast path needs an exact ADC (wl_on × (2^"
                     "input_bits_per_cycle − 1) ≤ 2^adc_bits − 1); use the "
                     "macro-level mode for this arch");
  const bool macroLevel = options_.mode == ExecMode::MacroLevel;
  conv_.resize(program_.layers.size());
  MARS_TRY(checkMemory(macroLevel));
  initBuffers();
  initWork();
  holder_.assign(
      size_t(program_.arch.totalMacros()) * program_.arch.macro.partitions, -1);
  packed_ = std::make_shared<detail::PackedWeights>(program_.images.size());
  if (!macroLevel || correctsClipping(options_.macroKernel))
    initPacked();
  prepareMatrices(macroLevel);
  for (size_t i = 0; i < program_.layers.size(); ++i)
    if (program_.layers[i].kind == LayerKind::Conv && !conv_[i].packed.enabled)
      conv_[i].acc.assign(
          size_t(program_.buffers[program_.layers[i].output].size()), 0);
  return Status::success();
}

/// Refuses a program whose buffers, accumulators and im2col copies would
/// take more than kMaxExecutorBytes; in macro-level mode it also chooses
/// each Conv's saturating-kernel layout, whose size depends on it.
Status ExecutorState::checkMemory(bool macroLevel) {
  double bytes = 0;
  for (const Buffer &b : program_.buffers)
    bytes += 4.0 * double(b.size());
  for (size_t i = 0; i < program_.layers.size(); ++i) {
    const Layer &l = program_.layers[i];
    if (l.kind != LayerKind::Conv)
      continue;
    const program::WeightMatrix &m = program_.matrices[l.matrix];
    const double pixels = double(program_.buffers[l.output].size()) /
                          program_.buffers[l.output].channels;
    bytes += pixels * (8.0 * m.cols + 4.0 * m.rowGroups * m.rowsPerGroup);
    if (!macroLevel)
      continue;
    detail::SatLayout &sat = conv_[i].sat;
    if (options_.macroKernel != MacroKernel::Reference)
      sat =
          detail::satLayoutOf(program_.arch, m, program_.buffers[l.inputs[0]]);
    // Input bit masks (up to 16 bits) on the bit-mask kernel; the ADC clip
    // corrections keep at most 8 bit planes and a pixel and flags (5
    // bytes) for at most every (pixel, row group).
    const double maskBytes =
        pixels * m.rowGroups * 16.0 * 8.0 * ((m.rowsPerGroup + 63) / 64);
    if (sat.fits()) // slice-pair rows and bit-pair weights, int16
      bytes += 2.0 * (pixels * m.rowGroups * sat.slicePairs * sat.pairedRows +
                      double(m.groups.size()) * sat.blocks * sat.pairedRows *
                          sat.bitPairStride * 8);
    else
      bytes += maskBytes;
    if (correctsClipping(options_.macroKernel))
      bytes += maskBytes / 2 + pixels * m.rowGroups * 5.0;
  }
  if (bytes > kMaxExecutorBytes)
    return makeError("the program needs ", int64_t(bytes / (1 << 20)),
                     " MiB of simulator memory per executor, more than the ",
                     int64_t(kMaxExecutorBytes / (1 << 20)), " MiB limit");
  return Status::success();
}

/// Zeroed buffers, the layers fused into each Conv, and whether a Conv's
/// per-partition sums fit int32.
void ExecutorState::initBuffers() {
  buffers_.resize(program_.buffers.size());
  for (size_t i = 0; i < program_.buffers.size(); ++i)
    buffers_[i].assign(size_t(program_.buffers[i].size()), 0);
  version_.assign(program_.buffers.size(), 0);
  for (size_t i = 0; i < program_.layers.size(); ++i) {
    const Layer &l = program_.layers[i];
    if (l.fusedInto >= 0)
      conv_[l.fusedInto].fused.push_back(int32_t(i));
    if (l.kind != LayerKind::Conv)
      continue;
    const Buffer &in = program_.buffers[l.inputs[0]];
    // Bounds one partition's sum for one pixel: at most `rows` products.
    const double maxX = double(
        std::max(-intLo(in.bits, in.isSigned), intHi(in.bits, in.isSigned)));
    const double maxW =
        double(int64_t(1) << (program_.matrices[l.matrix].weightBits - 1));
    conv_[i].int32Safe = maxX * maxW * program_.arch.macro.rows <
                         double(std::numeric_limits<int32_t>::max());
  }
}

namespace {
/// The work of one used partition: the stored groups its index code
/// lists, in slot order, as indices into the matrix's groups.
detail::PartitionWork partitionWork(const program::PartitionImage &part,
                                    const program::WeightMatrix &m) {
  detail::PartitionWork w;
  w.colGroup = part.colGroup;
  const std::vector<int32_t> slots = program::slotRowGroups(part);
  w.groups.reserve(slots.size());
  w.rowGroups.reserve(slots.size());
  // Slots ascend by row group and the groups are sorted by (column
  // group, row group), so each slot's group is usually the next one:
  // a few steps forward, else a binary search of the rest.
  const auto less = [](const program::Group &g,
                       const std::pair<int32_t, int32_t> &key) {
    return std::make_pair(g.colGroup, g.rowGroup) < key;
  };
  auto it = m.groups.begin();
  for (int32_t rg : slots) {
    // Validation guarantees the group is stored.
    const std::pair<int32_t, int32_t> key(part.colGroup, rg);
    int steps = 0;
    while (it != m.groups.end() && less(*it, key) && steps < 4) {
      ++it;
      ++steps;
    }
    if (it != m.groups.end() && less(*it, key))
      it = std::lower_bound(it, m.groups.end(), key, less);
    w.groups.push_back(int32_t(it - m.groups.begin()));
    w.rowGroups.push_back(rg);
  }
  return w;
}
} // namespace

void ExecutorState::initWork() {
  work_.resize(program_.images.size());
  slotsBegin_.assign(1, 0);
  for (size_t i = 0; i < program_.images.size(); ++i) {
    const program::WeightImage &im = program_.images[i];
    const program::WeightMatrix &m =
        program_.matrices[program_.layers[im.layer].matrix];
    for (size_t k = 0; k < im.partitions.size(); ++k) {
      const program::PartitionImage &part = im.partitions[k];
      if (part.matrix < 0)
        continue;
      work_[i].push_back(partitionWork(part, m));
      holderSlots_.push_back(int32_t(holderIndex(im.core, im.macro, k)));
    }
    slotsBegin_.push_back(int32_t(holderSlots_.size()));
  }
}

/// The weights in the forms the kernels other than the packed one read
/// (whose weights packed_ holds): int16 pairs for the unpacked fast path;
/// at macro level bit masks (the bit-mask kernel, ADC clip corrections) or
/// bit pairs (the saturating kernel).
void ExecutorState::prepareMatrices(bool macroLevel) {
  auto prepared = std::make_shared<std::vector<detail::PreparedMatrix>>();
  for (const program::WeightMatrix &m : program_.matrices) {
    // Validation makes m.layer the Conv layer that owns the matrix.
    const ConvState &c = conv_[m.layer];
    detail::PreparedLayouts layouts;
    layouts.pairs = !macroLevel && !c.packed.enabled;
    layouts.bitMasks = macroLevel && !c.packed.enabled && !c.sat.fits();
    prepared->push_back(macroLevel && c.packed.enabled
                            ? detail::prepareClipColumns(c.adcClip, m)
                            : detail::prepareMatrix(m, layouts));
    if (macroLevel && !c.packed.enabled && c.sat.fits())
      detail::prepareBitPairs(c.sat, m, prepared->back());
  }
  prepared_ = std::move(prepared);
}

/// The packed kernel's layers: those whose accumulators provably fit int32.
/// An accumulator (pixel, channel) receives, from each Compute of its layer
/// covering the pixel, wl_on products per stored group of the channel's
/// partition; summed over the layer's Computes (difference arrays over
/// pixels per column group) that bounds it, whatever the program does.
void ExecutorState::initPacked() {
  detail::PackedIsa isa = detail::bestPackedIsa();
  switch (options_.fastKernel) {
  case FastKernel::Unpacked: return;
  case FastKernel::Best: break;
  case FastKernel::Portable: isa = detail::PackedIsa::Scalar; break;
  case FastKernel::Avx2: isa = detail::PackedIsa::Avx2; break;
  case FastKernel::AvxVnni: isa = detail::PackedIsa::AvxVnni; break;
  case FastKernel::Avx512Vnni: isa = detail::PackedIsa::Avx512Vnni; break;
  }
  // Per layer, events (column group, pixel, ±products) of its Computes,
  // swept in order: the largest running sum bounds every accumulator.
  std::vector<std::vector<std::array<int64_t, 3>>> events(
      program_.layers.size());
  for (const std::vector<Instr> &stream : program_.streams)
    for (const Instr &in : stream) {
      if (in.op != Opcode::Compute)
        continue;
      const program::WeightImage &im = program_.images[in.a];
      const int32_t R =
          program_.matrices[program_.layers[im.layer].matrix].rowsPerGroup;
      for (const detail::PartitionWork &w : work_[in.a]) {
        const int64_t n = int64_t(w.groups.size()) * R;
        events[im.layer].push_back({w.colGroup, in.b, n});
        events[im.layer].push_back({w.colGroup, std::max(in.b, in.c), -n});
      }
    }
  size_t arenaBytes = 0;
  auto reserve = [&](size_t bytes) {
    const size_t at = arenaBytes;
    arenaBytes += (bytes + 63) / 64 * 64;
    return at;
  };
  for (size_t i = 0; i < program_.layers.size(); ++i) {
    const Layer &l = program_.layers[i];
    if (l.kind != LayerKind::Conv)
      continue;
    std::vector<std::array<int64_t, 3>> &e = events[i];
    std::sort(e.begin(), e.end()); // at one pixel, ends (−) before starts
    int64_t maxTerms = 0, run = 0;
    for (size_t k = 0; k < e.size(); ++k) {
      if (k > 0 && e[k][0] != e[k - 1][0])
        run = 0;
      maxTerms = std::max(maxTerms, run += e[k][2]);
    }
    ConvState &c = conv_[i];
    if (options_.mode == ExecMode::MacroLevel) {
      // The packed kernel's exact sums serve the macro-level model only
      // with the ADC's clipping added back.
      c.adcClip = detail::adcClipLayoutOf(
          program_, l, maxTerms,
          options_.macroKernel == MacroKernel::PortableCorrections
              ? detail::ClipSimd::Portable
          : options_.macroKernel == MacroKernel::Avx2Corrections
              ? detail::ClipSimd::Avx2
              : detail::ClipSimd::Best);
      if (!c.adcClip.fits)
        continue;
    }
    c.packed = detail::packedLayerOf(program_, l, maxTerms, isa);
    if (!c.packed.enabled)
      continue;
    c.acc32Size = size_t(program_.buffers[l.output].size());
    c.acc32At = reserve(c.acc32Size * sizeof(int32_t));
    c.planarAt = reserve(detail::packedPlanarBytes(c.packed));
    c.colsAt = reserve(detail::packedColsBytes(c.packed));
    c.wordsAt = reserve(detail::packedWordsBytes(c.packed));
  }
  arena_ = detail::HugeBytes(arenaBytes);
  auto packed = std::make_shared<detail::PackedWeights>(program_.images.size());
  const std::vector<int32_t> order = imagesInRunOrder();
  size_t bytes = 0;
  for (int32_t i : order)
    if (conv_[program_.images[i].layer].packed.enabled)
      for (const detail::PartitionWork &w : work_[i])
        bytes += detail::packedWeightBytes(
            conv_[program_.images[i].layer].packed, w);
  int8_t *dst = packed->allocate(bytes);
  for (int32_t i : order) {
    const int32_t layer = program_.images[i].layer;
    if (!conv_[layer].packed.enabled)
      continue;
    const program::WeightMatrix &m =
        program_.matrices[program_.layers[layer].matrix];
    for (const detail::PartitionWork &w : work_[i]) {
      packed->work[i].push_back(
          detail::packWork(conv_[layer].packed, m, w, dst));
      dst += detail::packedWeightBytes(conv_[layer].packed, w);
    }
  }
  packed_ = std::move(packed);
}

/// Barrier phases (program::walkBarrierPhases): between two barriers the
/// cores' work may run in any order (it touches disjoint outputs or adds
/// into accumulators, which commutes). The stage boundary is a barrier
/// here: this runs one image. Stops at f's first failure.
template <typename F>
Status ExecutorState::forEachInRunOrder(const F &f) const {
  Status failure = Status::success();
  const program::PhaseWalk walk = program::walkBarrierPhases(
      program_.streams,
      [&](size_t core, size_t pc) {
        failure = f(core, pc, program_.streams[core][pc]);
        return bool(failure);
      },
      [](int32_t, const std::vector<size_t> &) {});
  if (walk.end == program::PhaseWalk::Deadlock)
    return makeError("the cores deadlock at barriers (", walk.waiting,
                     " waiting, ", walk.finished, " finished)");
  return failure;
}

/// Each image once, in the order run() first computes with it (images
/// never computed come last).
std::vector<int32_t> ExecutorState::imagesInRunOrder() const {
  std::vector<int32_t> order;
  std::vector<bool> seen(program_.images.size(), false);
  // A program whose cores disagree on barriers fails in run(); its order
  // here is only a layout choice.
  (void)forEachInRunOrder([&](size_t, size_t, const Instr &in) {
    if (in.op == Opcode::Compute && !seen[size_t(in.a)]) {
      seen[size_t(in.a)] = true;
      order.push_back(in.a);
    }
    return Status::success();
  });
  for (size_t i = 0; i < seen.size(); ++i)
    if (!seen[i])
      order.push_back(int32_t(i));
  return order;
}

ExecutorState::ConvState &ExecutorState::convFor(int32_t layer) {
  ConvState &c = conv_[layer];
  if (c.accRun != runId_) {
    std::fill(c.acc.begin(), c.acc.end(), 0);
    if (c.packed.enabled)
      std::fill(acc32(c), acc32(c) + c.acc32Size, 0);
    c.accRun = runId_;
  }
  return c;
}

Status ExecutorState::compute(size_t core, size_t pc, const Instr &in) {
  const program::WeightImage &im = program_.images[in.a];
  for (int32_t s = slotsBegin_[in.a]; s < slotsBegin_[in.a + 1]; ++s)
    if (holder_[size_t(holderSlots_[s])] != in.a)
      return makeError("streams[", core, "][", pc, "] Compute: image ", in.a,
                       " is not loaded in core ", im.core, " macro ", im.macro,
                       " partition ",
                       holderSlots_[s] % program_.arch.macro.partitions,
                       " (no LoadImage before it)");
  const Layer &l = program_.layers[im.layer];
  ConvState &c = convFor(im.layer);
  const bool macroLevel = options_.mode == ExecMode::MacroLevel;
  detail::ComputeArgs args;
  args.program = &program_;
  args.matrix = &program_.matrices[l.matrix];
  args.prepared = &(*prepared_)[l.matrix];
  args.cols = &c.cols;
  args.pixelBegin = in.b;
  args.pixelEnd = in.c;
  args.acc = c.acc.data();
  if (c.packed.enabled) {
    if (c.colsVersion != version_[l.inputs[0]]) {
      detail::packInput(c.packed, l, buffers_[l.inputs[0]], packedInput(c));
      if (macroLevel) {
        if (!c.adcClip.direct)
          detail::buildIm2col(program_, l, buffers_[l.inputs[0]],
                              /*withMasks=*/false, c.cols);
        detail::findClippingSlices(c.adcClip, buffers_[l.inputs[0]], c.cols);
      }
      c.colsVersion = version_[l.inputs[0]];
    }
    detail::computePacked(c.packed, packed_->work[in.a], packedInput(c), in.b,
                          in.c, acc32(c));
    if (macroLevel)
      for (const detail::PartitionWork &w : work_[in.a])
        counters_.activations += detail::correctAdcClipping(
            args, w, c.adcClip, acc32(c), c.packed.pixels,
            counters_.adcSaturations);
    return Status::success();
  }
  if (c.colsVersion != version_[l.inputs[0]] || c.cols.pixels == 0) {
    detail::buildIm2col(program_, l, buffers_[l.inputs[0]],
                        /*withMasks=*/macroLevel && !c.sat.fits(), c.cols);
    if (c.sat.fits())
      detail::buildSlicePairs(c.sat, program_.matrices[l.matrix].rowsPerGroup,
                              c.cols);
    c.colsVersion = version_[l.inputs[0]];
  }
  const bool inputSigned = program_.buffers[l.inputs[0]].isSigned;
  for (const detail::PartitionWork &w : work_[in.a]) {
    if (c.sat.fits())
      counters_.activations +=
          detail::computeSaturating(args, w, c.sat, counters_.adcSaturations);
    else if (macroLevel)
      counters_.activations += detail::computeMacroLevel(
          args, w, inputSigned, counters_.adcSaturations);
    else
      detail::computeFast(args, w, c.int32Safe);
  }
  return Status::success();
}

Status ExecutorState::execute(size_t core, size_t pc, const Instr &in) {
  switch (in.op) {
  case Opcode::LoadImage: {
    for (int32_t s = slotsBegin_[in.a]; s < slotsBegin_[in.a + 1]; ++s)
      holder_[size_t(holderSlots_[s])] = in.a;
    return Status::success();
  }
  case Opcode::FetchImage: // Only moves bytes; timing counts it.
  case Opcode::Sync: return Status::success();
  case Opcode::Compute: return compute(core, pc, in);
  case Opcode::Post: {
    const Layer &l = program_.layers[in.a];
    ConvState &c = convFor(in.a);
    if (c.packed.enabled)
      detail::postConvPacked(program_, l, acc32(c), in.b, in.c, c.packed.isa,
                             buffers_[l.output]);
    else
      detail::postConv(program_, l, c.acc, in.b, in.c, buffers_);
    written(l.output);
    for (int32_t f : conv_[in.a].fused) {
      detail::runDigitalLayer(program_, program_.layers[f], in.b, in.c,
                              digitalSimd_, buffers_);
      written(program_.layers[f].output);
    }
    return Status::success();
  }
  case Opcode::Digital:
    detail::runDigitalLayer(program_, program_.layers[in.a], in.b, in.c,
                            digitalSimd_, buffers_);
    written(program_.layers[in.a].output);
    return Status::success();
  }
  return Status::success();
}

Expected<std::vector<int32_t>>
ExecutorState::run(const std::vector<int32_t> &input) {
  const Buffer &ib = program_.buffers[program_.input];
  if (int64_t(input.size()) != ib.size())
    return makeError("input has ", input.size(),
                     " values, the program's input '", ib.name, "' has ",
                     ib.size(), " (", ib.channels, "x", ib.height, "x",
                     ib.width, ")");
  for (size_t i = 0; i < input.size(); ++i)
    if (input[i] < intLo(ib.bits, ib.isSigned) ||
        input[i] > intHi(ib.bits, ib.isSigned))
      return makeError(
          "input value ", input[i], " at index ", i, " is outside the input's ",
          ib.isSigned ? "signed " : "unsigned ", ib.bits, "-bit range");
  ++runId_;
  counters_ = {};
  for (size_t b = 0; b < buffers_.size(); ++b) {
    std::fill(buffers_[b].begin(), buffers_[b].end(), 0);
    written(int32_t(b));
  }
  buffers_[program_.input] = input;
  written(program_.input);
  std::fill(holder_.begin(), holder_.end(), -1);

  MARS_TRY(forEachInRunOrder([this](size_t core, size_t pc, const Instr &in) {
    return execute(core, pc, in);
  }));
  return buffers_[program_.output];
}

const char *bestFastKernelName() {
  switch (detail::bestPackedIsa()) {
  case detail::PackedIsa::Avx512Vnni: return "AVX-512 VNNI";
  case detail::PackedIsa::AvxVnni: return "AVX-VNNI";
  case detail::PackedIsa::Avx2: return "AVX2";
  case detail::PackedIsa::Scalar: break;
  }
  return "portable C++";
}

bool fastKernelSupported(FastKernel kernel) {
  switch (kernel) {
  case FastKernel::Best:
  case FastKernel::Portable:
  case FastKernel::Unpacked: return true;
  case FastKernel::Avx2:
    return detail::packedIsaSupported(detail::PackedIsa::Avx2);
  case FastKernel::AvxVnni:
    return detail::packedIsaSupported(detail::PackedIsa::AvxVnni);
  case FastKernel::Avx512Vnni:
    return detail::packedIsaSupported(detail::PackedIsa::Avx512Vnni);
  }
  return false;
}

Expected<Executor> Executor::create(const Program &program,
                                    const ExecOptions &options) {
  if (options.mode == ExecMode::Fast &&
      !fastKernelSupported(options.fastKernel))
    return makeError("this CPU cannot run the requested fast-path kernel");
  auto state = std::make_unique<ExecutorState>(program, options);
  Status st = state->init();
  if (!st)
    return st.error();
  return Executor(std::move(state));
}

Executor Executor::clone() const {
  return Executor(std::make_unique<ExecutorState>(*state_));
}

Executor::Executor(std::unique_ptr<ExecutorState> state)
    : state_(std::move(state)) {}
Executor::Executor(Executor &&) noexcept = default;
Executor &Executor::operator=(Executor &&) noexcept = default;
Executor::~Executor() = default;

Expected<std::vector<int32_t>>
Executor::run(const std::vector<int32_t> &input) {
  return state_->run(input);
}

const ExecCounters &Executor::counters() const { return state_->counters(); }

const std::vector<std::vector<int32_t>> &Executor::buffers() const {
  return state_->buffers();
}

bool adcIsExact(const Program &program) { return program.arch.adcExact(); }

std::vector<int32_t> quantizeInput(const Program &p, const float *image) {
  const Buffer &in = p.buffers[p.input];
  std::vector<int32_t> q(size_t(in.size()));
  const int64_t plane = int64_t(in.height) * in.width;
  const bool normalise = !p.inputOffset.empty();
  for (size_t i = 0; i < q.size(); ++i) {
    // float32 normalisation, as in the QDQ graph's Sub and Mul nodes.
    float v = image[i];
    if (normalise) {
      const size_t c = i / size_t(plane);
      v = (v - p.inputOffset[c]) * p.inputMultiplier[c];
    }
    q[i] = static_cast<int32_t>(quant::quantizeInputValue(
        v, p.inputClipLo, p.inputClipHi, in.scale, intLo(in.bits, in.isSigned),
        intHi(in.bits, in.isSigned)));
  }
  return q;
}

double outputReal(const Program &p, const std::vector<int32_t> &out,
                  int64_t i) {
  const Buffer &ob = p.buffers[p.output];
  if (!ob.isAccumulator)
    return double(out[i]) * ob.scale;
  // Follow Reshapes back to the Conv that holds the per-channel scales;
  // reshapes keep element order, so element i stays element i.
  int32_t buffer = p.output;
  for (size_t hops = 0; hops <= p.layers.size(); ++hops) {
    const Layer *producer = nullptr;
    for (const Layer &l : p.layers)
      if (l.output == buffer)
        producer = &l;
    if (!producer)
      break;
    if (producer->kind == LayerKind::Conv) {
      const Buffer &cb = p.buffers[buffer];
      const int64_t perChannel = int64_t(cb.height) * cb.width;
      return double(out[i]) * producer->logitScales[i / perChannel];
    }
    buffer = producer->inputs[0];
  }
  return double(out[i]); // No producer: raw (a program without layers).
}

int argmaxClass(const Program &p, const std::vector<int32_t> &out) {
  int best = 0;
  double bestValue = out.empty() ? 0 : outputReal(p, out, 0);
  for (size_t i = 1; i < out.size(); ++i) {
    const double v = outputReal(p, out, int64_t(i));
    if (v > bestValue) {
      bestValue = v;
      best = int(i);
    }
  }
  return best;
}

} // namespace mars::runtime
