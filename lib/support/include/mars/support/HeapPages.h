#pragma once
/// Back the malloc heap with transparent huge pages, once, at process start.
///
/// Why: on the virtual machines marsc is measured on, a first touch of a
/// fresh 4 KiB page costs tens of microseconds. Compiling a 224×224
/// ResNet-18 QDQ model touched about 24,000 fresh pages (every model-sized
/// buffer, from the file bytes to the program), which was more than half of
/// its wall time; on 2 MiB pages the same run takes about 1,000 faults.
/// The kernel's THP mode here is `madvise`, so memory is huge-page backed
/// only where a process asks for it.
///
/// How: glibc grows the main heap with sbrk; a large top pad makes the first
/// growth reserve `reserveBytes` (1 GiB) of address space at once (untouched pages
/// cost nothing), the trim threshold keeps freed memory for reuse instead of
/// returning it, and madvise(MADV_HUGEPAGE) marks the reserved range. Blocks
/// up to 32 MiB (glibc's largest mmap threshold) come from that heap; larger
/// ones are still mapped on their own. Nothing changes what the program
/// computes.
///
/// Returns whether the advice is in place. It is not under AddressSanitizer
/// (whose allocator is not glibc's heap) or when the heap cannot grow by
/// `reserveBytes` (then the malloc settings are put back).
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

namespace mars {

inline bool preferHugePagesForHeap(size_t reserveBytes = size_t(1) << 30) {
  // reserveBytes must stay at or below 1 GiB: mallopt takes an int.
#if defined(__SANITIZE_ADDRESS__)
  (void)reserveBytes;
  return false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  (void)reserveBytes;
  return false;
#endif
#endif
  constexpr uintptr_t kHugePage = uintptr_t(2) << 20;
  constexpr int kLargestMmapThreshold = 32 << 20;
  mallopt(M_MMAP_THRESHOLD, kLargestMmapThreshold);
  // Above the pad: freeing the block below must not hand the pad back.
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
  mallopt(M_TOP_PAD, static_cast<int>(reserveBytes));
  const auto before = reinterpret_cast<uintptr_t>(sbrk(0));
  // volatile: a malloc/free pair the optimizer can see is removed.
  static void *volatile grow;
  grow = std::malloc(size_t(1) << 20);
  std::free(grow);
  const auto after = reinterpret_cast<uintptr_t>(sbrk(0));
  const uintptr_t lo = (before + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t hi = after & ~(kHugePage - 1);
  if (after < before + reserveBytes / 2 || hi <= lo ||
      madvise(reinterpret_cast<void *>(lo), hi - lo, MADV_HUGEPAGE) != 0) {
    // glibc's defaults (a dynamic mmap threshold cannot be restored, but
    // 128 KiB is where it starts).
    mallopt(M_TOP_PAD, 128 << 10);
    mallopt(M_TRIM_THRESHOLD, 128 << 10);
    mallopt(M_MMAP_THRESHOLD, 128 << 10);
    return false;
  }
  return true;
}

} // namespace mars
