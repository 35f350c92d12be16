#include "InterpTestUtil.h"

using namespace mars;
using namespace mars::interp::test;
using ir::OpKind;

TEST_CASE("Gemm with transposes, alpha, beta and a broadcast row") {
  // A' = [[1,2],[3,4]] given transposed; B' = [[1,0,2],[0,1,1]] given
  // transposed; C = [10, 20, 30] broadcast over rows.
  Tensor a = f32({2, 2}, {1, 3, 2, 4});
  Tensor b = f32({3, 2}, {1, 0, 0, 1, 2, 1});
  Tensor c = f32({3}, {10, 20, 30});
  Tensor y = runOne(OpKind::Gemm, {a, b, c}, f32Type({2, 3}),
                    attrs({{"transA", int64_t{1}},
                           {"transB", int64_t{1}},
                           {"alpha", 2.0f},
                           {"beta", 0.5f}}));
  // A'B' = [[1,2,4],[3,4,10]].
  checkClose(y, {7, 14, 23, 11, 18, 35});
}

TEST_CASE("Gemm with a column bias and without bias") {
  Tensor a = f32({2, 1}, {1, 2});
  Tensor b = f32({1, 2}, {3, 4});
  checkClose(
      runOne(OpKind::Gemm, {a, b, f32({2, 1}, {100, 200})}, f32Type({2, 2})),
      {103, 104, 206, 208});
  checkClose(runOne(OpKind::Gemm, {a, b}, f32Type({2, 2})), {3, 4, 6, 8});
}

TEST_CASE("MatMul of 1-D operands follows numpy") {
  Tensor v = f32({2}, {1, 2});
  Tensor m = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  checkClose(runOne(OpKind::MatMul, {v, m}, f32Type({3})), {9, 12, 15});
  checkClose(runOne(OpKind::MatMul, {f32({3, 2}, {1, 2, 3, 4, 5, 6}), v},
                    f32Type({3})),
             {5, 11, 17});
  checkClose(runOne(OpKind::MatMul, {v, v}, f32Type({})), {5});
}

TEST_CASE("MatMul broadcasts batch dimensions") {
  // a: [2,1,1,2], b: [3,2,1] -> [2,3,1,1]; out[i][j] = a_i . b_j.
  Tensor a = f32({2, 1, 1, 2}, {1, 2, 3, 4});
  Tensor b = f32({3, 2, 1}, {1, 0, 0, 1, 1, 1});
  checkClose(runOne(OpKind::MatMul, {a, b}, f32Type({2, 3, 1, 1})),
             {1, 2, 3, 3, 4, 7});
}
