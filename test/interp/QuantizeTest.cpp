#include "InterpTestUtil.h"

using namespace mars;
using namespace mars::interp::test;
using ir::OpKind;

TEST_CASE("QuantizeLinear rounds half to even") {
  Tensor x = f32({7}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 2.4f});
  Tensor y = runOne(OpKind::QuantizeLinear,
                    {x, f32({}, {1}), typed(DType::Int8, {}, {0})},
                    type(DType::Int8, {7}));
  CHECK(values(y) == std::vector<double>{0, 2, 2, -0, -2, -2, 2});
}

TEST_CASE("QuantizeLinear saturates to the output type") {
  Tensor x = f32({6}, {0, 2, 3, 1000, -254, -1000});
  // The ONNX example: scale 2, zero point 128, uint8.
  CHECK(values(runOne(OpKind::QuantizeLinear,
                      {x, f32({}, {2}), typed(DType::UInt8, {}, {128})},
                      type(DType::UInt8, {6}))) ==
        std::vector<double>{128, 129, 130, 255, 1, 0});
  CHECK(values(runOne(OpKind::QuantizeLinear,
                      {x, f32({}, {2}), typed(DType::Int8, {}, {-10})},
                      type(DType::Int8, {6}))) ==
        std::vector<double>{-10, -9, -8, 127, -128, -128});
}

TEST_CASE("QuantizeLinear without zero point gives uint8 around 0") {
  CHECK(values(runOne(OpKind::QuantizeLinear, {f32({2}, {-3, 3}), f32({}, {1})},
                      type(DType::UInt8, {2}))) == std::vector<double>{0, 3});
}

TEST_CASE("QuantizeLinear per axis") {
  // x [1, 2, 2]: channel 0 scale 1 zp 0, channel 1 scale 4 zp 10.
  Tensor x = f32({1, 2, 2}, {1, 2, 8, -8});
  Tensor y =
      runOne(OpKind::QuantizeLinear,
             {x, f32({2}, {1, 4}), typed(DType::UInt8, {2}, {0, 10})},
             type(DType::UInt8, {1, 2, 2}), attrs({{"axis", int64_t{1}}}));
  CHECK(values(y) == std::vector<double>{1, 2, 12, 8});
  // Negative axis -1 scales the last dimension instead.
  Tensor z =
      runOne(OpKind::QuantizeLinear,
             {x, f32({2}, {1, 4}), typed(DType::UInt8, {2}, {0, 10})},
             type(DType::UInt8, {1, 2, 2}), attrs({{"axis", int64_t{-1}}}));
  CHECK(values(z) == std::vector<double>{1, 10, 8, 8});
}

TEST_CASE("DequantizeLinear per tensor, per axis and int32") {
  checkClose(runOne(OpKind::DequantizeLinear,
                    {typed(DType::UInt8, {4}, {0, 3, 128, 255}), f32({}, {2}),
                     typed(DType::UInt8, {}, {128})},
                    f32Type({4})),
             {-256, -250, 0, 254});
  checkClose(runOne(OpKind::DequantizeLinear,
                    {typed(DType::Int8, {2, 2}, {-1, 1, -1, 1}),
                     f32({2}, {0.5f, 2}), typed(DType::Int8, {2}, {1, -1})},
                    f32Type({2, 2}), attrs({{"axis", int64_t{0}}})),
             {-1, 0, 0, 4});
  checkClose(runOne(OpKind::DequantizeLinear,
                    {typed(DType::Int32, {2}, {-100000, 3}), f32({}, {0.5f})},
                    f32Type({2})),
             {-50000, 1.5});
}

TEST_CASE("Quantize rejects a scale of the wrong length") {
  auto r = runNode(OpKind::QuantizeLinear,
                   {f32({1, 3}, {1, 2, 3}), f32({2}, {1, 1})},
                   {type(DType::UInt8, {1, 3})});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message(), Catch::Contains("scale has 2 elements"));
}
