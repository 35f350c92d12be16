#include "InterpTestUtil.h"

using namespace mars;
using namespace mars::interp::test;
using ir::OpKind;

TEST_CASE("Flatten, Reshape, Identity and Dropout copy the data") {
  Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  checkClose(runOne(OpKind::Flatten, {x}, f32Type({6, 1}),
                    attrs({{"axis", int64_t{2}}})),
             {1, 2, 3, 4, 5, 6});
  checkClose(runOne(OpKind::Reshape, {x, Operand::constant(i64({2}, {3, -1}))},
                    f32Type({3, 2})),
             {1, 2, 3, 4, 5, 6});
  checkClose(runOne(OpKind::Identity, {x}, f32Type({2, 3})),
             {1, 2, 3, 4, 5, 6});
  checkClose(runOne(OpKind::Dropout, {x, Operand::constant(f32({}, {0.5f}))},
                    f32Type({2, 3})),
             {1, 2, 3, 4, 5, 6});
}

TEST_CASE("Dropout's mask output is all true") {
  auto r = runNode(OpKind::Dropout, {f32({2}, {1, 2})},
                   {f32Type({2}), type(DType::UInt8, {2})});
  REQUIRE(r.ok());
  CHECK(values((*r)[1]) == std::vector<double>{1, 1});
}

TEST_CASE("Pad with a constant value") {
  Tensor y =
      runOne(OpKind::Pad,
             {f32({1, 2}, {1, 2}), Operand::constant(i64({4}, {1, 0, 0, 2})),
              Operand::constant(f32({}, {9}))},
             f32Type({2, 4}));
  checkClose(y, {9, 9, 9, 9, 1, 2, 9, 9});
}

TEST_CASE("Negative pads crop") {
  // 3x3 ramp; crop the first row and the last column, pad one column left.
  Tensor x = f32({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Tensor y =
      runOne(OpKind::Pad, {x, Operand::constant(i64({4}, {-1, 1, 0, -1}))},
             f32Type({2, 3}));
  checkClose(y, {0, 4, 5, 0, 7, 8});
}

TEST_CASE("Pad of integers and rank 4") {
  Tensor x = typed(DType::Int32, {1, 1, 1, 1}, {7});
  Tensor y = runOne(OpKind::Pad,
                    {x, Operand::constant(i64({8}, {0, 0, 1, 1, 0, 0, 0, 1}))},
                    type(DType::Int32, {1, 1, 2, 3}));
  CHECK(values(y) == std::vector<double>{0, 0, 0, 0, 7, 0});
}

TEST_CASE("Pad rejects modes other than constant") {
  auto r = runNode(OpKind::Pad,
                   {f32({2}, {1, 2}), Operand::constant(i64({2}, {1, 1}))},
                   {f32Type({4})}, attrs({{"mode", std::string("reflect")}}));
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message(), Catch::Contains("reflect"));
}

TEST_CASE("Concat along an inner and a negative axis") {
  Tensor a = f32({2, 1}, {1, 2});
  Tensor b = f32({2, 2}, {3, 4, 5, 6});
  checkClose(runOne(OpKind::Concat, {a, b}, f32Type({2, 3}),
                    attrs({{"axis", int64_t{-1}}})),
             {1, 3, 4, 2, 5, 6});
  checkClose(runOne(OpKind::Concat, {b, b}, f32Type({4, 2}),
                    attrs({{"axis", int64_t{0}}})),
             {3, 4, 5, 6, 3, 4, 5, 6});
}
