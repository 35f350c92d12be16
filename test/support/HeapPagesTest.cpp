// preferHugePagesForHeap (lib/support/HeapPages.h): after it, the blocks
// marsc's passes allocate (here 8 MiB, the size of a program or a layer's
// weights) lie in a heap range the kernel has marked for huge pages — the
// `hg` flag of that mapping in /proc/self/smaps. Under AddressSanitizer
// (the `make test` build), whose allocator is not glibc's heap, the function
// must say it did nothing; that is what the test then checks.
#include "mars/support/HeapPages.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

bool builtWithAddressSanitizer() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return true;
#endif
#endif
  return false;
}

/// The VmFlags line of the mapping that holds `address`, or "" if none.
std::string vmFlagsOf(const void *address) {
  const auto at = reinterpret_cast<uintptr_t>(address);
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream range(line);
    if (range >> std::hex >> lo >> dash >> hi && dash == '-' &&
        line.find(':') > line.find(' ')) {
      inside = lo <= at && at < hi;
      continue;
    }
    if (inside && line.rfind("VmFlags:", 0) == 0)
      return line;
  }
  return "";
}

} // namespace

TEST_CASE("heap pages: model-sized blocks land in huge-page advised memory") {
  // Before the call, glibc's defaults give an 8 MiB block a mapping of its
  // own without the flag: the check below can fail.
  std::vector<uint8_t> before(size_t(8) << 20, 1);
  const std::string flagsBefore = vmFlagsOf(before.data());
  INFO("VmFlags before: " << flagsBefore);
  REQUIRE_FALSE(flagsBefore.empty());
  CHECK(flagsBefore.find(" hg") == std::string::npos);

  const bool advised = mars::preferHugePagesForHeap();
  if (builtWithAddressSanitizer()) {
    INFO("AddressSanitizer's allocator: the function must report no advice");
    CHECK_FALSE(advised);
    return;
  }
  REQUIRE(advised);
  std::vector<uint8_t> block(size_t(8) << 20, 1);
  // Its middle: its first bytes may come from the heap below the advised,
  // 2 MiB aligned range.
  const std::string flags = vmFlagsOf(block.data() + block.size() / 2);
  INFO("VmFlags of the block's mapping: " << flags);
  REQUIRE_FALSE(flags.empty());
  CHECK(flags.find(" hg") != std::string::npos);
}
