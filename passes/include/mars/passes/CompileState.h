#pragma once
/// \file
/// What the passes of `marsc compile` read and write. The pipeline moves a
/// model through three representations, each pass working on one of them:
///  1. `graph`: the ONNX-level Graph IR (float or QDQ);
///  2. `net`: the integer network of lib/quant (after lower-to-integer);
///  3. `program`: the chip program of lib/program (after lower-to-program),
///     filled in by the later passes, and `bytes`, its file image (emit).

#include "mars/arch/ArchSpec.h"
#include "mars/ir/Graph.h"
#include "mars/program/Program.h"
#include "mars/quant/IntegerNet.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mars::passes {

/// How post-training quantization picks an activation range.
enum class CalibMethod {
  MinMax,     ///< The largest |value| seen.
  Percentile, ///< The `percentile`-th percentile of |value|.
};

/// User options of `marsc compile` that passes read.
/// What map-to-macros and schedule choose their mapping and weight
/// streaming for (--schedule-for).
enum class ScheduleGoal {
  Cycles,  ///< The fewest cycles per image by the schedule's clock.
  Traffic, ///< The fewest off-chip weight bytes per image, then cycles.
};

/// Whether schedule may run the model as a two-stage pipeline over the
/// cores (--image-stages; TwoStage.h). A pipeline doubles one image's latency.
enum class Stages {
  /// When a run of layers stores more weight than the chip holds (the
  /// capacity bound is above the plain one) and it cuts the cycles per
  /// image by 5% or more.
  Auto,
  One, ///< One image at a time: the lowest latency.
  Two, ///< Whenever the model can be cut (with the fewest cycles of a few).
};

struct CompileOptions {
  // Post-training quantization (float models only).
  int weightBits = 4;     ///< --wbits: weights of inner layers.
  int activationBits = 4; ///< --abits: activations between inner layers.
  int edgeBits = 8; ///< First layer's input and weights, last layer's weights.
  CalibMethod calibMethod = CalibMethod::MinMax;
  double percentile = 99.99;
  /// --prune S: fraction of each layer's CIM groups zeroed by magnitude
  /// (one shot, before quantization). 0 keeps every group.
  double prune = 0.0;
  bool powerOfTwoScales = false;
  /// Map-to-macros may duplicate weights into idle macros.
  bool duplicate = true;
  /// --schedule-for: what the mapping and streaming choices minimise.
  ScheduleGoal scheduleFor = ScheduleGoal::Cycles;
  Stages stages = Stages::Auto; ///< --image-stages.
};

/// Calibration images for post-training quantization: `count` images of
/// `shape` (C, H, W) floats, stored back to back.
struct CalibrationData {
  std::string source; ///< For messages ("fashion-mnist", "x.npy").
  std::vector<int64_t> shape;
  int64_t count = 0;
  std::vector<float> pixels;
};

/// Everything constant during one compilation.
struct CompileContext {
  arch::ArchSpec arch;
  CompileOptions options;
  std::optional<CalibrationData> calibration;
  std::string modelPath; ///< For error messages.
};

/// One counter of a pass ("folded BatchNormalization nodes" = 13).
struct Statistic {
  std::string pass;
  std::string name;
  int64_t value = 0;
};

/// The work of one layer's Conv on the chip, as planned by map-to-macros and
/// turned into instructions by schedule: weight images loaded in rounds,
/// each round computing a range of output pixels per image.
struct ComputeTask {
  int32_t image = -1;
  int32_t pixelBegin = 0, pixelEnd = 0;
};
struct Round {
  std::vector<int32_t> loads;     ///< Images written into macros first.
  std::vector<ComputeTask> tasks; ///< Then computed.
};
struct LayerPlan {
  int32_t layer = -1;
  std::vector<Round> rounds;
  bool resident = false; ///< Weights stay in the macros across images.
  int32_t replicas =
      1; ///< Copies of the weights, each computing a pixel range.
};

/// Mapping quality of one layer, filled by schedule (`--report`).
struct LayerCost {
  int32_t layer = -1;
  int64_t scheduledCycles = 0; ///< The schedule's estimate, per image.
  int64_t boundCycles = 0;     ///< max(compute, weight loading) bound.
  int64_t activations = 0;     ///< Partition activations per image.
  int64_t loadBits = 0;        ///< Weight bits written into macros per image.
  int32_t macrosUsed = 0;      ///< Distinct macros holding its weights.
  int32_t rounds = 0;          ///< Load rounds (1 when resident).
  int32_t replicas = 1;        ///< Copies of its weights.
  /// Cells holding its non-zero groups ÷ cells of the macros it uses.
  double cellUtilisation = 0;
};

/// Which images a streaming core keeps in its weight SRAM first (schedule).
enum class PinOrder { LastRoundsFirst, FirstRoundsFirst };

/// Most final Conv layers schedule leaves to be pinned after all others.
inline constexpr int kMaxUnpinnedTail = 3;

/// How schedule streams weights: the share of a streaming core's weight
/// SRAM kept for fetches, the pin order, and the cycles per image that gives.
struct StreamingChoice {
  int percent = 0;
  PinOrder order = PinOrder::LastRoundsFirst;
  int64_t cycles = -1;
  /// With LastRoundsFirst: how many of the final Conv layers are offered
  /// room only after all other layers (0..kMaxUnpinnedTail).
  int unpinnedTail = 0;
  int64_t dramBytes = 0; ///< Off-chip weight bytes per image.
};

/// Whether `a` serves `goal` better than `b` (ties: not better, so the
/// first candidate tried wins).
inline bool servesBetter(const StreamingChoice &a, const StreamingChoice &b,
                         ScheduleGoal goal) {
  if (goal == ScheduleGoal::Traffic && a.dramBytes != b.dramBytes)
    return a.dramBytes < b.dramBytes;
  return a.cycles < b.cycles;
}

/// A lower bound on the cycles per image that also counts the weight SRAM's
/// size (passes/src/ScheduleBound.h, capacityBound): the Conv layers
/// [firstLayer, lastLayer] store more weight bytes than the chip holds, so
/// the excess must cross the DRAM channel while they run. `cycles` is the
/// plain bound when no window of layers is held up that way (firstLayer
/// -1).
struct CapacityBound {
  int64_t cycles = 0;
  int32_t firstLayer = -1; ///< Program layer indices of the window.
  int32_t lastLayer = -1;
  int64_t weightBytes = 0;   ///< Stored weight bytes of the window's layers.
  int64_t onChipBytes = 0;   ///< Weight SRAMs plus the macros' cells.
  int64_t computeCycles = 0; ///< The window's compute (its layers' bounds).
};

/// The state the passes transform.
struct CompileState {
  ir::Graph graph;
  std::optional<quant::IntegerNet> net;
  /// Per integer layer: the Conv layer whose digital pipeline also runs it,
  /// or -1 (set by fuse).
  std::vector<int32_t> fusedInto;
  std::optional<program::Program> program;
  std::vector<LayerPlan> plans; ///< Set by map-to-macros.
  /// Set by map-to-macros when it tried mappings on the schedule's clock:
  /// the streaming choice of the one it kept, which schedule then reuses.
  std::optional<StreamingChoice> streaming;
  std::vector<LayerCost> costs; ///< Set by schedule, one per scheduled layer.
  /// Set by schedule: weight bytes fetched from DRAM per image.
  int64_t offChipWeightBytes = 0;
  /// Set by schedule: what the mapping and streaming were chosen for.
  ScheduleGoal scheduledFor = ScheduleGoal::Cycles;
  /// Set by schedule: the bound that counts the weight SRAM's size.
  CapacityBound capacityBound;
  /// Set by schedule when it chose a two-stage pipeline (Program.h's stage
  /// boundary): the second stage's first layer, and how many cores (from
  /// core 0) run the first stage; -1 and 0 otherwise.
  int32_t pipelineCut = -1;
  int pipelineFirstCores = 0;
  /// Set while compiling one stage of such a pipeline (TwoStage.h), so that
  /// schedule does not try to split it again.
  bool pipelineStage = false;
  std::vector<uint8_t> bytes; ///< Set by emit.
  std::vector<Statistic> stats;

  /// Adds `value` to the statistic `name` of `pass`.
  void count(const std::string &pass, const std::string &name, int64_t value);
};

} // namespace mars::passes
