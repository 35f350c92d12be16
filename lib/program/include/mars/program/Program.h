#pragma once
/// \file
/// `Program`: the in-memory form of `program.bin` (DESIGN.md §4). The
/// compiler (passes/) fills it, `writeProgram` serialises it, `readProgram`
/// parses and validates it, and the runtime executes it.
///
/// A program holds, for one image:
///  - `buffers`: activation tensors in the ping-pong activation SRAM;
///  - `layers`: integer layers with every quantization parameter (the integer
///    contract of DESIGN.md §3, as in lib/quant's IntegerNet);
///  - `matrices`: each Conv layer's unrolled weight matrix, compressed into
///    its non-zero CIM groups;
///  - `images`: per-macro weight images — which groups each partition of a
///    macro holds, as an index code over the column group's row groups;
///  - `streams`: one instruction stream per core.
///
/// Semantics of the instructions (the functional executor in runtime/ is the
/// executable specification):
///  - `LoadImage a=image b=source c=keep`: write image `a` into its macro
///    (core `core`, macro `images[a].macro`) from the core's weight SRAM.
///    Only the image's non-empty partitions are written (write-masked
///    rows); the macro's other partitions keep what they hold, so one macro
///    may hold several images (of different layers) in disjoint partitions
///    at once. `b` = 0 reads image `a`'s own bytes; `b` = s + 1 reads image
///    s's, which must be on the same core and store the same bytes
///    (`sameImageBytes`: a replica of the layer's weights placed in other
///    partitions or another macro), so replicas share one copy in the
///    weight SRAM and one fetch. `c` = 1 keeps the bytes read in the weight
///    SRAM for a later load (of a fetched image; see FetchImage), 0 does
///    not.
///  - `FetchImage a=image`: copy image `a`'s bytes from off-chip memory into
///    the core's weight SRAM (only when the weights do not all stay there).
///    The copy starts after every LoadImage before it in the stream has
///    read its image out of the weight SRAM. Room in the weight SRAM
///    (`chip.weight_sram_kib` per core): images a stream's loads read but
///    it never fetches stay there for good; a fetched image holds its room
///    from its FetchImage to the LoadImage that consumes it: the next load
///    reading it without keep (loads with keep read it and leave it). An
///    image is not fetched again before that load. The validator checks in
///    stream order that the room never runs out.
///  - `Compute a=image b=pixelBegin c=pixelEnd`: for every output pixel p in
///    [b, c) of the image's layer, every input bit-slice, and every partition
///    of the image, activate each stored group (wl_on rows driven by the
///    matching im2col inputs, one bit-slice) and add the shift-and-added
///    column counts into the layer's int32 accumulators of (p, channel). Each
///    non-empty partition of the image must currently hold this image (its
///    last LoadImage covering that partition was of this image).
///  - `Post a=layer b=channelBegin c=channelEnd`: for the Conv layer `a` and
///    its output channels [b, c): bias add, requantization, clamp, write to
///    the output buffer; then run every layer fused into `a` (`fusedInto ==
///    a`, in layer order) on the same channels.
///  - `Digital a=layer b=channelBegin c=channelEnd`: an unfused digital layer
///    (pooling, Add, Concat, Reshape) on output channels [b, c).
///  - `Sync a=barrier b=kind`: wait until every core whose stream has
///    barrier `a` (its participants) has reached it. Each stream's barrier
///    ids rise strictly, so the cores never deadlock: the lowest barrier
///    not yet passed has every participant at it or on its way. `b` = 0 is
///    a barrier; `b` = 1 is the stage boundary of a two-stage pipeline:
///    every core takes part, and it is the only one. For one image it is a
///    barrier like any other (the functional model, and `marsc run`'s
///    first image). In the steady state, images follow one another through
///    the stages: while the cores run the work after the boundary for
///    image n, they run the work before it for image n + 1, so no core
///    waits at the boundary. One run of the streams is one period, and as
///    for any program the next starts when every core has ended its
///    stream. Every image spends one period in each stage; buffers written
///    before the boundary and read after it are the hand-off, held for two
///    images at once (the validator's rule: the second copy at the same
///    offset in the other bank).
///  Accumulators of a Conv layer start at zero before its first Compute.

#include "mars/arch/ArchSpec.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mars::program {

/// File magic (8 bytes, "MARSPRG\0") and the format version this code writes
/// and reads. Version 2: requantization rounds half to even and Add rounds
/// its sum once (its input multipliers share one shift). Version 4: a
/// LoadImage may read a same-core replica's bytes and keep them (`b`, `c`);
/// a version 3 file, whose loads leave both 0, means the same as version 4,
/// so it is still read. Version 5: barriers among some of the cores, and
/// the pipeline's stage boundary (Sync's `b`); every version 3 and 4
/// program, whose cores all meet the same rising barriers, means the same.
inline constexpr char kMagic[8] = {'M', 'A', 'R', 'S', 'P', 'R', 'G', '\0'};
inline constexpr uint32_t kFormatVersion = 5;
inline constexpr uint32_t kOldestReadableVersion = 3;

/// An int32 multiplier and right shift: real ≈ value × 2^-shift (lib/quant's
/// `Multiplier`; value in [1, 2^31), shift in 0..62).
struct Requant {
  int32_t value = 1;
  int32_t shift = 0;
  bool operator==(const Requant &o) const {
    return value == o.value && shift == o.shift;
  }
};

/// Where a buffer lives.
enum class Memory : uint8_t {
  Sram = 0, ///< The activation SRAM bank `bank` at `offset`.
  Dram = 1, ///< Off-chip (did not fit); every access is off-chip traffic.
};

/// An activation tensor of one image, (C, H, W); int32 per element in the
/// simulator, `bits` wide on the chip (accumulators: 32).
struct Buffer {
  std::string name;
  int32_t channels = 0, height = 1, width = 1;
  int32_t bits = 8;
  bool isSigned = false;
  double scale = 1.0;         ///< real = scale × q (not for accumulators).
  bool isAccumulator = false; ///< Raw int32 logits; see Layer::logitScales.
  Memory memory = Memory::Sram;
  int32_t bank = 0;   ///< Ping-pong bank, 0 or 1.
  int64_t offset = 0; ///< Byte offset in the bank.

  int64_t size() const { return int64_t(channels) * height * width; }
  /// Bytes on the chip: ceil(bits/8) per element.
  int64_t bytes() const { return size() * ((bits + 7) / 8); }
};

enum class LayerKind : uint8_t {
  Conv = 0, ///< Conv or fully connected (1×1 on (features, 1, 1)).
  MaxPool = 1,
  AvgPool = 2,
  Add = 3,
  Concat = 4,
  Reshape = 5,
};
const char *layerKindName(LayerKind kind);

/// One integer layer, with the integer semantics of lib/quant's IntLayer.
struct Layer {
  LayerKind kind = LayerKind::Conv;
  std::string name;
  std::vector<int32_t> inputs; ///< Buffer ids.
  int32_t output = -1;         ///< Buffer id.

  int32_t kernelH = 1, kernelW = 1, strideH = 1, strideW = 1;
  int32_t padTop = 0, padLeft = 0, padBottom = 0, padRight = 0;
  int32_t dilationH = 1, dilationW = 1;
  int32_t groups = 1; ///< Conv groups (the matrix is block-diagonal).

  // Conv.
  int32_t matrix = -1;             ///< Index into Program::matrices.
  std::vector<int32_t> bias;       ///< Per output channel.
  std::vector<Requant> requant;    ///< Per output channel; empty for logits.
  std::vector<double> logitScales; ///< Per channel, accumulator outputs only.

  // AvgPool: requant[n - 1] divides a window sum of n elements
  // (s_in / (s_out × n)), for n = 1..kernelH × kernelW.
  bool countIncludePad = false;
  /// Pooling: the output extent follows ONNX ceil_mode (an extra window at
  /// the end when one starts inside the input or its left padding).
  bool ceilMode = false;
  // Add: one multiplier per input (input scale / output scale), all with
  // the same shift: out = round_half_even(Σ q_k × value_k / 2^shift).
  std::vector<Requant> inputRequant;

  /// Output clamp (Conv, AvgPool, Add).
  int64_t clampLo = 0, clampHi = 0;
  /// The Conv layer whose Post also runs this layer (pooling or residual Add
  /// fused into the producer's digital pipeline), or -1.
  int32_t fusedInto = -1;
};

/// One non-zero CIM group: `rowsPerGroup` rows × `channelsPerGroup` columns
/// of a matrix (weights row-major, zero-padded past the matrix edge).
struct Group {
  int32_t rowGroup = 0, colGroup = 0;
  std::vector<int8_t> weights;
};

/// A Conv layer's unrolled weight matrix after group compression. Row
/// r = (ky × kernelW + kx) × inChannels + ic (all input channels: grouped
/// convolutions are block-diagonal, so their off-block groups are zero and
/// not stored); column = output channel. `groups` lists only the non-zero
/// CIM groups, sorted by (colGroup, rowGroup).
struct WeightMatrix {
  int32_t layer = -1;
  int32_t rows = 0, cols = 0;
  int32_t weightBits = 4;
  int32_t rowsPerGroup = 16;    ///< wl_on.
  int32_t channelsPerGroup = 8; ///< Output channels of one partition.
  int32_t rowGroups = 0, colGroups = 0;
  std::vector<Group> groups;
};

/// The contents of one partition of a macro: groups of one column group of
/// one matrix. The index code is a bitmap over the matrix's row groups; the
/// k-th set bit is the row group stored in the partition's k-th slot (rows
/// k × wl_on .. k × wl_on + wl_on - 1).
struct PartitionImage {
  int32_t matrix = -1; ///< -1: the partition is empty.
  int32_t colGroup = 0;
  std::vector<uint8_t> indexCode; ///< ceil(rowGroups / 8) bytes, LSB first.
};

/// What one macro holds between two loads: one partition image per
/// partition of the macro.
struct WeightImage {
  int32_t core = 0, macro = 0; ///< The macro this image is loaded into.
  int32_t layer = -1;          ///< The Conv layer it serves.
  std::vector<PartitionImage> partitions;
};

enum class Opcode : uint8_t {
  LoadImage = 0,
  FetchImage = 1,
  Compute = 2,
  Post = 3,
  Digital = 4,
  Sync = 5,
};
const char *opcodeName(Opcode op);

/// One instruction; operand meaning depends on the opcode (see the file
/// comment).
struct Instr {
  Opcode op = Opcode::Sync;
  int32_t a = 0, b = 0, c = 0;
  bool operator==(const Instr &o) const {
    return op == o.op && a == o.a && b == o.b && c == o.c;
  }
};

/// Facts the compiler records for reports (not needed to execute).
struct CompileInfo {
  std::string model;           ///< Model name.
  std::string options;         ///< The compile options, as text.
  int64_t scheduledCycles = 0; ///< The schedule's estimate per image.
  int64_t boundCycles = 0;     ///< Lower bound (compute vs. weight loading).
  int64_t denseMacs = 0;       ///< MACs of the dense model per image.
  /// The ADC the model was trained for, as the QDQ file records it
  /// (lib/quant kTrainedAdcKey: "exact" or the saturating ADC's
  /// parameters); empty when it does not say (post-training quantization).
  std::string trainedAdc;
};

/// A whole compiled program.
struct Program {
  arch::ArchSpec arch;
  CompileInfo info;
  std::vector<Buffer> buffers;
  std::vector<Layer> layers; ///< In execution order.
  std::vector<WeightMatrix> matrices;
  std::vector<WeightImage> images;
  std::vector<std::vector<Instr>> streams; ///< One per core.

  int32_t input = -1;  ///< Input buffer.
  int32_t output = -1; ///< Output buffer.
  /// Float input normalisation before quantization, per input channel:
  /// v = (x - inputOffset[c]) × inputMultiplier[c], clipped to
  /// [inputClipLo, inputClipHi], then q = clamp(round_half_even(float(v) / float(scale))). Empty
  /// vectors mean v = x (lib/quant's quantizeInput).
  std::vector<float> inputOffset, inputMultiplier;
  double inputClipLo = -1e300, inputClipHi = 1e300;
  bool powerOfTwoScales = false;
};

/// Number of stored row groups in a partition image (set bits of its index
/// code).
int32_t storedGroups(const PartitionImage &p);

/// Whether two images store the same bytes in the weight SRAM: the same
/// contents (matrix, column group, index code) in their non-empty
/// partitions, in order, wherever those partitions sit.
bool sameImageBytes(const WeightImage &x, const WeightImage &y);

/// The image whose weight-SRAM bytes LoadImage `in` reads (its `b`).
inline int32_t loadSource(const Instr &in) {
  return in.b > 0 ? in.b - 1 : in.a;
}

/// Whether LoadImage `in` leaves the bytes it read for a later load (`c`).
inline bool loadKeeps(const Instr &in) { return in.c != 0; }

/// Whether Sync `in` is the pipeline's stage boundary (`b` = 1).
inline bool isStageBoundary(const Instr &in) {
  return in.op == Opcode::Sync && in.b == 1;
}
/// The row groups of a partition image, in slot order.
std::vector<int32_t> slotRowGroups(const PartitionImage &p);

} // namespace mars::program
