#include "mars/program/Program.h"

#include <cstring>

namespace mars::program {

const char *layerKindName(LayerKind kind) {
  switch (kind) {
  case LayerKind::Conv: return "Conv";
  case LayerKind::MaxPool: return "MaxPool";
  case LayerKind::AvgPool: return "AvgPool";
  case LayerKind::Add: return "Add";
  case LayerKind::Concat: return "Concat";
  case LayerKind::Reshape: return "Reshape";
  }
  return "?";
}

const char *opcodeName(Opcode op) {
  switch (op) {
  case Opcode::LoadImage: return "load";
  case Opcode::FetchImage: return "fetch";
  case Opcode::Compute: return "compute";
  case Opcode::Post: return "post";
  case Opcode::Digital: return "digital";
  case Opcode::Sync: return "sync";
  }
  return "?";
}

// The compiler's schedule search and the timing model call this for every
// Compute of every trial: eight bytes at a time, and the popcnt instruction
// where the CPU has it (without it, GCC calls libgcc's bit loop).
__attribute__((target_clones("popcnt", "default"))) int32_t
storedGroups(const PartitionImage &p) {
  const uint8_t *bytes = p.indexCode.data();
  const size_t size = p.indexCode.size();
  int32_t n = 0;
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes + i, 8);
    n += __builtin_popcountll(word);
  }
  for (; i < size; ++i)
    n += __builtin_popcount(bytes[i]);
  return n;
}

// Called once per partition by the executor's set-up and the timing model:
// eight bytes at a time, one step per set bit.
std::vector<int32_t> slotRowGroups(const PartitionImage &p) {
  std::vector<int32_t> rows;
  rows.reserve(size_t(storedGroups(p)));
  const size_t size = p.indexCode.size();
  for (size_t i = 0; i < size; i += 8) {
    uint64_t word = 0; // Byte i + k is bits 8k..8k+7, on any byte order.
    for (size_t k = 0; k < 8 && i + k < size; ++k)
      word |= uint64_t(p.indexCode[i + k]) << (8 * k);
    for (; word != 0; word &= word - 1)
      rows.push_back(static_cast<int32_t>(i * 8) + __builtin_ctzll(word));
  }
  return rows;
}

bool sameImageBytes(const WeightImage &x, const WeightImage &y) {
  auto nextStored = [](const WeightImage &im, size_t q) {
    while (q < im.partitions.size() && im.partitions[q].matrix < 0)
      ++q;
    return q;
  };
  size_t i = nextStored(x, 0), j = nextStored(y, 0);
  for (; i < x.partitions.size() && j < y.partitions.size();
       i = nextStored(x, i + 1), j = nextStored(y, j + 1)) {
    const PartitionImage &a = x.partitions[i], &b = y.partitions[j];
    if (a.matrix != b.matrix || a.colGroup != b.colGroup ||
        a.indexCode != b.indexCode)
      return false;
  }
  return i == x.partitions.size() && j == y.partitions.size();
}

} // namespace mars::program
