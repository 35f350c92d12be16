#include "InterpTestUtil.h"

using namespace mars;
using namespace mars::interp::test;
using ir::OpKind;

TEST_CASE("Add broadcasts numpy-style") {
  SECTION("trailing vector") {
    Tensor y = runOne(OpKind::Add,
                      {f32({2, 3}, {1, 2, 3, 4, 5, 6}), f32({3}, {10, 20, 30})},
                      f32Type({2, 3}));
    checkClose(y, {11, 22, 33, 14, 25, 36});
  }
  SECTION("both sides") {
    Tensor y =
        runOne(OpKind::Add, {f32({2, 1}, {1, 2}), f32({1, 3}, {10, 20, 30})},
               f32Type({2, 3}));
    checkClose(y, {11, 21, 31, 12, 22, 32});
  }
  SECTION("scalar") {
    Tensor y = runOne(OpKind::Sub, {f32({}, {1}), f32({2, 2}, {1, 2, 3, 4})},
                      f32Type({2, 2}));
    checkClose(y, {0, -1, -2, -3});
  }
  SECTION("middle axis") {
    Tensor y = runOne(
        OpKind::Mul,
        {f32({2, 2, 2}, {1, 1, 1, 1, 1, 1, 1, 1}), f32({1, 2, 1}, {2, 3})},
        f32Type({2, 2, 2}));
    checkClose(y, {2, 2, 3, 3, 2, 2, 3, 3});
  }
}

TEST_CASE("Integer arithmetic wraps") {
  CHECK(values(runOne(OpKind::Add,
                      {typed(DType::Int8, {2}, {127, -128}),
                       typed(DType::Int8, {2}, {1, -1})},
                      type(DType::Int8, {2}))) ==
        std::vector<double>{-128, 127});
  CHECK(values(runOne(OpKind::Sub,
                      {typed(DType::UInt8, {2}, {0, 5}),
                       typed(DType::UInt8, {2}, {1, 3})},
                      type(DType::UInt8, {2}))) == std::vector<double>{255, 2});
  CHECK(values(runOne(OpKind::Mul,
                      {typed(DType::Int32, {1}, {65536}),
                       typed(DType::Int32, {1}, {65536})},
                      type(DType::Int32, {1}))) == std::vector<double>{0});
  CHECK(values(runOne(
            OpKind::Mul,
            {typed(DType::Int64, {2}, {3, -4}), typed(DType::Int64, {1}, {-5})},
            type(DType::Int64, {2}))) == std::vector<double>{-15, 20});
}

TEST_CASE("Relu and LeakyRelu") {
  checkClose(runOne(OpKind::Relu, {f32({3}, {-1, 0, 2})}, f32Type({3})),
             {0, 0, 2});
  CHECK(values(runOne(OpKind::Relu, {typed(DType::Int8, {2}, {-5, 5})},
                      type(DType::Int8, {2}))) == std::vector<double>{0, 5});
  checkClose(runOne(OpKind::LeakyRelu, {f32({2}, {-10, 3})}, f32Type({2}),
                    attrs({{"alpha", 0.1f}})),
             {-1, 3});
  checkClose(runOne(OpKind::LeakyRelu, {f32({1}, {-100})}, f32Type({1})),
             {-1}); // default alpha 0.01
}

TEST_CASE("Clip with optional bounds") {
  Tensor x = f32({4}, {-3, -1, 1, 3});
  checkClose(
      runOne(OpKind::Clip, {x, f32({}, {-2}), f32({}, {2})}, f32Type({4})),
      {-2, -1, 1, 2});
  checkClose(
      runOne(OpKind::Clip, {x, Operand::absent(), f32({}, {0})}, f32Type({4})),
      {-3, -1, 0, 0});
  checkClose(runOne(OpKind::Clip, {x}, f32Type({4})), {-3, -1, 1, 3});
  // numpy.clip: when min > max every element becomes max.
  checkClose(
      runOne(OpKind::Clip, {x, f32({}, {2}), f32({}, {1})}, f32Type({4})),
      {1, 1, 1, 1});
  CHECK(values(runOne(OpKind::Clip,
                      {typed(DType::Int8, {3}, {-128, 0, 127}),
                       typed(DType::Int8, {}, {-100})},
                      type(DType::Int8, {3}))) ==
        std::vector<double>{-100, 0, 127});
}

TEST_CASE("LeakyRelu rejects integer inputs with node context") {
  auto r = runNode(OpKind::LeakyRelu, {typed(DType::Int8, {1}, {1})},
                   {type(DType::Int8, {1})});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message(),
             Catch::Contains("(LeakyRelu)") && Catch::Contains("i8"));
}
