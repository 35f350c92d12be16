/// \file
/// Fuzz target: the `.npy` reader. Bytes → NpyArray; an accepted array
/// serialized again must parse to the same array.

#include "mars/data/Npy.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > (1u << 20))
    return -1;
  std::string bytes(reinterpret_cast<const char *>(data), size);
  auto array = mars::data::parseNpy(bytes, "fuzz.npy");
  if (!array)
    return 0;
  auto written = mars::data::serializeNpy(*array);
  if (!written)
    return 0; // e.g. a shape whose header does not fit version 1.0
  auto again = mars::data::parseNpy(*written, "fuzz.npy (written)");
  if (!again || !(*again == *array)) {
    std::fprintf(stderr, "an accepted .npy does not round-trip: %s\n",
                 again ? "different array" : again.error().message().c_str());
    std::abort();
  }
  return 0;
}
