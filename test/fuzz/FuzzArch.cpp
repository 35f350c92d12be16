/// \file
/// Fuzz target: the arch JSON parser. Text → ArchSpec (parse, validate);
/// an accepted spec printed back as JSON must parse to the same JSON.

#include "mars/arch/ArchSpec.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > (1u << 16))
    return -1;
  std::string text(reinterpret_cast<const char *>(data), size);
  auto spec = mars::arch::parseArchJson(text, "fuzz.json");
  if (!spec)
    return 0;
  std::string json = mars::arch::archToJson(*spec);
  auto again = mars::arch::parseArchJson(json, "fuzz.json (printed)");
  if (!again || mars::arch::archToJson(*again) != json) {
    std::fprintf(stderr, "an accepted arch does not round-trip: %s\n",
                 again ? "different JSON" : again.error().message().c_str());
    std::abort();
  }
  return 0;
}
