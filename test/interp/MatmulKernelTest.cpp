// The float matrix product behind Conv, Gemm and MatMul (lib/interp/src/
// MatrixMultiply.h): every kernel this CPU has (portable C++, AVX2+FMA,
// AVX-512F) and the threaded entry point give the bits of a direct
// evaluation of its contract, written out here: each c[i][j] starts from c
// in double, adds double(a[i][p]) * double(b[p][j]) for p = 0..k-1 in order,
// and is rounded once to float. Shapes cover partial row blocks and column
// panels, k = 1, strides wider than the matrices, and products large enough
// to be split over threads.
#include "MatmulKernels.h"
#include "MatrixMultiply.h"

#include "mars/support/Random.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

using namespace mars;
using namespace mars::interp;

namespace {

struct Product {
  int64_t m, n, k, lda, ldb, ldc;
  std::vector<float> a, b, c;
};

Product randomProduct(int64_t m, int64_t n, int64_t k, uint64_t seed) {
  Random random(seed);
  Product p{m, n, k, k + 3, n + 5, n + 2, {}, {}, {}};
  // Magnitudes over several octaves, signs mixed: the sums cancel, so a
  // change of summation order would show in the last float bit.
  auto fill = [&](std::vector<float> &v, size_t size) {
    v.resize(size);
    for (float &x : v)
      x = random.uniform(-1.0, 1.0) * float(1 << int(random.unit() * 12.0));
  };
  fill(p.a, size_t(m * p.lda));
  fill(p.b, size_t(k * p.ldb));
  fill(p.c, size_t(m * p.ldc));
  return p;
}

std::vector<float> contract(const Product &p) {
  std::vector<float> c = p.c;
  for (int64_t i = 0; i < p.m; ++i)
    for (int64_t j = 0; j < p.n; ++j) {
      double sum = c[i * p.ldc + j];
      for (int64_t q = 0; q < p.k; ++q)
        sum += double(p.a[i * p.lda + q]) * double(p.b[q * p.ldb + j]);
      c[i * p.ldc + j] = float(sum);
    }
  return c;
}

bool sameBits(const std::vector<float> &x, const std::vector<float> &y) {
  return x.size() == y.size() &&
         std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
}

} // namespace

TEST_CASE("matmul kernels: every kernel gives the contract's bits") {
  const auto kernels = matmulKernelsOnThisCpu();
  // Says which kernels this run checked: a CPU without AVX2 checks only the
  // portable one.
  std::string names;
  for (const MatmulKernel *kernel : kernels)
    names += std::string(names.empty() ? "" : ", ") + kernel->name;
  WARN("matmul kernels checked on this CPU: " << names);
  uint64_t seed = 1;
  for (int64_t m : {1, 3, 7, 8, 9, 17})
    for (int64_t n : {1, 5, 8, 15, 16, 17, 40})
      for (int64_t k : {1, 2, 27, 300}) {
        const Product p = randomProduct(m, n, k, seed++);
        const std::vector<float> expected = contract(p);
        for (const MatmulKernel *kernel : kernels) {
          std::vector<float> c = p.c;
          matmulAccumulateWith(*kernel, m, n, k, p.a.data(), p.lda, p.b.data(),
                               p.ldb, c.data(), p.ldc);
          INFO(kernel->name << " m=" << m << " n=" << n << " k=" << k);
          REQUIRE(sameBits(c, expected));
        }
      }
}

TEST_CASE("matmul kernels: a product split over threads gives the same bits") {
  // 64 × 4099 × 70 multiply-adds is above the threading threshold, and 4099
  // columns end in a partial panel.
  const Product p = randomProduct(64, 4099, 70, 99);
  const std::vector<float> expected = contract(p);
  std::vector<float> c = p.c;
  matmulAccumulate(p.m, p.n, p.k, p.a.data(), p.lda, p.b.data(), p.ldb,
                   c.data(), p.ldc);
  REQUIRE(sameBits(c, expected));
}

TEST_CASE("matmul kernels: the sum starts from c (a rounding tie decides it)") {
  // c = 1 and products 2^-24, 2^-54, 2^-54, 2^-54. From c: 1 + 2^-24 is
  // exact in double, each 2^-54 is then below half an ulp and lost, and
  // 1 + 2^-24 is a float tie that rounds to even: 1. Summing the products
  // first would keep 2^-52 + 2^-54 and round up to 1 + 2^-23.
  const int64_t m = 9, n = 17, k = 4;
  std::vector<float> a(size_t(m * k), 1.0f);
  std::vector<float> b(size_t(k * n));
  for (int64_t j = 0; j < n; ++j) {
    b[j] = 0x1.0p-24f;
    for (int64_t q = 1; q < k; ++q)
      b[q * n + j] = 0x1.0p-54f;
  }
  for (const MatmulKernel *kernel : matmulKernelsOnThisCpu()) {
    std::vector<float> c(size_t(m * n), 1.0f);
    matmulAccumulateWith(*kernel, m, n, k, a.data(), k, b.data(), n, c.data(),
                         n);
    INFO(kernel->name);
    for (float v : c)
      REQUIRE(v == 1.0f);
  }
}
