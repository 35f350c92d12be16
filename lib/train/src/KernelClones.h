#pragma once
// Compiling lib/train's elementwise kernels twice, for AVX2 and for the
// x86-64 baseline the build targets, with the copy picked at load time
// (GCC/Clang target_clones). The loops are compute-bound, and the AVX2 copy
// does the same IEEE operations per lane ("avx2" enables no FMA, so nothing
// is contracted): every copy gives the same bits.

#if defined(__x86_64__) && defined(__GNUC__)
#define MARS_AVX2_CLONES __attribute__((target_clones("avx2", "default")))
/// For a helper that a cloned function calls: inlined into each copy, so it
/// is compiled for that copy's target.
#define MARS_INLINE_INTO_CLONES __attribute__((always_inline)) inline
#else
#define MARS_AVX2_CLONES
#define MARS_INLINE_INTO_CLONES inline
#endif
