#pragma once
// The fast path's packed Conv kernel (runtime/README.md): the same integer
// GEMM over the stored groups as computeFast, on inputs of at most 8 bits
// packed as bytes and int32 accumulators laid out [channel][pixel].
//
// Layout. Output pixels go in SIMD lanes, 16 to a block; the rows of a
// group go four at a time ("quads"): the 4 bytes of a lane are 4 rows of
// one pixel, so one `vpdpbusd` of a quad's 64 bytes with a weight quad
// broadcast to every lane adds 4 products to each of 16 pixels of one
// channel. Each partition runs over its own stored groups only (different
// partitions skip different groups). A block's bytes for quad k of row
// group g are at `block base + quadOffset[g × quadsPerGroup + k]`:
//  - direct (stride-1 rows, input channels and wl_on multiples of 4, output
//    at least 16 wide): the input itself, planar by quads of channels,
//    [y][channel / 4][x][channel % 4] with the padding written out, so a
//    block of 16 output pixels of one row reads 64 contiguous bytes per
//    quad and nothing is copied (no im2col);
//  - otherwise an im2col copy, [block][row group][quad][16 pixels][4];
//  - narrow (AVX-512, at most kNarrowMaxPixels output pixels, channels per
//    group a multiple of 4): blocks of 4 pixels, each pixel's 4 bytes
//    written 4 times, [block][row group][quad][4 pixels][4 copies][4]. A
//    16-pixel block would leave most lanes idle on such a layer (VGG's last
//    2×2 convolutions use a quarter of them); here a lane is (pixel, one
//    of 4 channels), so one `vpdpbusd` of a quad's 64 bytes with the 16
//    weight bytes of 4 channels broadcast to every 128-bit lane adds 4
//    products to each of 4 pixels × 4 channels, every lane used.
//
// Signed inputs. `vpdpbusd` multiplies unsigned bytes by signed bytes, so a
// signed b-bit input x is stored as x + 2^(b−1) (0 for padding stores
// 2^(b−1) too) and 2^(b−1) × Σ w over the partition's stored rows is
// subtracted once per channel.
//
// Exactness. The int32 sums wrap modulo 2^32 in every kernel; the layer uses
// this path only when every accumulator's true value fits int32
// (`packedFits`: the products any one accumulator can receive, over all
// Computes of the layer, bounded by |x|max × |w|max), so the wrapped sum is
// the exact one. Any order of exact integer sums is the same sum, hence
// bit-equal to computeFast and the macro-level model with an exact ADC.
#include "ConvKernels.h"
#include "mars/program/Program.h"

#include <cstdint>
#include <vector>

namespace mars::runtime::detail {

/// Layers of at most this many output pixels use the narrow layout on
/// AVX-512. Per quad and 4 channels it takes ceil(pixels / 4) `vpdpbusd`
/// where a 16-pixel block takes 4 (one per channel): fewer up to 12
/// pixels; at 16 they tie, and narrow measured slower there (vgg16's 4×4
/// layers).
constexpr int64_t kNarrowMaxPixels = 12;

/// Which instruction set runs the packed kernel.
enum class PackedIsa { Scalar, Avx2, AvxVnni, Avx512Vnni };

/// True when this CPU can run `isa`.
bool packedIsaSupported(PackedIsa isa);
/// The best kernel this CPU supports.
PackedIsa bestPackedIsa();

/// One Conv layer's packed geometry, fixed when the executor is created.
struct PackedLayer {
  bool enabled = false;
  bool planar = false; ///< Channels and wl_on multiples of 4: planar input.
  bool direct = false; ///< The kernel reads the planar input in place.
  bool narrow = false; ///< Blocks of 4 pixels × 4 channels (above).
  /// Output pixels per block.
  int32_t blockPixels() const { return narrow ? 4 : 16; }
  /// The AVX2 kernel's `vpmaddubsw` adds two u8 × s8 products into int16:
  /// exact only when 2 × (2^bits − 1) × 2^(wbits−1) ≤ 32767.
  bool pairSumsFitInt16 = false;
  /// AVX2 where the pairs do not fit (8-bit inputs by 8-bit weights): the
  /// kernel multiplies int16 words by `vpmaddwd`, and packInput also
  /// writes its bytes widened to words (PackedInput::words, twice the
  /// byte offsets).
  bool words = false;
  PackedIsa isa = PackedIsa::Scalar;
  int32_t offset = 0;        ///< Added to every stored input byte.
  int32_t quadsPerGroup = 0; ///< ceil(wl_on / 4).
  int32_t rowGroups = 0, rows = 0, rowsPerGroup = 0, channelsPerGroup = 0;
  int32_t inC = 0, inH = 0, inW = 0, outH = 0, outW = 0;
  int32_t kernelH = 0, kernelW = 0, strideH = 0, strideW = 0;
  int32_t dilationH = 0, dilationW = 0, padTop = 0, padLeft = 0;
  int64_t pixels = 0;
  int32_t cols = 0;
  /// Planar input: quads of channels Q, padded height and width.
  int32_t planes = 0, padH = 0, padW = 0;
  int64_t blockBytes = 0;          ///< im2col: bytes of one block.
  std::vector<int32_t> quadOffset; ///< [rowGroup × quadsPerGroup + k], bytes.
  std::vector<int32_t> planarOffset; ///< The same in the planar input.
};

/// Zeroed bytes, 64-byte aligned; from 1 MiB on 2 MiB aligned with
/// transparent huge pages asked for (on the machines this runs on a 4 KiB
/// page fault costs more than filling the page). Copies copy the bytes.
class HugeBytes {
public:
  HugeBytes() = default;
  explicit HugeBytes(size_t bytes);
  HugeBytes(const HugeBytes &o);
  HugeBytes &operator=(const HugeBytes &) = delete;
  HugeBytes(HugeBytes &&o) noexcept : data_(o.data_), size_(o.size_) {
    o.data_ = nullptr;
    o.size_ = 0;
  }
  HugeBytes &operator=(HugeBytes &&o) noexcept;
  ~HugeBytes();
  uint8_t *data() const { return data_; }
  size_t size() const { return size_; }

private:
  uint8_t *data_ = nullptr;
  size_t size_ = 0;
};

/// A partition's stored groups, packed for the kernel. What it points to
/// is one record in PackedWeights' allocation, [correction][row groups],
/// padded to 64 bytes, then the weights; the records lie in the order the
/// program's Computes first use them, so that a run reads its weights as
/// one sequential stream (a network's weights rarely fit the caches, and
/// the hardware prefetcher follows a stream, not 8 KiB pieces in an order
/// of its own).
struct PackedWork {
  int32_t colGroup = 0;
  int32_t groupCount = 0;
  const int32_t *rowGroups = nullptr; ///< groupCount row groups.
  /// Per channel: offset × Σ w over the stored rows.
  const int32_t *correction = nullptr;
  /// [group][quad][channel][4 rows] int8, zero past the group's rows.
  const int8_t *weights = nullptr;
};

/// The layer's geometry; `enabled` stays false when it does not qualify
/// (input wider than 8 bits or an accumulator, or `maxTerms` products of
/// the largest magnitudes might overflow int32).
PackedLayer packedLayerOf(const program::Program &p, const program::Layer &l,
                          int64_t maxTerms, PackedIsa isa);

/// The bytes packWork writes for `work` (a multiple of 64).
size_t packedWeightBytes(const PackedLayer &pl, const PartitionWork &work);
/// Packs one partition's groups (`work` from the executor) into `dst`, 64
/// bytes aligned (packedWeightBytes(pl, work) bytes, zeroed).
PackedWork packWork(const PackedLayer &pl, const program::WeightMatrix &m,
                    const PartitionWork &work, int8_t *dst);

/// Every packed partition of a program, per weight image, with their
/// weights in one allocation: 2 MiB aligned with transparent huge pages
/// asked for, since at 4 KiB a page the faults of first touch cost about as
/// much as packing.
class PackedWeights {
public:
  explicit PackedWeights(size_t images) : work(images) {}
  PackedWeights(const PackedWeights &) = delete;
  PackedWeights &operator=(const PackedWeights &) = delete;
  /// Zeroed bytes owned by this object.
  int8_t *allocate(size_t bytes) {
    bytes_ = HugeBytes(bytes);
    return reinterpret_cast<int8_t *>(bytes_.data());
  }
  std::vector<std::vector<PackedWork>> work; ///< [image][partition]
private:
  HugeBytes bytes_;
};

/// Where a layer's packed input lives (in the executor's HugeBytes).
struct PackedInput {
  uint8_t *planar = nullptr; ///< packedPlanarBytes(pl) bytes.
  uint8_t *cols = nullptr;   ///< packedColsBytes(pl) bytes.
  int16_t *words = nullptr;  ///< packedWordsBytes(pl) bytes.
};
size_t packedPlanarBytes(const PackedLayer &pl);
size_t packedColsBytes(const PackedLayer &pl);
size_t packedWordsBytes(const PackedLayer &pl);
/// Fills the layer's packed input (planar, and the im2col copy when not
/// direct) from its CHW input buffer.
void packInput(const PackedLayer &pl, const program::Layer &l,
               const std::vector<int32_t> &in, const PackedInput &out);

/// acc[channel][pixel] += the sums of an image's partitions over pixels
/// [begin, end).
void computePacked(const PackedLayer &pl, const std::vector<PackedWork> &work,
                   const PackedInput &in, int32_t begin, int32_t end,
                   int32_t *acc);

/// Post for a packed layer: as postConv, from int32 [channel][pixel];
/// vectorised for the layer's instruction set (AVX-512 F on Avx512Vnni,
/// AVX2 on the 256-bit ones), scalar on Scalar and for the tail.
void postConvPacked(const program::Program &p, const program::Layer &l,
                    const int32_t *acc, int32_t begin, int32_t end,
                    PackedIsa isa, std::vector<int32_t> &dst);

} // namespace mars::runtime::detail
