#pragma once
// The validator's check that the barriers order every access one core makes
// to data another core also touches (ValidateOrder.cpp).
#include "mars/program/Program.h"

#include <string>
#include <vector>

namespace mars::program::detail {

/// Appends a problem for each pair of accesses on different cores that no
/// chain of barriers orders (a read of data another core writes, or a write
/// over data another core reads or writes, counting buffers that share
/// activation SRAM), and, in a pipelined program, for buffers of the two
/// stages that share activation SRAM. Needs streams whose operands are in
/// range and whose barrier ids rise (checkStreams).
void checkCrossCoreOrder(const Program &p, std::vector<std::string> &problems);

} // namespace mars::program::detail
