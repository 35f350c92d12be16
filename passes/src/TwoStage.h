#pragma once
// A two-stage pipeline over the cores (Program.h's stage boundary): the
// first half of the cores runs the layers before a cut for image n + 1
// while the other half runs the rest for image n. Where the weights of the
// late layers stream from DRAM, the channel then works through the early,
// compute-heavy layers of the next image instead of idling with the weight
// SRAM full. The schedule pass tries it when weights stream.
#include "mars/passes/CompileState.h"

#include <optional>

namespace mars::passes {

/// A pipelined schedule: a whole program (weight images, streams, buffers
/// allocated for two stages) with its plans and per-layer costs.
struct TwoStageSchedule {
  program::Program program;
  std::vector<LayerPlan> plans;
  std::vector<LayerCost> costs; ///< Without scheduledCycles (the caller's).
  StreamingChoice score;        ///< Its cycles (the period) and DRAM bytes.
  int32_t cut = -1;             ///< The second stage's first layer.
  int firstStageCores = 0;      ///< Cores 0.. run the first stage.
};

/// The best two-stage schedule of `p` for the compile's goal among a few
/// cuts, each stage mapped and scheduled on its half of the cores by
/// map-to-macros and schedule. Cuts whose lower bound on the period is not
/// below `toBeat` cycles (or the best period found) are not tried. nullopt
/// when the chip has one core, the model no place to cut, or no cut was
/// worth trying. `p`'s images and streams are not read.
Expected<std::optional<TwoStageSchedule>>
bestTwoStages(const program::Program &p, int64_t toBeat,
              const CompileContext &context);

} // namespace mars::passes
