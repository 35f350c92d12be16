#include "mars/ir/DType.h"

#include "mars/support/Error.h"

namespace mars::ir {

size_t dtypeSize(DType dtype) {
  switch (dtype) {
  case DType::Float32: return 4;
  case DType::Int8: return 1;
  case DType::UInt8: return 1;
  case DType::Int32: return 4;
  case DType::Int64: return 8;
  case DType::Float64: return 8;
  }
  MARS_CHECK(false, "unknown dtype");
}

const char *dtypeName(DType dtype) {
  switch (dtype) {
  case DType::Float32: return "f32";
  case DType::Int8: return "i8";
  case DType::UInt8: return "u8";
  case DType::Int32: return "i32";
  case DType::Int64: return "i64";
  case DType::Float64: return "f64";
  }
  MARS_CHECK(false, "unknown dtype");
}

std::optional<DType> parseDType(const std::string &name) {
  for (DType d : {DType::Float32, DType::Int8, DType::UInt8, DType::Int32,
                  DType::Int64, DType::Float64})
    if (name == dtypeName(d))
      return d;
  return std::nullopt;
}

} // namespace mars::ir
