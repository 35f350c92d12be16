#pragma once
/// \file
/// NumPy .npy arrays: parse and serialize in memory, read and write files.
///
/// The format (numpy/lib/format.py): the magic "\x93NUMPY", a major and minor
/// version byte, the header length (uint16 little-endian in version 1.0,
/// uint32 in 2.0 and 3.0), then an ASCII (3.0: UTF-8) Python dict literal
///
///   {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 32, 32), }
///
/// padded with spaces and ended by '\n', then the raw data.

#include "mars/support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mars::data {

/// The element types marsc reads and writes.
enum class NpyDType : uint8_t { Float32, Int8, UInt8, Int32, Int64, Float64 };

/// Size of one element in bytes.
size_t npyDTypeSize(NpyDType dtype);
/// The numpy descr string written for `dtype`: "<f4", "|i1", "|u1", "<i4",
/// "<i8", "<f8" (float64: `marsc eval --precision f64` outputs).
const char *npyDescr(NpyDType dtype);

/// A dense C-order array. `bytes` holds the little-endian elements.
struct NpyArray {
  NpyDType dtype = NpyDType::Float32;
  std::vector<int64_t> shape; ///< Empty for a 0-d array (one element).
  std::vector<uint8_t> bytes;

  /// Product of the dims (1 for a 0-d array).
  int64_t numElements() const;
  bool operator==(const NpyArray &o) const {
    return dtype == o.dtype && shape == o.shape && bytes == o.bytes;
  }
};

/// Parses the contents of a .npy file. `sourceName` prefixes every error
/// ("x.npy: unsupported dtype '>f4' (big-endian)"). Fortran order, other
/// dtypes, malformed headers, truncated data and trailing bytes are errors.
Expected<NpyArray> parseNpy(const std::string &bytes,
                            const std::string &sourceName);

/// Reads and parses a .npy file.
Expected<NpyArray> readNpyFile(const std::string &path);

/// Serializes `array` as format version 1.0. Fails when the shape does not
/// match the data size or the header would not fit version 1.0.
Expected<std::string> serializeNpy(const NpyArray &array);

/// serializeNpy() written atomically to `path` (temporary file in the same
/// directory, then rename): on failure nothing is left at `path`.
Status writeNpyFile(const NpyArray &array, const std::string &path);

} // namespace mars::data
