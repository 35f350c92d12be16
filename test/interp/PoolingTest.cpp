#include "InterpTestUtil.h"

using namespace mars;
using namespace mars::interp::test;
using ir::OpKind;

namespace {
Tensor ramp4x4() {
  std::vector<float> v(16);
  for (int i = 0; i < 16; ++i)
    v[i] = float(i + 1);
  return f32({1, 1, 4, 4}, v);
}
ir::AttributeMap ceil3x3Stride2() {
  return attrs({{"kernel_shape", std::vector<int64_t>{3, 3}},
                {"strides", std::vector<int64_t>{2, 2}},
                {"ceil_mode", int64_t{1}}});
}
} // namespace

TEST_CASE("MaxPool ceil_mode adds a partial window") {
  Tensor y = runOne(OpKind::MaxPool, {ramp4x4()}, f32Type({1, 1, 2, 2}),
                    ceil3x3Stride2());
  checkClose(y, {11, 12, 15, 16});
}

TEST_CASE("AveragePool ceil_mode averages only the real elements") {
  Tensor y = runOne(OpKind::AveragePool, {ramp4x4()}, f32Type({1, 1, 2, 2}),
                    ceil3x3Stride2());
  checkClose(y, {6, 7.5, 12, 13.5});
}

TEST_CASE("AveragePool count_include_pad divides by the padded window") {
  Tensor x = f32({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  auto a = attrs({{"kernel_shape", std::vector<int64_t>{3, 3}},
                  {"pads", std::vector<int64_t>{1, 1, 1, 1}}});
  SECTION("excluded") {
    Tensor y = runOne(OpKind::AveragePool, {x}, f32Type({1, 1, 3, 3}), a);
    // Corner: (1+2+4+5)/4; centre: 45/9; edge (0,1): (1+2+3+4+5+6)/6.
    checkClose(y, {3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7});
  }
  SECTION("included") {
    a.set("count_include_pad", int64_t{1});
    Tensor y = runOne(OpKind::AveragePool, {x}, f32Type({1, 1, 3, 3}), a);
    checkClose(y, {12.0 / 9, 21.0 / 9, 16.0 / 9, 27.0 / 9, 5, 33.0 / 9,
                   24.0 / 9, 39.0 / 9, 28.0 / 9});
  }
}

TEST_CASE("AveragePool count_include_pad does not count ceil_mode overhang") {
  // 3 wide, kernel 2, stride 2, pad right 0, ceil: the second window holds
  // one real element and one position beyond the input (not padding).
  Tensor y = runOne(OpKind::AveragePool, {f32({1, 1, 1, 3}, {2, 4, 9})},
                    f32Type({1, 1, 1, 2}),
                    attrs({{"kernel_shape", std::vector<int64_t>{1, 2}},
                           {"strides", std::vector<int64_t>{1, 2}},
                           {"ceil_mode", int64_t{1}},
                           {"count_include_pad", int64_t{1}}}));
  checkClose(y, {3, 9});
}

TEST_CASE("MaxPool ignores padding even when every value is negative") {
  Tensor x = f32({1, 1, 2, 2}, {-4, -3, -2, -1});
  Tensor y = runOne(OpKind::MaxPool, {x}, f32Type({1, 1, 3, 3}),
                    attrs({{"kernel_shape", std::vector<int64_t>{2, 2}},
                           {"pads", std::vector<int64_t>{1, 1, 1, 1}}}));
  checkClose(y, {-4, -3, -3, -2, -1, -1, -2, -1, -1});
}

TEST_CASE("MaxPool with dilations and uint8") {
  Tensor x = typed(DType::UInt8, {1, 1, 3, 3}, {1, 200, 3, 4, 5, 6, 7, 8, 250});
  Tensor y = runOne(OpKind::MaxPool, {x}, type(DType::UInt8, {1, 1, 1, 1}),
                    attrs({{"kernel_shape", std::vector<int64_t>{2, 2}},
                           {"dilations", std::vector<int64_t>{2, 2}}}));
  CHECK(values(y) == std::vector<double>{250});
}

TEST_CASE("GlobalAveragePool averages each plane") {
  Tensor x = f32({1, 2, 2, 2}, {1, 2, 3, 4, -1, -1, -1, 7});
  Tensor y = runOne(OpKind::GlobalAveragePool, {x}, f32Type({1, 2, 1, 1}));
  checkClose(y, {2.5, 1});
}

TEST_CASE("Pooling rejects 1-D windows and the Indices output") {
  auto oneD = runNode(OpKind::MaxPool, {f32({1, 1, 4}, {1, 2, 3, 4})},
                      {f32Type({1, 1, 2})},
                      attrs({{"kernel_shape", std::vector<int64_t>{2}}}));
  REQUIRE_FALSE(oneD.ok());
  CHECK_THAT(oneD.error().message(), Catch::Contains("2-D"));
}
