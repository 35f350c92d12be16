/// \file
/// Fuzz target: the IDX and CIFAR dataset readers (lib/data), including
/// their gzip path. The input is
///   byte 0: format (mod 3): 0 IDX, 1 CIFAR-10, 2 CIFAR-100;
///   IDX: bytes 1-2 the label file's length L (little-endian, clamped), then
///     the image file, then the last L bytes: the label file;
///   CIFAR: the rest is the test batch file.
/// The readers take paths, so the files are written to a private temporary
/// folder first.

#include "mars/data/Dataset.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>

namespace {

std::string makeTempDir() {
  const char *base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base && *base ? base : "/tmp") + "/mars-fuzz-data-XXXXXX";
  if (!mkdtemp(pattern.data())) {
    std::perror("mkdtemp");
    std::abort();
  }
  return pattern;
}

void writeFile(const std::string &path, const uint8_t *data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char *>(data), std::streamsize(size));
  if (!out) {
    std::perror(path.c_str());
    std::abort();
  }
}

/// The private folder, removed at exit (declared before `cleanup`, so it is
/// destroyed after it).
const std::string tempDir = makeTempDir();

struct Cleanup {
  ~Cleanup() {
    for (const char *name :
         {"images.idx", "labels.idx", "test_batch.bin", "test.bin"})
      std::remove((tempDir + "/" + name).c_str());
    rmdir(tempDir.c_str());
  }
} cleanup;

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1 || size > (1u << 16))
    return -1;
  const std::string &dir = tempDir;
  const int format = data[0] % 3;
  if (format == 0) {
    if (size < 3)
      return -1;
    size_t labelBytes = data[1] | size_t(data[2]) << 8;
    const uint8_t *files = data + 3;
    size_t filesSize = size - 3;
    if (labelBytes > filesSize)
      labelBytes = filesSize;
    writeFile(dir + "/images.idx", files, filesSize - labelBytes);
    writeFile(dir + "/labels.idx", files + filesSize - labelBytes, labelBytes);
    auto d =
        mars::data::readIdx(dir + "/images.idx", dir + "/labels.idx", "fuzz");
    if (d && (d->pixels.size() != size_t(d->count * d->imageSize()) ||
              d->labels.size() != size_t(d->count))) {
      std::fprintf(stderr, "readIdx: sizes do not match the header\n");
      std::abort();
    }
    return 0;
  }
  const int classes = format == 1 ? 10 : 100;
  writeFile(dir + (classes == 10 ? "/test_batch.bin" : "/test.bin"), data + 1,
            size - 1);
  auto d = mars::data::readCifar(dir, classes, mars::data::Split::Test);
  if (d && (d->pixels.size() != size_t(d->count * d->imageSize()) ||
            d->labels.size() != size_t(d->count))) {
    std::fprintf(stderr, "readCifar: sizes do not match the records\n");
    std::abort();
  }
  return 0;
}
