#include "mars/program/Program.h"

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

int32_t storedGroups(const PartitionImage &p) {
  int32_t n = 0;
  for (uint8_t byte : p.indexCode)
    n += __builtin_popcount(byte);
  return n;
}

std::vector<int32_t> slotRowGroups(const PartitionImage &p) {
  std::vector<int32_t> rows;
  for (size_t i = 0; i < p.indexCode.size(); ++i)
    for (int bit = 0; bit < 8; ++bit)
      if (p.indexCode[i] >> bit & 1)
        rows.push_back(static_cast<int32_t>(i * 8 + bit));
  return rows;
}

} // namespace mars::program
