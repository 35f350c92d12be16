/// checkCrossCoreOrder: the barriers must order every access one core makes
/// to data that another core also touches, because the cores run
/// independently between barriers (the timing model overlaps them; the
/// functional model runs them one after another). It walks the streams in
/// the functional model's barrier phases with a vector clock per core:
/// access x on core i happens before access y on core j when a chain of
/// barriers leads from x's segment of stream i to y's segment of stream j.
///
/// Data are bytes: of an activation SRAM bank (so buffers that share SRAM
/// conflict where their bytes meet), of a buffer off-chip, or of a Conv
/// layer's accumulators. Two accesses conflict when they are on different
/// cores, one writes, and their bytes overlap; an instruction touches the
/// channels of its range where the layer keeps channels apart (Post, and
/// pooling and Add), the whole buffer otherwise. Same-core accesses are the
/// core's own order and are not checked.
#include "ValidateOrder.h"

#include "mars/program/BarrierPhases.h"
#include "mars/support/Error.h"

#include <algorithm>

namespace mars::program::detail {

namespace {

/// What an instruction does to bytes. Computes add into accumulators, so
/// two of them on different cores commute; anything else that writes
/// conflicts with every other access.
enum class Kind : uint8_t { Read, Write, Accumulate };

/// Bytes [lo, hi) of an address space that one instruction reads or
/// writes, for one buffer (or one layer's accumulators).
struct Span {
  size_t space;
  int64_t lo, hi;
  size_t data; ///< Buffer id, or buffers + layer for accumulators.
  Kind kind;
};

bool conflict(const Span &x, const Span &y) {
  const bool commute = x.kind == y.kind && x.kind != Kind::Write;
  return !commute && x.lo < y.hi && y.lo < x.hi;
}

/// What one core did to one address space in one segment.
struct Access {
  int32_t segment;
  Span span;
  size_t instr; ///< Its index in the core's stream.
};

class OrderChecker {
public:
  OrderChecker(const Program &p, std::vector<std::string> &problems)
      : p_(p), problems_(problems), cores_(p.streams.size()),
        accesses_(2 + p.buffers.size() + p.layers.size(),
                  std::vector<std::vector<Access>>(cores_)),
        stageMask_(p.buffers.size() + p.layers.size(), 0) {}

  void run() {
    for (const std::vector<Instr> &s : p_.streams)
      for (const Instr &in : s)
        if (isStageBoundary(in)) {
          pipelined_ = true;
          boundary_ = in.a;
        }
    clock_.assign(cores_, std::vector<int32_t>(cores_, 0));
    afterBoundary_.assign(cores_, false);
    const PhaseWalk walk = walkBarrierPhases(
        p_.streams, [&](size_t core, size_t pc) { return visit(core, pc); },
        [&](int32_t barrier, const std::vector<size_t> &at) {
          pass(barrier, at);
        });
    // Each stream's barriers rise (checkStreams), so the walk cannot
    // deadlock; a problem already stopped it otherwise.
    if (walk.end == PhaseWalk::Deadlock)
      return problem("streams: the cores deadlock at barriers");
    if (walk.end == PhaseWalk::Done && pipelined_)
      checkStages();
  }

private:
  template <typename... Parts> void problem(const Parts &...parts) {
    problems_.push_back(makeError(parts...).message());
  }

  static const char *verb(Kind k) {
    return k == Kind::Read    ? " reads "
           : k == Kind::Write ? " writes "
                              : " adds into ";
  }

  std::string dataName(size_t d) const {
    if (d < p_.buffers.size())
      return "buffer '" + p_.buffers[d].name + "'";
    return "layer '" + p_.layers[d - p_.buffers.size()].name +
           "''s accumulators";
  }

  /// Channels [b, e) of buffer `id` (all of them when e <= b): its bytes
  /// in SRAM bank 0 or 1 (spaces 0 and 1), or in a space of its own.
  Span bufferSpan(int32_t id, int32_t b, int32_t e, Kind kind) const {
    const Buffer &buf = p_.buffers[size_t(id)];
    const int64_t plane = buf.bytes() / buf.channels;
    if (e <= b)
      b = 0, e = buf.channels;
    const bool sram = buf.memory == Memory::Sram;
    const int64_t base = sram ? buf.offset : 0;
    return {sram ? size_t(buf.bank) : 2 + size_t(id), base + b * plane,
            base + e * plane, size_t(id), kind};
  }

  /// The instruction's reads and writes (Program.h's semantics).
  std::vector<Span> spansOf(const Instr &in) const {
    std::vector<Span> spans;
    const size_t accumulators = p_.buffers.size();
    auto accumulatorSpan = [&](int32_t layer, Kind kind) {
      return Span{2 + accumulators + size_t(layer), 0, 1,
                  accumulators + size_t(layer), kind};
    };
    switch (in.op) {
    case Opcode::Compute: {
      const int32_t l = p_.images[in.a].layer;
      spans.push_back(bufferSpan(p_.layers[l].inputs[0], 0, 0, Kind::Read));
      spans.push_back(accumulatorSpan(l, Kind::Accumulate));
      break;
    }
    case Opcode::Post: {
      // The fused layers (pooling, Add) run on the same channels and read
      // their producer's output within the instruction: only their other
      // inputs are reads here.
      spans.push_back(accumulatorSpan(in.a, Kind::Read));
      std::vector<int32_t> written = {p_.layers[in.a].output};
      for (size_t f = 0; f < p_.layers.size(); ++f)
        if (p_.layers[f].fusedInto == in.a) {
          for (int32_t b : p_.layers[f].inputs)
            if (std::find(written.begin(), written.end(), b) == written.end())
              spans.push_back(bufferSpan(b, in.b, in.c, Kind::Read));
          written.push_back(p_.layers[f].output);
        }
      for (int32_t b : written)
        spans.push_back(bufferSpan(b, in.b, in.c, Kind::Write));
      break;
    }
    case Opcode::Digital: {
      const Layer &l = p_.layers[in.a];
      const bool perChannel = l.kind == LayerKind::MaxPool ||
                              l.kind == LayerKind::AvgPool ||
                              l.kind == LayerKind::Add;
      for (int32_t b : l.inputs)
        spans.push_back(perChannel ? bufferSpan(b, in.b, in.c, Kind::Read)
                                   : bufferSpan(b, 0, 0, Kind::Read));
      spans.push_back(bufferSpan(l.output, in.b, in.c, Kind::Write));
      break;
    }
    default: break;
    }
    return spans;
  }

  /// Checks one instruction's accesses against the other cores' and
  /// records them. False after a problem.
  bool visit(size_t core, size_t index) {
    const bool afterBoundary = afterBoundary_[core];
    const Instr &in = p_.streams[core][index];
    const std::vector<Span> spans = spansOf(in);
    const std::vector<int32_t> &now = clock_[core];
    for (const Span &x : spans)
      for (size_t other = 0; other < cores_; ++other) {
        if (other == core)
          continue;
        const std::vector<Access> &seen = accesses_[x.space][other];
        // Latest first; what `core` knows `other` did is ordered.
        for (auto it = seen.rbegin();
             it != seen.rend() && it->segment >= now[other]; ++it) {
          const Span &y = it->span;
          if (conflict(x, y)) {
            problem("streams[", core, "][", index, "] ", opcodeName(in.op),
                    verb(x.kind), dataName(x.data), ", but core ", other,
                    verb(y.kind),
                    y.data == x.data
                        ? std::string("it")
                        : dataName(y.data) + " (the same activation SRAM)",
                    " at streams[", other, "][", it->instr,
                    "] with no barrier between them");
            return false;
          }
        }
      }
    for (const Span &x : spans) {
      record(core, index, x);
      if (x.data < stageMask_.size())
        stageMask_[x.data] |=
            afterBoundary ? (x.kind == Kind::Read ? 2 : 6) : 1;
    }
    return true;
  }

  /// Adds `x` to the core's accesses in its space, merged with the last
  /// one when it is of the same data, kind and segment.
  void record(size_t core, size_t index, const Span &x) {
    std::vector<Access> &list = accesses_[x.space][core];
    const int32_t segment = clock_[core][core];
    if (!list.empty()) {
      Access &last = list.back();
      if (last.segment == segment && last.span.data == x.data &&
          last.span.kind == x.kind) {
        last.span.lo = std::min(last.span.lo, x.lo);
        last.span.hi = std::max(last.span.hi, x.hi);
        return;
      }
    }
    list.push_back({segment, x, index});
  }

  /// The cores `at` pass `barrier`: each closes its segment, and all of
  /// them then know what any of them knew.
  void pass(int32_t barrier, const std::vector<size_t> &at) {
    std::vector<int32_t> merged(cores_, 0);
    for (size_t c : at) {
      ++clock_[c][c];
      for (size_t q = 0; q < cores_; ++q)
        merged[q] = std::max(merged[q], clock_[c][q]);
    }
    for (size_t c : at) {
      clock_[c] = merged;
      afterBoundary_[c] = afterBoundary_[c] || boundary_ == barrier;
    }
  }

  /// Whether buffers x and y share activation SRAM.
  bool shareSram(size_t x, size_t y) const {
    const Buffer &a = p_.buffers[x], &b = p_.buffers[y];
    return a.memory == Memory::Sram && b.memory == Memory::Sram &&
           a.bank == b.bank && a.offset < b.offset + b.bytes() &&
           b.offset < a.offset + a.bytes();
  }

  /// In the steady state both stages run at once, on consecutive images
  /// (Program.h): no data may belong to both, and no buffer of one stage
  /// may share activation SRAM with a buffer of the other. The exception
  /// is a hand-off buffer: written before the boundary, only read after
  /// it, and held for two images, the second copy at the same offset in
  /// the other bank, where no other buffer may be.
  void checkStages() {
    // The image arrives for the first stage; the result leaves the second.
    if (p_.input >= 0)
      stageMask_[size_t(p_.input)] |= 1;
    if (p_.output >= 0)
      stageMask_[size_t(p_.output)] |= 2;
    for (size_t x = 0; x < stageMask_.size(); ++x) {
      const bool both = (stageMask_[x] & 3) == 3;
      if (both && (x >= p_.buffers.size() || (stageMask_[x] & 4)))
        return problem(dataName(x),
                       " is used on both sides of the stage boundary and "
                       "written after it: the two stages would use it at once "
                       "for different images");
    }
    for (size_t x = 0; x < p_.buffers.size(); ++x) {
      const Buffer &b = p_.buffers[x];
      for (size_t y = 0; y < p_.buffers.size(); ++y)
        if (y != x && (stageMask_[x] & 1) && (stageMask_[y] & 2) &&
            shareSram(x, y))
          return problem("buffer '", b.name,
                         "' (before the stage boundary) "
                         "and buffer '",
                         p_.buffers[y].name,
                         "' (after it) share activation SRAM, but the two "
                         "stages run at once in the steady state");
      if ((stageMask_[x] & 3) != 3 || b.memory != Memory::Sram)
        continue;
      Buffer twin = b;
      twin.bank = 1 - b.bank;
      for (size_t y = 0; y < p_.buffers.size(); ++y) {
        const Buffer &o = p_.buffers[y];
        if (o.memory == Memory::Sram && o.bank == twin.bank &&
            o.offset < twin.offset + twin.bytes() &&
            twin.offset < o.offset + o.bytes())
          return problem("buffer '", o.name,
                         "' overlaps the second copy of the hand-off buffer '",
                         b.name, "' (bank ", twin.bank, ", offset ",
                         twin.offset, ")");
      }
    }
  }

  const Program &p_;
  std::vector<std::string> &problems_;
  size_t cores_;
  /// Per address space (SRAM banks 0 and 1, each buffer off-chip, each
  /// layer's accumulators), per core: its accesses in run order.
  std::vector<std::vector<std::vector<Access>>> accesses_;
  /// Per buffer, then per layer's accumulators: bit 0 used before the
  /// stage boundary, bit 1 after it, bit 2 written after it.
  std::vector<uint8_t> stageMask_;
  /// Per core: for every core q, how many of q's segments happen before
  /// the core's current one (its own entry: its current segment).
  std::vector<std::vector<int32_t>> clock_;
  bool pipelined_ = false;
  int32_t boundary_ = -1;           ///< The stage boundary's barrier id.
  std::vector<bool> afterBoundary_; ///< Per core: past the boundary.
};

} // namespace

void checkCrossCoreOrder(const Program &p, std::vector<std::string> &problems) {
  OrderChecker(p, problems).run();
}

} // namespace mars::program::detail
