/// \file
/// Times the interpreter on VGG16 (CIFAR-style: 13 3x3 convolutions, 5 max
/// pools, a 512->10 classifier) on one 32x32 image. Hidden ([.bench]); run
/// with `test_interp "[bench]"` in a Release build. Target: under 1 s.

#include "mars/support/Random.h"
#include "InterpTestUtil.h"

#include <chrono>
#include <iostream>

using namespace mars;
using namespace mars::interp::test;
using ir::OpKind;

namespace {
ir::Graph vgg16(Random &rng) {
  auto weights = [&](Shape shape) {
    Tensor t(DType::Float32, std::move(shape));
    for (int64_t i = 0; i < t.numElements(); ++i)
      t.data<float>()[i] = float(rng.normal(0.0, 0.05));
    return t;
  };
  ir::Graph g;
  g.name = "vgg16";
  ir::ValueId x = g.addValue("x", f32Type({1, 3, 32, 32}));
  g.inputs.push_back(x);
  const int64_t plan[] = {64, 64,  0,   128, 128, 0,   256, 256, 256,
                          0,  512, 512, 512, 0,   512, 512, 512, 0};
  int64_t channels = 3, size = 32;
  int layer = 0;
  for (int64_t width : plan) {
    const std::string id = std::to_string(layer++);
    if (width == 0) {
      size /= 2;
      ir::ValueId y =
          g.addValue("pool" + id, f32Type({1, channels, size, size}));
      g.addNode(OpKind::MaxPool, "pool" + id, {x}, {y},
                attrs({{"kernel_shape", std::vector<int64_t>{2, 2}},
                       {"strides", std::vector<int64_t>{2, 2}}}));
      x = y;
      continue;
    }
    ir::ValueId w =
        g.addInitializer("w" + id, weights({width, channels, 3, 3}));
    ir::ValueId b = g.addInitializer("b" + id, weights({width}));
    ir::ValueId c = g.addValue("conv" + id, f32Type({1, width, size, size}));
    ir::ValueId r = g.addValue("relu" + id, f32Type({1, width, size, size}));
    g.addNode(OpKind::Conv, "conv" + id, {x, w, b}, {c},
              attrs({{"pads", std::vector<int64_t>{1, 1, 1, 1}}}));
    g.addNode(OpKind::Relu, "relu" + id, {c}, {r});
    x = r;
    channels = width;
  }
  ir::ValueId flat = g.addValue("flat", f32Type({1, 512}));
  g.addNode(OpKind::Flatten, "flatten", {x}, {flat});
  ir::ValueId fw = g.addInitializer("fc.w", weights({10, 512}));
  ir::ValueId fb = g.addInitializer("fc.b", weights({10}));
  ir::ValueId logits = g.addValue("logits", f32Type({1, 10}));
  g.addNode(OpKind::Gemm, "fc", {flat, fw, fb}, {logits},
            attrs({{"transB", int64_t{1}}}));
  g.outputs.push_back(logits);
  return g;
}
} // namespace

TEST_CASE("VGG16 on a 32x32 image", "[.bench]") {
  Random rng(1);
  ir::Graph g = vgg16(rng);
  Tensor image(DType::Float32, {1, 3, 32, 32});
  for (int64_t i = 0; i < image.numElements(); ++i)
    image.data<float>()[i] = float(i % 17) / 17.0f;
  REQUIRE(interp::run(g, {image}).ok()); // warm-up
  const int repeats = 3;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i)
    REQUIRE(interp::run(g, {image}).ok());
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count() /
      repeats;
  // 313M multiply-adds in the convolutions.
  std::cout << "vgg16 32x32 batch 1: " << seconds * 1e3 << " ms per image ("
            << 2 * 313.2e6 / seconds / 1e9 << " GFLOP/s)\n";
}
