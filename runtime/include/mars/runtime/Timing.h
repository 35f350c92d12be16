#pragma once
/// \file
/// The timing model: cycles, event counts and where the time goes, for one
/// image of a compiled program. Which CIM groups are stored is fixed at
/// compile time and the data never change a cycle count, so timing is a
/// function of the program alone and is computed once per program, apart
/// from the functional executor (STYLE.md: Timeloop keeps the evaluated model
/// separate from the spec).
///
/// The model (every cost below is a named function further down):
///
///  - Each core issues its stream in order; an instruction starts no earlier
///    than the one before it started, and when its resources are free. Issue
///    itself is free and does not wait for completion, so macros of a core
///    run in parallel. Resources: each macro (busy until), each core's
///    activation-SRAM port (`sram_bytes_per_cycle`), the core's digital
///    pipeline, and one DRAM channel shared by the whole chip
///    (`dram_bytes_per_cycle`). Cores are advanced in time order (always the
///    core with the earliest next issue), so the DRAM channel is granted
///    first come, first served. A DRAM transfer holds the channel for its
///    bytes alone (requests pipeline) and its data has arrived
///    `dram_latency_cycles` after that.
///  - Before the first instruction the input image is copied from DRAM into
///    its buffer; after the last one the output is copied back (both are
///    off-chip traffic, charged as "memory" time).
///  - FetchImage: the image's bytes (Σ over partitions of stored groups ×
///    wl_on rows × cols/partitions bits, / 8) cross the DRAM channel into the
///    core's weight SRAM. A DMA: the core queues it and goes on issuing at
///    once, and only a later LoadImage of the same image waits for it. The
///    transfer starts when every LoadImage the core issued before it has
///    finished (their bytes have left the weight SRAM, so this one may take
///    their room; the validator checks that the room is there) and the
///    channel is free. Queued fetches get the channel in the order they
///    become ready, whichever core issued them; fetches ready at the same
///    cycle take turns by core (a round-robin arbiter), so that no core's
///    queue holds the channel while the others' first images wait.
///  - LoadImage: the macro is rewritten row by row from weight SRAM, all
///    partitions of a row at once (write-masked), so rows = max over
///    partitions of stored groups × wl_on, cycles = rows × row_write_cycles.
///    It waits for the macro's earlier work and for the image's fetch; the
///    macro cannot compute while being written.
///  - Compute (image, pixels [b, c)): per output pixel and input bit-slice
///    (slices = ceil(input bits / input_bits_per_cycle) of the layer's
///    inputs[0]), partition p performs n_p activations (its stored groups),
///    each partition at most once per cycle and at most k = floor(bl_on /
///    (cols/partitions)) partitions per cycle (the bit-line limit):
///        cycles per (pixel, slice) = max(max_p n_p, ceil(Σ n_p / k))
///                                    × activation_cycles.
///    (When one partition is wider than bl_on, k = 0: each activation is
///    sensed in ceil((cols/partitions) / bl_on) steps, one partition at a
///    time.) The inputs are read from the activation SRAM, pixels × (distinct
///    row groups of the image) × wl_on × ceil(bits/8) bytes, over the core's
///    port (or the DRAM channel for a buffer in DRAM), overlapped with compute
///    (ping-pong): the Compute ends when both are done; the excess of the
///    transfer over the compute is "memory" time. A Compute also waits until
///    this core has written its input buffer (a read-after-write scoreboard
///    per buffer).
///  - Post (layer, channels [b, c)): once this core's Computes of the layer
///    are done, the digital pipeline (digital_pipeline_cycles) then the
///    output channel range written over the SRAM port: channels × pixels ×
///    ceil(bits/8) of the layer's output, or of the last layer fused into it
///    (fused layers cost no extra SRAM round trip, which is the point of
///    fusion; a fused Add still reads its residual operand).
///  - Digital (layer, channels [b, c)): reads its inputs' matching ranges and
///    writes its output range over the SRAM port, plus the pipeline latency.
///  - Sync (barrier): every core that has the barrier waits until the last
///    one arrives with all its work that another core may depend on
///    (Computes, which read activation buffers, and Post/Digital, which
///    write them) finished. Weight fetches and macro loads touch only the
///    core's own weight SRAM and macros, so barriers do not wait for them
///    (its later Computes do, through the macro);
///    the wait is "stall".
///
/// Where the time goes: every interval of a core is tagged compute, digital,
/// reload (LoadImage, a LoadImage waiting for its fetch, FetchImage DMAs),
/// memory (transfer time beyond compute, image input/output), or stall; each
/// cycle of each core counts once, under the first of that order that covers
/// it (so a reload hidden under another macro's compute is not counted), and
/// uncovered cycles are idle. The breakdown is in core-cycles: its parts sum
/// to cores × cycles.

#include "mars/arch/ArchSpec.h"
#include "mars/program/ImageCosts.h"
#include "mars/program/Program.h"
#include "mars/support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mars::runtime {

/// Event counts that the energy model prices.
struct TimingCounters {
  int64_t activations = 0; ///< Partition activations (wl_on rows, one slice).
  int64_t adcConversions = 0; ///< Column conversions.
  int64_t accumulates = 0;    ///< Digital shift-and-adds of column counts.
  int64_t shiftAddBits =
      0; ///< Σ over those adds of their width (ArchSpec::shiftAddBits).
  int64_t digitalOps = 0; ///< Post/Digital element operations.
  int64_t rowWrites = 0;  ///< Macro rows written by LoadImage.
  int64_t sramBytes = 0;  ///< Activation SRAM bytes read and written.
  int64_t weightSramBytes =
      0;                 ///< Weight SRAM bytes written (fetch) and read (load).
  int64_t dramBytes = 0; ///< Off-chip bytes.
  int64_t executedMacs = 0; ///< Full-precision MACs of the stored groups.

  TimingCounters &operator+=(const TimingCounters &o);
};

/// Core-cycles by cause (see the file comment); the parts sum to cores ×
/// the span they describe.
struct TimeBreakdown {
  int64_t compute = 0, digital = 0, reload = 0, memory = 0, stall = 0, idle = 0;
  int64_t total() const {
    return compute + digital + reload + memory + stall + idle;
  }
};

/// One program layer's share of the image.
struct LayerTiming {
  int32_t layer = -1;
  std::string name;
  bool hasInstructions =
      false; ///< False for fused layers (timed in their Post).
  /// From first issue to last completion, weight fetches left out (they
  /// run ahead under earlier layers; their bytes count in `counters`).
  int64_t start = 0, end = 0;
  int64_t cycles() const { return end - start; }
  TimingCounters counters;
  int64_t macroComputeCycles = 0; ///< Σ over macros of cycles spent computing.
  double macroUtilisation = 0;    ///< macroComputeCycles / (macros × cycles).
  TimeBreakdown breakdown;
};

/// Lanes of a core in the trace besides its macros (0..macros_per_core-1).
enum class Lane : int32_t { Macro = 0, Dma = 1, Digital = 2, Sync = 3, Io = 4 };

/// One timed instruction (or the image input/output transfer).
struct TimedEvent {
  int32_t core = 0;   ///< -1 for the chip-level input/output transfers.
  int32_t instr = -1; ///< Index in the core's stream; -1 for input/output.
  program::Opcode op = program::Opcode::Sync;
  Lane lane = Lane::Macro;
  int32_t macro = -1; ///< For Lane::Macro.
  int32_t layer = -1;
  int64_t issue = 0; ///< When the core reached it.
  int64_t start = 0, end = 0;
  std::string name; ///< "conv2 compute px[0,64)".
  TimingCounters counters;
};

/// The timing of one image.
struct TimingResult {
  int64_t cycles = 0;
  double clockMhz = 0;
  double latencyUs = 0;
  double fps = 0;
  int64_t inputCycles = 0, outputCycles = 0; ///< Off-chip image transfers.
  TimingCounters totals;     ///< Everything, including the image transfers.
  TimingCounters ioCounters; ///< The image transfers alone.
  TimeBreakdown breakdown;   ///< Over [0, cycles), all cores.
  std::vector<LayerTiming> layers;      ///< One per program layer, in order.
  std::vector<int64_t> coreBusyCycles;  ///< Cycles with work in flight.
  std::vector<int64_t> coreStallCycles; ///< Cycles waiting at barriers.
  int64_t macroComputeCycles = 0;
  double macroUtilisation = 0; ///< Over the whole image and all macros.
  bool steadyState = false;
  /// 2 for a pipelined program (it has a stage boundary, Program.h), else
  /// 1. In the steady state `cycles` is then the period (one image per
  /// period leaves the chip) and `latencyUs` spans the image's two periods.
  int32_t stages = 1;
  std::vector<TimedEvent> events; ///< Every instruction, then input, output.
};

struct TimingOptions {
  /// Time a steady-state image: the macros start with what they hold after
  /// an image, and a LoadImage whose partitions already hold its image is
  /// skipped (free). Resident-mode programs then pay no weight loads. A
  /// pipelined program's cores pass the stage boundary without waiting
  /// (they run the two stages for consecutive images). Off: every
  /// LoadImage is paid and the boundary is a barrier, as for the first
  /// image after power-up.
  bool steadyState = false;
};

/// Times one image of `program`. Errors name the core and instruction whose
/// operands are inconsistent with the program (untrusted input, never a
/// crash) or a barrier that can never be released.
Expected<TimingResult> simulateTiming(const program::Program &program,
                                      const TimingOptions &options = {});

// ---- The named costs of the model (see the file comment). ----

/// Counts one Compute's macro events into `counters`: `groups` stored CIM
/// groups of a partition, each activated once per pixel and input slice, each
/// activation converting channelsPerGroup × weightBits columns, each
/// conversion shifted and added into an ArchSpec::shiftAddBits-wide partial
/// sum. The simulator and the macro peak figures (MacroPeak.h) both count
/// with it.
void countActivations(const arch::ArchSpec &arch, int64_t groups,
                      int64_t pixels, int inputBits, bool inputSigned,
                      int channelsPerGroup, int weightBits,
                      TimingCounters &counters);

/// Cycles of one (pixel, slice) on a macro whose partitions store the
/// `storedGroups` counts, at the bit-line limit (program::pixelSliceCycles).
int64_t pixelSliceCycles(const arch::ArchSpec &arch,
                         const std::vector<int64_t> &storedGroups);
// Bytes of an image in weight SRAM and macro rows a LoadImage writes: the
// compiler's schedule prices images the same way.
using program::imageBytes;
using program::imageRows;
/// Distinct (matrix, row group) pairs stored over the image's partitions:
/// the input rows that must be fetched per pixel.
int64_t distinctRowGroups(const program::WeightImage &image);
/// Cycles to move `bytes` at `bytesPerCycle`.
int64_t transferCycles(int64_t bytes, int64_t bytesPerCycle);

} // namespace mars::runtime
