/// validateProgram: everything the runtime relies on, checked once, so that
/// executing a validated program can index every array without further
/// checks. Each problem is one message naming the item and the numbers.
#include "ValidateOrder.h"
#include "mars/program/ImageCosts.h"
#include "mars/program/ProgramFile.h"
#include "mars/support/IntRange.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

namespace mars::program {

namespace {

/// Largest tensor the simulator allocates (elements of one buffer).
constexpr int64_t kMaxBufferElements = int64_t(1) << 26;

class Checker {
public:
  explicit Checker(const Program &p)
      : program_(p), storedCodes_(p.matrices.size()) {}

  std::vector<std::string> run() {
    for (const std::string &m : arch::validate(program_.arch))
      problem("arch: ", m);
    if (!problems_.empty())
      return problems_;
    checkBuffers();
    if (!problems_.empty()) // later checks compute with buffer fields
      return problems_;
    checkInfo();
    for (size_t i = 0; i < program_.layers.size(); ++i)
      checkLayer(int32_t(i));
    for (size_t i = 0; i < program_.matrices.size(); ++i)
      checkMatrix(int32_t(i));
    if (problems_.empty())
      for (size_t i = 0; i < program_.images.size(); ++i)
        checkImage(int32_t(i));
    if (problems_.empty())
      checkStreams();
    if (problems_.empty())
      detail::checkCrossCoreOrder(program_, problems_);
    if (problems_.empty())
      checkWeightSram();
    return problems_;
  }

private:
  template <typename... Parts> void problem(const Parts &...parts) {
    if (problems_.size() < 100)
      problems_.push_back(makeError(parts...).message());
  }
  bool bufferOk(int32_t id) const {
    return id >= 0 && size_t(id) < program_.buffers.size();
  }

  void checkBuffers() {
    for (size_t i = 0; i < program_.buffers.size(); ++i) {
      const Buffer &b = program_.buffers[i];
      std::string at = "buffers[" + std::to_string(i) + "] '" + b.name + "'";
      // Two steps: the product of three int32 dims can overflow int64.
      if (b.channels < 1 || b.height < 1 || b.width < 1 ||
          int64_t(b.channels) * b.height > kMaxBufferElements ||
          b.size() > kMaxBufferElements)
        problem(at, ": shape ", b.channels, "x", b.height, "x", b.width,
                " must be positive and at most ", kMaxBufferElements,
                " elements");
      if (b.bits < 1 || b.bits > (b.isAccumulator ? 32 : 16))
        problem(at, ": bits must be in 1..", b.isAccumulator ? 32 : 16,
                ", got ", b.bits);
      if (b.isAccumulator && (b.bits != 32 || !b.isSigned))
        problem(at, ": accumulators are signed 32-bit");
      if (!(b.scale > 0) || !std::isfinite(b.scale))
        problem(at, ": scale must be positive and finite");
      if (b.bank != 0 && b.bank != 1)
        problem(at, ": bank must be 0 or 1, got ", b.bank);
      if (b.offset < 0)
        problem(at, ": negative offset ", b.offset);
    }
  }

  void checkInfo() {
    if (!bufferOk(program_.input) || !bufferOk(program_.output)) {
      problem("input buffer ", program_.input, " or output buffer ",
              program_.output, " out of range (", program_.buffers.size(),
              " buffers)");
      return;
    }
    const Buffer &in = program_.buffers[program_.input];
    if (in.isAccumulator || in.bits > 16)
      problem("input buffer '", in.name, "' must be a quantized tensor");
    for (const auto *v : {&program_.inputOffset, &program_.inputMultiplier})
      if (!v->empty() && int64_t(v->size()) != in.channels)
        problem("input normalisation has ", v->size(), " values for ",
                in.channels, " input channels");
    if (std::isnan(program_.inputClipLo) || std::isnan(program_.inputClipHi) ||
        program_.inputClipLo > program_.inputClipHi)
      problem("input clip range is invalid");
    if (program_.streams.size() != size_t(program_.arch.chip.cores))
      problem(program_.streams.size(), " instruction streams for ",
              program_.arch.chip.cores, " cores");
  }

  /// Output H×W of a windowed layer over `in`.
  /// The output extent along one axis, with ONNX's ceil_mode rule as lib/ir's
  /// shape inference applies it: the extra ceil window is kept only when it
  /// starts inside the input or its left padding.
  static int64_t outExtent(int64_t in, int32_t k, int32_t s, int32_t d,
                           int32_t pa, int32_t pb, bool ceilMode) {
    const int64_t extent = int64_t(d) * (k - 1) + 1;
    const int64_t padded = in + pa + pb;
    if (padded < extent)
      return 0;
    const int64_t span = padded - extent;
    int64_t out = (ceilMode ? (span + s - 1) / s : span / s) + 1;
    if (ceilMode && (out - 1) * s >= in + pa)
      --out;
    return out;
  }

  void checkRequant(const std::string &at, const Requant &r) {
    if (r.value < 1 || r.shift < 0 || r.shift > 62)
      problem(at, ": requantization multiplier ", r.value, ">>", r.shift,
              " out of range (value 1..2^31-1, shift 0..62)");
  }

  void checkLayer(int32_t i) {
    const Layer &l = program_.layers[i];
    const std::string at = "layers[" + std::to_string(i) + "] '" + l.name + "'";
    // The checks below index buffers and inputs[0].
    if (!checkLayerOperands(at, l))
      return;
    const Buffer &in = program_.buffers[l.inputs[0]];
    const Buffer &out = program_.buffers[l.output];
    checkClamp(at, l, out);
    checkLayerTypes(at, l, out);
    checkFusion(at, i, l, out);
    if (in.isAccumulator && l.kind != LayerKind::Reshape)
      problem(at, ": reads raw accumulators");
    switch (l.kind) {
    case LayerKind::Conv:
    case LayerKind::MaxPool:
    case LayerKind::AvgPool: return checkWindowed(at, l, in, out);
    case LayerKind::Add: return checkAdd(at, l, out);
    case LayerKind::Concat: return checkConcat(at, l, out);
    case LayerKind::Reshape:
      if (in.size() != out.size() || in.isAccumulator != out.isAccumulator)
        return problem(at, ": reshape changes the element count");
      return;
    }
  }

  /// Buffer ids in range and an input count the kind allows; false (with
  /// the problem recorded) when the layer cannot be checked further.
  bool checkLayerOperands(const std::string &at, const Layer &l) {
    for (int32_t in : l.inputs)
      if (!bufferOk(in)) {
        problem(at, ": input buffer ", in, " out of range (",
                program_.buffers.size(), " buffers)");
        return false;
      }
    if (!bufferOk(l.output)) {
      problem(at, ": output buffer ", l.output, " out of range (",
              program_.buffers.size(), " buffers)");
      return false;
    }
    const size_t n = l.inputs.size();
    const bool single = l.kind != LayerKind::Add && l.kind != LayerKind::Concat;
    if (n < 1 || (single && n != 1) || n > 64) {
      problem(at, ": ", layerKindName(l.kind), " with ", n, " inputs");
      return false;
    }
    return true;
  }

  void checkClamp(const std::string &at, const Layer &l, const Buffer &out) {
    if (l.clampLo > l.clampHi)
      problem(at, ": clamp [", l.clampLo, ", ", l.clampHi, "] is empty");
    // Clamps keep every activation within its buffer's type, which bounds
    // all later integer arithmetic (no overflow on any valid program).
    const bool clamps = l.kind == LayerKind::AvgPool ||
                        l.kind == LayerKind::Add ||
                        (l.kind == LayerKind::Conv && !out.isAccumulator);
    if (clamps && !out.isAccumulator) {
      const int64_t lo = intLo(out.bits, out.isSigned);
      const int64_t hi = intHi(out.bits, out.isSigned);
      if (l.clampLo < lo || l.clampHi > hi)
        problem(at, ": clamp [", l.clampLo, ", ", l.clampHi, "] exceeds the ",
                out.isSigned ? "signed " : "unsigned ", out.bits,
                "-bit output range");
    }
  }

  /// Only a Conv (or a Reshape of one) writes accumulators; the kinds that
  /// do not requantize only copy values, so their inputs must fit the output.
  void checkLayerTypes(const std::string &at, const Layer &l,
                       const Buffer &out) {
    if (out.isAccumulator &&
        !(l.kind == LayerKind::Conv || l.kind == LayerKind::Reshape))
      problem(at, ": only a Conv or Reshape may produce accumulators");
    if (!out.isAccumulator && l.kind != LayerKind::Conv &&
        l.kind != LayerKind::AvgPool && l.kind != LayerKind::Add)
      for (int32_t b : l.inputs)
        if (program_.buffers[b].bits > out.bits ||
            program_.buffers[b].isSigned != out.isSigned)
          problem(at, ": input '", program_.buffers[b].name,
                  "' is wider than the output or differs in signedness");
  }

  /// A fused layer runs inside an earlier Conv's post-processing, so it must
  /// be a pooling or Add over that Conv's channels.
  void checkFusion(const std::string &at, int32_t i, const Layer &l,
                   const Buffer &out) {
    if (l.fusedInto != -1 &&
        (l.fusedInto < 0 || l.fusedInto >= i ||
         program_.layers[l.fusedInto].kind != LayerKind::Conv ||
         l.kind == LayerKind::Conv))
      problem(at, ": fused into ", l.fusedInto,
              ", which is not an earlier Conv layer");
    if (l.fusedInto >= 0 && l.fusedInto < i &&
        ((l.kind != LayerKind::MaxPool && l.kind != LayerKind::AvgPool &&
          l.kind != LayerKind::Add) ||
         !bufferOk(program_.layers[l.fusedInto].output) ||
         out.channels !=
             program_.buffers[program_.layers[l.fusedInto].output].channels))
      problem(at, ": only pooling and Add with the producer's channels can be "
                  "fused");
  }

  /// Conv, MaxPool and AvgPool: window attributes in range and an output
  /// shape that follows from them; then the kind's own checks.
  void checkWindowed(const std::string &at, const Layer &l, const Buffer &in,
                     const Buffer &out) {
    if (l.kernelH < 1 || l.kernelW < 1 || l.strideH < 1 || l.strideW < 1 ||
        l.dilationH < 1 || l.dilationW < 1 || l.kernelH > 64 ||
        l.kernelW > 64 || l.strideH > 64 || l.strideW > 64 ||
        l.dilationH > 64 || l.dilationW > 64)
      return problem(at, ": kernel, stride and dilation must be in 1..64");
    for (int32_t pad : {l.padTop, l.padLeft, l.padBottom, l.padRight})
      if (pad < 0 || pad > 64)
        return problem(at, ": padding must be in 0..64, got ", pad);
    if (l.ceilMode && l.kind == LayerKind::Conv)
      return problem(at, ": ceil_mode is a pooling attribute");
    const int64_t oh = outExtent(in.height, l.kernelH, l.strideH, l.dilationH,
                                 l.padTop, l.padBottom, l.ceilMode);
    const int64_t ow = outExtent(in.width, l.kernelW, l.strideW, l.dilationW,
                                 l.padLeft, l.padRight, l.ceilMode);
    if (oh != out.height || ow != out.width)
      return problem(at, ": output ", out.height, "x", out.width,
                     " does not follow from input ", in.height, "x", in.width,
                     " (expected ", oh, "x", ow, ")");
    if (l.kind == LayerKind::Conv)
      return checkConv(at, l, in, out);
    if (out.channels != in.channels)
      return problem(at, ": pooling changes channels");
    if (l.kind == LayerKind::AvgPool) {
      if (int64_t(l.requant.size()) != int64_t(l.kernelH) * l.kernelW)
        return problem(at, ": ", l.requant.size(), " window multipliers for a ",
                       l.kernelH, "x", l.kernelW, " window");
      for (const Requant &r : l.requant)
        checkRequant(at, r);
    }
  }

  void checkAdd(const std::string &at, const Layer &l, const Buffer &out) {
    const size_t n = l.inputs.size();
    if (l.inputRequant.size() != n)
      return problem(at, ": ", l.inputRequant.size(), " input multipliers for ",
                     n, " inputs");
    for (int32_t b : l.inputs) {
      const Buffer &x = program_.buffers[b];
      if (x.channels != out.channels || x.height != out.height ||
          x.width != out.width || x.isAccumulator)
        return problem(at, ": input '", x.name,
                       "' shape differs from the "
                       "output");
    }
    for (const Requant &r : l.inputRequant) {
      checkRequant(at, r);
      // The sum is rounded once, so every input shares one shift.
      if (r.shift != l.inputRequant[0].shift)
        return problem(at, ": input multipliers have different shifts (",
                       l.inputRequant[0].shift, " and ", r.shift, ")");
    }
  }

  void checkConcat(const std::string &at, const Layer &l, const Buffer &out) {
    int64_t channels = 0;
    for (int32_t b : l.inputs) {
      const Buffer &x = program_.buffers[b];
      if (x.height != out.height || x.width != out.width || x.isAccumulator)
        return problem(at, ": input '", x.name, "' size differs");
      channels += x.channels;
    }
    if (channels != out.channels)
      return problem(at, ": inputs have ", channels, " channels, output ",
                     out.channels);
  }

  void checkConv(const std::string &at, const Layer &l, const Buffer &in,
                 const Buffer &out) {
    if (l.groups < 1 || in.channels % l.groups || out.channels % l.groups)
      return problem(at, ": groups ", l.groups, " do not divide ", in.channels,
                     " input and ", out.channels, " output channels");
    if (l.matrix < 0 || size_t(l.matrix) >= program_.matrices.size())
      return problem(at, ": matrix ", l.matrix, " out of range (",
                     program_.matrices.size(), " matrices)");
    const WeightMatrix &m = program_.matrices[l.matrix];
    const int32_t self = int32_t(&l - program_.layers.data());
    if (m.layer != self)
      return problem(at, ": matrix ", l.matrix, " belongs to layer ", m.layer);
    if (int64_t(m.rows) != int64_t(l.kernelH) * l.kernelW * in.channels ||
        m.cols != out.channels)
      return problem(at, ": matrix is ", m.rows, "x", m.cols, ", expected ",
                     int64_t(l.kernelH) * l.kernelW * in.channels, "x",
                     out.channels);
    if (l.bias.size() != size_t(out.channels))
      return problem(at, ": ", l.bias.size(), " biases for ", out.channels,
                     " channels");
    if (out.isAccumulator) {
      if (!l.requant.empty() || l.logitScales.size() != size_t(out.channels))
        return problem(at, ": an accumulator output needs one logit scale per "
                           "channel and no requantization");
    } else {
      if (l.requant.size() != size_t(out.channels))
        return problem(at, ": ", l.requant.size(), " multipliers for ",
                       out.channels, " channels");
      for (const Requant &r : l.requant)
        checkRequant(at, r);
    }
    if (in.bits > 16)
      problem(at, ": input of ", in.bits, " bits");
  }

  void checkMatrix(int32_t i) {
    const WeightMatrix &m = program_.matrices[i];
    const std::string at = "matrices[" + std::to_string(i) + "]";
    if (m.layer < 0 || size_t(m.layer) >= program_.layers.size() ||
        program_.layers[m.layer].matrix != i)
      return problem(at, ": layer ", m.layer, " does not own it");
    if (m.weightBits < 1 || m.weightBits > 8 ||
        m.weightBits > program_.arch.partitionCols())
      return problem(at, ": weight bits ", m.weightBits, " out of range");
    if (m.rowsPerGroup != program_.arch.macro.wlOn ||
        m.channelsPerGroup != program_.arch.partitionCols() / m.weightBits)
      return problem(at, ": group ", m.rowsPerGroup, "x", m.channelsPerGroup,
                     " does not match the arch (", program_.arch.macro.wlOn,
                     "x", program_.arch.partitionCols() / m.weightBits, ")");
    if (m.rows < 1 || m.cols < 1 ||
        m.rowGroups !=
            (int64_t(m.rows) + m.rowsPerGroup - 1) / m.rowsPerGroup ||
        m.colGroups !=
            (int64_t(m.cols) + m.channelsPerGroup - 1) / m.channelsPerGroup)
      return problem(at, ": ", m.rowGroups, "x", m.colGroups,
                     " groups do not tile ", m.rows, "x", m.cols);
    const int64_t lo = signedLo(m.weightBits), hi = signedHi(m.weightBits);
    const size_t groupSize = size_t(m.rowsPerGroup) * m.channelsPerGroup;
    for (size_t k = 0; k < m.groups.size(); ++k) {
      const Group &g = m.groups[k];
      if (g.rowGroup < 0 || g.rowGroup >= m.rowGroups || g.colGroup < 0 ||
          g.colGroup >= m.colGroups)
        return problem(at, " group ", k, ": (", g.rowGroup, ", ", g.colGroup,
                       ") out of range");
      if (k > 0) {
        const Group &prev = m.groups[k - 1];
        if (std::make_pair(prev.colGroup, prev.rowGroup) >=
            std::make_pair(g.colGroup, g.rowGroup))
          return problem(at, " group ", k, ": not sorted or duplicated");
      }
      if (g.weights.size() != groupSize)
        return problem(at, " group ", k, ": ", g.weights.size(),
                       " weights, expected ", groupSize);
      // A min/max reduction the compiler vectorises (an early exit per
      // weight does not); the offending weight is looked up only if any.
      int8_t least = 0, most = 0;
      for (int8_t w : g.weights) {
        least = std::min(least, w);
        most = std::max(most, w);
      }
      if (least < lo || most > hi)
        for (int8_t w : g.weights)
          if (w < lo || w > hi)
            return problem(at, " group ", k, ": weight ", int(w),
                           " outside the ", m.weightBits, "-bit range");
    }
  }

  /// Per column group of matrix `mi`, an index code naming every stored
  /// group (bit rg of byte rg / 8), made once: checkImage compares each
  /// partition's index code with it byte by byte instead of looking each
  /// of its row groups up.
  const std::vector<uint8_t> &storedCodes(int32_t mi) {
    std::vector<uint8_t> &codes = storedCodes_[size_t(mi)];
    if (codes.empty()) {
      const WeightMatrix &m = program_.matrices[mi];
      const size_t bytes = size_t(m.rowGroups + 7) / 8;
      codes.assign(size_t(m.colGroups) * bytes, 0);
      for (const Group &g : m.groups)
        codes[size_t(g.colGroup) * bytes + size_t(g.rowGroup) / 8] |=
            uint8_t(1u << (g.rowGroup % 8));
    }
    return codes;
  }

  void checkImage(int32_t i) {
    const WeightImage &w = program_.images[i];
    // Names are made only for a problem: a large network has tens of
    // thousands of images.
    const auto at = [i] { return "images[" + std::to_string(i) + "]"; };
    if (w.core < 0 || w.core >= program_.arch.chip.cores || w.macro < 0 ||
        w.macro >= program_.arch.chip.macrosPerCore)
      return problem(at(), ": core ", w.core, " macro ", w.macro,
                     " not on the chip");
    if (w.layer < 0 || size_t(w.layer) >= program_.layers.size() ||
        program_.layers[w.layer].kind != LayerKind::Conv)
      return problem(at(), ": layer ", w.layer, " is not a Conv layer");
    const int32_t mi = program_.layers[w.layer].matrix;
    const WeightMatrix &m = program_.matrices[mi];
    if (w.partitions.size() != size_t(program_.arch.macro.partitions))
      return problem(at(), ": ", w.partitions.size(),
                     " partitions, the macro has ",
                     program_.arch.macro.partitions);
    const int32_t slots = program_.arch.macro.rows / m.rowsPerGroup;
    for (size_t k = 0; k < w.partitions.size(); ++k) {
      const PartitionImage &part = w.partitions[k];
      if (part.matrix == -1)
        continue;
      const auto pat = [&] { return at() + " partition " + std::to_string(k); };
      if (part.matrix != mi)
        return problem(pat(), ": matrix ", part.matrix, " is not layer ",
                       w.layer, "'s matrix ", mi);
      if (part.colGroup < 0 || part.colGroup >= m.colGroups)
        return problem(pat(), ": column group ", part.colGroup,
                       " out of range");
      const size_t bytes = size_t((m.rowGroups + 7) / 8);
      if (part.indexCode.size() != bytes)
        return problem(pat(), ": index code of ", part.indexCode.size(),
                       " bytes for ", m.rowGroups, " row groups");
      for (int32_t b = m.rowGroups; b < int32_t(bytes) * 8; ++b)
        if (part.indexCode[b / 8] >> (b % 8) & 1)
          return problem(pat(), ": index code bit ", b, " past the row groups");
      if (storedGroups(part) > slots)
        return problem(pat(), ": ", storedGroups(part), " groups exceed the ",
                       slots, " slots of a partition");
      const uint8_t *stored =
          storedCodes(mi).data() + size_t(part.colGroup) * bytes;
      for (size_t b = 0; b < bytes; ++b)
        if (uint8_t missing = part.indexCode[b] & ~stored[b])
          return problem(pat(), ": index code names row group ",
                         int32_t(b) * 8 + __builtin_ctz(missing),
                         " of column group ", part.colGroup,
                         ", which is not stored");
    }
  }

  void checkStreams() {
    std::vector<std::vector<int32_t>> barriers(program_.streams.size());
    std::map<int32_t, std::set<size_t>> boundaries; // Barrier -> its cores.
    std::set<int32_t> plain;                        // Ordinary barriers.

    for (size_t core = 0; core < program_.streams.size(); ++core) {
      const auto &s = program_.streams[core];
      for (size_t k = 0; k < s.size(); ++k) {
        const Instr &in = s[k];
        const std::string at = "streams[" + std::to_string(core) + "][" +
                               std::to_string(k) + "] " + opcodeName(in.op);
        switch (in.op) {
        case Opcode::LoadImage:
        case Opcode::FetchImage:
        case Opcode::Compute: {
          if (in.a < 0 || size_t(in.a) >= program_.images.size())
            return problem(at, ": image ", in.a, " out of range (",
                           program_.images.size(), " images)");
          const WeightImage &w = program_.images[in.a];
          if (size_t(w.core) != core)
            return problem(at, ": image ", in.a, " belongs to core ", w.core);
          if (in.op == Opcode::FetchImage) {
            if (in.b != 0 || in.c != 0)
              return problem(at, ": unused operands must be 0");
            break;
          }
          if (in.op == Opcode::LoadImage) {
            if (!checkLoadSource(at, in))
              return;
            break;
          }
          const Buffer &out = program_.buffers[program_.layers[w.layer].output];
          if (in.b < 0 || in.b >= in.c ||
              int64_t(in.c) > int64_t(out.height) * out.width)
            return problem(at, ": pixels [", in.b, ", ", in.c,
                           ") outside the layer's ",
                           int64_t(out.height) * out.width, " output pixels");
          break;
        }
        case Opcode::Post:
        case Opcode::Digital: {
          if (in.a < 0 || size_t(in.a) >= program_.layers.size())
            return problem(at, ": layer ", in.a, " out of range (",
                           program_.layers.size(), " layers)");
          const Layer &l = program_.layers[in.a];
          const bool conv = l.kind == LayerKind::Conv;
          if ((in.op == Opcode::Post) != conv || l.fusedInto != -1)
            return problem(at, ": layer ", in.a, " '", l.name, "' is ",
                           layerKindName(l.kind),
                           l.fusedInto != -1 ? " (fused)" : "");
          const Buffer &out = program_.buffers[l.output];
          if (in.b < 0 || in.b >= in.c || in.c > out.channels)
            return problem(at, ": channels [", in.b, ", ", in.c,
                           ") outside the layer's ", out.channels);
          break;
        }
        case Opcode::Sync:
          if (in.b != 0 && in.b != 1)
            return problem(at,
                           ": kind (b) must be 0 (barrier) or 1 (stage "
                           "boundary), not ",
                           in.b);
          if (in.c != 0)
            return problem(at, ": unused operand c must be 0");
          if (in.a < 0 ||
              (!barriers[core].empty() && in.a <= barriers[core].back()))
            return problem(at, ": barrier ", in.a,
                           " does not rise above the stream's previous one (",
                           barriers[core].empty() ? -1 : barriers[core].back(),
                           "): the cores could deadlock");
          barriers[core].push_back(in.a);
          if (isStageBoundary(in))
            boundaries[in.a].insert(core);
          else
            plain.insert(in.a);
          break;
        }
      }
    }
    checkStageBoundary(boundaries, plain);
  }

  /// The stage boundary (Program.h): at most one, in every stream, and
  /// never also used as an ordinary barrier.
  void checkStageBoundary(const std::map<int32_t, std::set<size_t>> &boundaries,
                          const std::set<int32_t> &plain) {
    if (boundaries.size() > 1)
      return problem("streams: ", boundaries.size(),
                     " stage boundaries (barriers ", boundaries.begin()->first,
                     " and ", std::next(boundaries.begin())->first,
                     "); a program has at most one");
    for (const auto &[barrier, cores] : boundaries) {
      if (plain.count(barrier))
        return problem("streams: barrier ", barrier,
                       " is a stage boundary in one stream and an ordinary "
                       "barrier in another");
      if (cores.size() != program_.streams.size())
        return problem("streams: the stage boundary (barrier ", barrier,
                       ") is in ", cores.size(), " of ",
                       program_.streams.size(),
                       " streams; every core must take part");
    }
  }

  /// A LoadImage's `b` names itself (0) or a same-core image with the same
  /// bytes; its `c` is 0 or 1 (Program.h).
  bool checkLoadSource(const std::string &at, const Instr &in) {
    if (in.c != 0 && in.c != 1) {
      problem(at, ": keep (c) must be 0 or 1, not ", in.c);
      return false;
    }
    if (in.b == 0)
      return true;
    const int32_t source = loadSource(in);
    if (in.b < 0 || size_t(source) >= program_.images.size()) {
      problem(at, ": source image ", int64_t(in.b) - 1, " out of range (",
              program_.images.size(), " images)");
      return false;
    }
    const WeightImage &w = program_.images[in.a];
    const WeightImage &src = program_.images[source];
    if (source == in.a || src.core != w.core || !sameImageBytes(src, w)) {
      problem(at, " of image ", in.a, ": its source image ", source,
              source == in.a ? " is itself (write b = 0)"
              : src.core != w.core
                  ? " belongs to core " + std::to_string(src.core)
                  : " stores different bytes");
      return false;
    }
    return true;
  }

  /// The weight SRAM of each core holds its pinned images (read by loads
  /// but never fetched: they come with the program) and every image
  /// fetched and not yet consumed. A FetchImage starts only after the
  /// loads before it have read their bytes (Program.h), so counting in
  /// stream order is exact: at every FetchImage the sum must fit in
  /// chip.weight_sram_kib, an image is not fetched again before a load
  /// consumes it, every load reading a fetched image must find a fetch of
  /// it not yet consumed, and every fetch is consumed by the stream's end.
  void checkWeightSram() {
    const int64_t capacity = int64_t(program_.arch.chip.weightSramKiB) * 1024;
    for (size_t core = 0; core < program_.streams.size(); ++core) {
      const auto &s = program_.streams[core];
      std::set<int32_t> fetchedHere;
      for (const Instr &in : s)
        if (in.op == Opcode::FetchImage)
          fetchedHere.insert(in.a);
      int64_t pinned = 0;
      std::set<int32_t> counted;
      for (size_t k = 0; k < s.size(); ++k) {
        const Instr &in = s[k];
        if (in.op != Opcode::LoadImage || fetchedHere.count(loadSource(in)))
          continue;
        if (loadKeeps(in))
          return problem("streams[", core, "][", k, "] load of image ", in.a,
                         ": keeps the bytes of image ", loadSource(in),
                         ", which is never fetched (it stays in weight SRAM "
                         "anyway): keep (c) must be 0");
        if (counted.insert(loadSource(in)).second)
          pinned += imageBytes(program_.arch, program_.images[loadSource(in)]);
      }
      if (pinned > capacity)
        return problem("streams[", core,
                       "]: the images it loads without fetching stay in "
                       "weight SRAM, ",
                       pinned, " bytes, but chip.weight_sram_kib holds ",
                       capacity);
      std::map<int32_t, int> inFlight; // Image -> fetches not yet loaded.
      int64_t bytes = pinned;
      for (size_t k = 0; k < s.size(); ++k) {
        const Instr &in = s[k];
        if (in.op != Opcode::FetchImage && in.op != Opcode::LoadImage)
          continue;
        const int32_t image =
            in.op == Opcode::LoadImage ? loadSource(in) : in.a;
        const int64_t size = imageBytes(program_.arch, program_.images[image]);
        const std::string at = "streams[" + std::to_string(core) + "][" +
                               std::to_string(k) + "] " + opcodeName(in.op);
        if (in.op == Opcode::FetchImage) {
          if (inFlight[in.a] > 0)
            return problem(at, " of image ", in.a,
                           ": fetched again before a load consumed it (it is "
                           "already in weight SRAM)");
          ++inFlight[in.a];
          bytes += size;
          if (bytes > capacity)
            return problem(at, " of image ", in.a,
                           ": the weight SRAM would hold ", bytes,
                           " bytes (pinned images and fetches not yet "
                           "loaded) but chip.weight_sram_kib holds ",
                           capacity);
        } else if (fetchedHere.count(image)) {
          auto it = inFlight.find(image);
          if (it == inFlight.end() || it->second == 0)
            return problem(
                at, " of image ", in.a,
                image == in.a ? "" : " from image " + std::to_string(image),
                ": no FetchImage of it since its last load "
                "(the image is fetched, so it does not stay in "
                "weight SRAM)");
          if (!loadKeeps(in)) {
            --it->second;
            bytes -= size;
          }
        }
      }
      // The next image starts with only the pinned images in the SRAM.
      for (const auto &[image, fetches] : inFlight)
        if (fetches > 0)
          return problem("streams[", core, "]: image ", image,
                         " is fetched but no load consumes it (a load "
                         "without keep); its room would stay taken into the "
                         "next image");
    }
  }

  const Program &program_;
  std::vector<std::string> problems_;
  std::vector<std::vector<uint8_t>> storedCodes_; ///< See storedCodes().
};

} // namespace

std::vector<std::string> validateProgram(const Program &program) {
  return Checker(program).run();
}

} // namespace mars::program
