#include "common/RequireData.h"
#include "mars/data/Dataset.h"

#include <catch2/catch.hpp>
#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

using namespace mars::data;

namespace {

std::string tempDir() {
  std::string dir = "/tmp/mars_dataset_test_" + std::to_string(getpid());
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

void putBigEndian32(std::string &s, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    s += static_cast<char>((v >> shift) & 0xff);
}

std::string idxImages(uint32_t count, uint32_t rows, uint32_t cols) {
  std::string s;
  putBigEndian32(s, 0x803);
  putBigEndian32(s, count);
  putBigEndian32(s, rows);
  putBigEndian32(s, cols);
  for (uint32_t i = 0; i < count * rows * cols; ++i)
    s += static_cast<char>(i % 251);
  return s;
}

std::string idxLabels(uint32_t count, uint8_t maxLabel = 9) {
  std::string s;
  putBigEndian32(s, 0x801);
  putBigEndian32(s, count);
  for (uint32_t i = 0; i < count; ++i)
    s += static_cast<char>(i % (maxLabel + 1));
  return s;
}

void writePlain(const std::string &path, const std::string &bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

void writeGzip(const std::string &path, const std::string &bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

} // namespace

TEST_CASE("IDX files, plain and gzipped, in an MNIST directory") {
  std::string dir = tempDir() + "/mnist";
  ::mkdir(dir.c_str(), 0755);
  writeGzip(dir + "/train-images-idx3-ubyte.gz", idxImages(5, 28, 28));
  writeGzip(dir + "/train-labels-idx1-ubyte.gz", idxLabels(5));
  writePlain(dir + "/t10k-images-idx3-ubyte", idxImages(3, 28, 28));
  writePlain(dir + "/t10k-labels-idx1-ubyte", idxLabels(3));
  auto train = loadDataset("mnist:" + dir, Split::Train);
  REQUIRE(train.ok());
  CHECK(train->count == 5);
  CHECK(train->imageSize() == 784);
  CHECK(train->labels[4] == 4);
  CHECK(train->image(1)[0] == 784 % 251);
  auto test = loadDataset("mnist:" + dir, Split::Test);
  REQUIRE(test.ok());
  CHECK(test->count == 3);
  CHECK(test->name == "mnist/test");
}

TEST_CASE("bad IDX files are clear errors") {
  std::string dir = tempDir();
  std::string labels = dir + "/labels";
  writePlain(labels, idxLabels(4));
  auto check = [&](const std::string &images, const char *mention) {
    std::string path = dir + "/images";
    writePlain(path, images);
    auto r = readIdx(path, labels, "t");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message(), Catch::Contains(mention));
  };
  check("garbage", "not an IDX image file");
  check(idxImages(4, 28, 28).substr(0, 100), "does not match the header");
  check(idxImages(3, 28, 28), "3 images");
  std::string huge;
  putBigEndian32(huge, 0x803);
  putBigEndian32(huge, 0xffffffff);
  putBigEndian32(huge, 0xffff);
  putBigEndian32(huge, 0xffff);
  check(huge, "implausible dimensions");

  writePlain(dir + "/images", idxImages(12, 2, 2));
  writePlain(labels, idxLabels(12, 12));
  auto badLabel = readIdx(dir + "/images", labels, "t");
  REQUIRE_FALSE(badLabel.ok());
  CHECK_THAT(badLabel.error().message(), Catch::Contains("not in 0..9"));
}

TEST_CASE("truncated gzip is an error, not a short dataset") {
  std::string dir = tempDir();
  writeGzip(dir + "/full.gz", idxImages(50, 28, 28));
  std::ifstream in(dir + "/full.gz", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  writePlain(dir + "/cut.gz", bytes.substr(0, bytes.size() / 2));
  auto r = readMaybeGzip(dir + "/cut.gz", 1 << 30);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message(), Catch::Contains("cut.gz"));
}

TEST_CASE("missing dataset files name the file") {
  auto r = loadDataset("mnist:/nonexistent/dir", Split::Test);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message(), Catch::Contains("/nonexistent/dir/t10k"));
  auto unknown = loadDataset("imagenet", Split::Test);
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.error().message(), Catch::Contains("unknown dataset"));
  CHECK_FALSE(loadDataset("cifar10", Split::Test).ok());
}

TEST_CASE("CIFAR-10 and CIFAR-100 binary files") {
  std::string dir = tempDir() + "/cifar";
  ::mkdir(dir.c_str(), 0755);
  std::string record10(1 + 3072, '\x07');
  record10[0] = 3;
  writePlain(dir + "/test_batch.bin", record10 + record10);
  auto c10 = loadDataset("cifar10:" + dir, Split::Test);
  REQUIRE(c10.ok());
  CHECK(c10->count == 2);
  CHECK(c10->channels == 3);
  CHECK(c10->labels[1] == 3);
  CHECK(c10->image(1)[3071] == 7);

  std::string record100(2 + 3072, '\x01');
  record100[0] = 4;  // coarse
  record100[1] = 77; // fine: the one we use
  writePlain(dir + "/test.bin", record100);
  auto c100 = loadDataset("cifar100:" + dir, Split::Test);
  REQUIRE(c100.ok());
  CHECK(c100->labels[0] == 77);
  CHECK(c100->numClasses == 100);

  writePlain(dir + "/test_batch.bin", record10.substr(0, 100));
  auto bad = loadDataset("cifar10:" + dir, Split::Test);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message(), Catch::Contains("whole number"));
  auto missingTrain = loadDataset("cifar10:" + dir, Split::Train);
  REQUIRE_FALSE(missingTrain.ok());
  CHECK_THAT(missingTrain.error().message(), Catch::Contains("data_batch_1"));
}

TEST_CASE("Debian's Fashion-MNIST test set loads with balanced classes") {
  std::ifstream probe(std::string(kFashionMnistDir) +
                      "/t10k-labels-idx1-ubyte.gz");
  if (!probe) {
    MARS_SKIP_MISSING("dataset-fashion-mnist");
    return;
  }
  auto test = loadDataset("fashion-mnist", Split::Test);
  REQUIRE(test.ok());
  CHECK(test->count == 10000);
  CHECK(test->height == 28);
  std::vector<int> perClass(10, 0);
  for (uint8_t l : test->labels)
    ++perClass[l];
  for (int c : perClass)
    CHECK(c == 1000);
}
