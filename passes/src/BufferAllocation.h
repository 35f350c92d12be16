#pragma once
// Ping-pong activation SRAM allocation (used by schedule).
#include "mars/program/Program.h"

#include <cstdint>

namespace mars::passes {

/// Places every buffer in one of the two activation SRAM banks: a buffer's
/// bank alternates with its depth in the network (so a layer reads one bank
/// while writing the other), and its offset is first-fit among the buffers
/// of that bank that are live at the same time. A buffer that does not fit
/// goes off-chip (Memory::Dram). Returns the number of such buffers.
///
/// With a two-stage pipeline whose second stage starts at layer `cut`
/// (Program.h), both stages are live at once in the steady state: a buffer
/// of one stage never shares SRAM with one of the other, and a hand-off
/// buffer (made before the cut, read from it on) holds its offset in both
/// banks, for its second copy, for the whole image.
int64_t allocateBuffers(program::Program &p, int32_t cut = -1);

} // namespace mars::passes
