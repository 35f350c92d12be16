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
int64_t allocateBuffers(program::Program &p);

} // namespace mars::passes
