// data::loadCalibrationImages: the --calib sources of `marsc compile`.
#include "mars/data/Calibration.h"
#include "common/RequireData.h"
#include "mars/data/Dataset.h"
#include "mars/data/Npy.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>

using namespace mars::data;

namespace {

bool contains(const std::string &s, const std::string &part) {
  return s.find(part) != std::string::npos;
}

/// A float32 .npy of `shape` holding 0, 0.01, 0.02, ...
std::string writeFloatNpy(const std::string &name,
                          const std::vector<int64_t> &shape,
                          NpyDType dtype = NpyDType::Float32) {
  NpyArray a;
  a.dtype = dtype;
  a.shape = shape;
  a.bytes.resize(size_t(a.numElements()) * npyDTypeSize(dtype));
  if (dtype == NpyDType::Float32)
    for (int64_t i = 0; i < a.numElements(); ++i) {
      float v = float(i) * 0.01f;
      std::memcpy(a.bytes.data() + 4 * i, &v, 4);
    }
  std::string path =
      "/tmp/mars_calib_test_" + std::to_string(getpid()) + "_" + name;
  REQUIRE(writeNpyFile(a, path).ok());
  return path;
}

} // namespace

TEST_CASE("random calibration images: at most 16, seeded, in [0, 1)") {
  auto many = loadCalibrationImages("random", {1, 4, 4}, 100, /*seed=*/7);
  REQUIRE(many.ok());
  CHECK(many->count == 16);
  CHECK(many->source == "random");
  CHECK(many->shape == std::vector<int64_t>{1, 4, 4});
  REQUIRE(many->pixels.size() == 16 * 16);
  for (float p : many->pixels)
    CHECK((p >= 0 && p < 1));

  auto few = loadCalibrationImages("random", {1, 4, 4}, 3, 7);
  REQUIRE(few.ok());
  CHECK(few->count == 3);
  // The same seed gives the same stream, another seed another one.
  CHECK(std::vector<float>(many->pixels.begin(), many->pixels.begin() + 48) ==
        few->pixels);
  auto other = loadCalibrationImages("random", {1, 4, 4}, 3, 8);
  REQUIRE(other.ok());
  CHECK(other->pixels != few->pixels);
}

TEST_CASE("calibration images from .npy: N×C×H×W or one C×H×W") {
  std::string batch = writeFloatNpy("batch.npy", {3, 1, 2, 2});
  auto all = loadCalibrationImages(batch, {1, 2, 2}, 10, 0);
  REQUIRE(all.ok());
  CHECK(all->count == 3);
  CHECK(all->source == batch);
  REQUIRE(all->pixels.size() == 12);
  CHECK(all->pixels[11] == 0.11f);
  auto two = loadCalibrationImages(batch, {1, 2, 2}, 2, 0);
  REQUIRE(two.ok());
  CHECK(two->count == 2);
  CHECK(two->pixels.size() == 8);

  std::string one = writeFloatNpy("one.npy", {1, 2, 2});
  auto single = loadCalibrationImages(one, {1, 2, 2}, 10, 0);
  REQUIRE(single.ok());
  CHECK(single->count == 1);

  auto wrongShape = loadCalibrationImages(batch, {1, 3, 3}, 10, 0);
  REQUIRE_FALSE(wrongShape.ok());
  CHECK(contains(wrongShape.error().message(),
                 "holds 3×1×2×2 but the model takes N×1×3×3 images"));

  std::string ints = writeFloatNpy("ints.npy", {1, 1, 2, 2}, NpyDType::Int8);
  auto notFloat = loadCalibrationImages(ints, {1, 2, 2}, 10, 0);
  REQUIRE_FALSE(notFloat.ok());
  CHECK(contains(notFloat.error().message(), "must be float32"));

  std::string empty = writeFloatNpy("empty.npy", {0, 1, 2, 2});
  auto none = loadCalibrationImages(empty, {1, 2, 2}, 10, 0);
  REQUIRE_FALSE(none.ok());
  CHECK(contains(none.error().message(), "holds no images"));

  for (const std::string &p : {batch, one, ints, empty})
    std::remove(p.c_str());
}

TEST_CASE("an input without pixels is an error") {
  auto r = loadCalibrationImages("random", {1, 0, 28}, 4, 0);
  REQUIRE_FALSE(r.ok());
  CHECK(contains(r.error().message(), "has no pixels"));
}

TEST_CASE("calibration images from Fashion-MNIST's training split") {
  auto train = loadDataset("fashion-mnist", Split::Train);
  if (!train.ok()) {
    MARS_SKIP_MISSING("dataset-fashion-mnist");
    return;
  }
  auto r = loadCalibrationImages("fashion-mnist", {1, 28, 28}, 5, 0);
  REQUIRE(r.ok());
  CHECK(r->count == 5);
  CHECK(r->source == train->name);
  std::vector<float> fourth(28 * 28);
  imageAsFloat(*train, 4, fourth.data());
  CHECK(std::vector<float>(r->pixels.begin() + 4 * 784, r->pixels.end()) ==
        fourth);

  auto wrong = loadCalibrationImages("fashion-mnist", {3, 32, 32}, 5, 0);
  REQUIRE_FALSE(wrong.ok());
  CHECK(contains(wrong.error().message(),
                 "images are 1×28×28 but the model takes 3×32×32"));
}
