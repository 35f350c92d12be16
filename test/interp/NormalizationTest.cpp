#include "InterpTestUtil.h"

#include <cmath>

using namespace mars;
using namespace mars::interp::test;
using ir::OpKind;

TEST_CASE("BatchNormalization with running statistics") {
  // Channel 0: scale 2, B 1, mean 1, var 3 (+eps 1): y = 2 (x - 1) / 2 + 1.
  // Channel 1: scale 1, B 0, mean 0, var 0 (+eps 1): y = x.
  Tensor x = f32({1, 2, 1, 2}, {1, 3, 5, -5});
  Tensor y = runOne(OpKind::BatchNormalization,
                    {x, f32({2}, {2, 1}), f32({2}, {1, 0}), f32({2}, {1, 0}),
                     f32({2}, {3, 0})},
                    f32Type({1, 2, 1, 2}), attrs({{"epsilon", 1.0f}}));
  checkClose(y, {1, 3, 5, -5});
}

TEST_CASE("BatchNormalization training mode uses batch statistics") {
  // One channel, values 1, 3, 5, 7 over N=2 and W=2: mean 4, biased var 5.
  Tensor x = f32({2, 1, 1, 2}, {1, 3, 5, 7});
  auto r =
      runNode(OpKind::BatchNormalization,
              {x, f32({1}, {1}), f32({1}, {0}), f32({1}, {10}), f32({1}, {20})},
              {f32Type({2, 1, 1, 2}), f32Type({1}), f32Type({1})},
              attrs({{"epsilon", 0.0f},
                     {"momentum", 0.5f},
                     {"training_mode", int64_t{1}}}));
  REQUIRE(r.ok());
  const double s = std::sqrt(5.0);
  checkClose((*r)[0], {-3 / s, -1 / s, 1 / s, 3 / s});
  checkClose((*r)[1], {10 * 0.5 + 4 * 0.5});
  checkClose((*r)[2], {20 * 0.5 + 5 * 0.5});
}

TEST_CASE("Softmax normalises along one axis") {
  const double e1 = std::exp(1.0), e2 = std::exp(2.0);
  Tensor x = f32({2, 2}, {0, 1, 0, 2});
  checkClose(runOne(OpKind::Softmax, {x}, f32Type({2, 2})),
             {1 / (1 + e1), e1 / (1 + e1), 1 / (1 + e2), e2 / (1 + e2)});
  checkClose(runOne(OpKind::Softmax, {x}, f32Type({2, 2}),
                    attrs({{"axis", int64_t{0}}})),
             {0.5, 1 / (1 + e1), 0.5, e1 / (1 + e1)});
}

TEST_CASE("Softmax is stable for large inputs") {
  const double e1 = std::exp(1.0);
  checkClose(runOne(OpKind::Softmax, {f32({2}, {1000, 1001})}, f32Type({2})),
             {1 / (1 + e1), e1 / (1 + e1)});
}
