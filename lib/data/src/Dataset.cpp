#include "mars/data/Dataset.h"

#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <sys/stat.h>

namespace mars::data {

namespace {

constexpr size_t kMaxDatasetBytes = size_t(4) << 30; // 4 GiB

bool fileExists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

uint32_t readBigEndian32(const uint8_t *p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) |
         (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

/// `base` or `base.gz`, whichever exists (plain first).
std::string findIdxFile(const std::string &dir, const std::string &base) {
  std::string plain = dir + "/" + base;
  if (fileExists(plain))
    return plain;
  return plain + ".gz";
}

} // namespace

Expected<std::vector<uint8_t>> readMaybeGzip(const std::string &path,
                                             size_t maxBytes) {
  if (!fileExists(path))
    return makeError(path, ": file not found");
  gzFile file = gzopen(path.c_str(), "rb"); // reads plain files unchanged
  if (!file)
    return makeError(path, ": cannot open");
  std::vector<uint8_t> out;
  std::vector<uint8_t> chunk(1 << 16);
  for (;;) {
    int n = gzread(file, chunk.data(), static_cast<unsigned>(chunk.size()));
    if (n < 0) {
      int code = 0;
      std::string msg = gzerror(file, &code);
      gzclose(file);
      return makeError(path, ": corrupt gzip data (", msg, ")");
    }
    if (n == 0)
      break;
    if (out.size() + size_t(n) > maxBytes) {
      gzclose(file);
      return makeError(path, ": larger than ", maxBytes, " bytes");
    }
    out.insert(out.end(), chunk.begin(), chunk.begin() + n);
  }
  // gzread returns 0 both at a clean end and at a truncated stream; zlib
  // reports the truncation through gzerror.
  int code = 0;
  const char *msg = gzerror(file, &code);
  std::string message = msg ? msg : "";
  gzclose(file);
  if (code != Z_OK && code != Z_STREAM_END)
    return makeError(path, ": corrupt or truncated gzip data (", message, ")");
  return out;
}

Expected<Dataset> readIdx(const std::string &imagesPath,
                          const std::string &labelsPath,
                          const std::string &name) {
  auto images = readMaybeGzip(imagesPath, kMaxDatasetBytes);
  if (!images)
    return images.error();
  auto labels = readMaybeGzip(labelsPath, kMaxDatasetBytes);
  if (!labels)
    return labels.error();

  // Images: magic 0x00000803, count, rows, cols, then count*rows*cols bytes.
  const std::vector<uint8_t> &img = *images;
  if (img.size() < 16 || readBigEndian32(img.data()) != 0x803)
    return makeError(imagesPath,
                     ": not an IDX image file (expected magic 0x00000803)");
  uint32_t count = readBigEndian32(img.data() + 4);
  uint32_t rows = readBigEndian32(img.data() + 8);
  uint32_t cols = readBigEndian32(img.data() + 12);
  if (count == 0 || rows == 0 || cols == 0 || rows > 4096 || cols > 4096)
    return makeError(imagesPath, ": implausible dimensions ", count, "x", rows,
                     "x", cols);
  uint64_t expected = 16 + uint64_t(count) * rows * cols;
  if (img.size() != expected)
    return makeError(
        imagesPath, ": size ", img.size(), " bytes does not match the header (",
        expected, " expected for ", count, " images of ", rows, "x", cols, ")");

  // Labels: magic 0x00000801, count, then count bytes.
  const std::vector<uint8_t> &lab = *labels;
  if (lab.size() < 8 || readBigEndian32(lab.data()) != 0x801)
    return makeError(labelsPath,
                     ": not an IDX label file (expected magic 0x00000801)");
  uint32_t labelCount = readBigEndian32(lab.data() + 4);
  if (labelCount != count)
    return makeError(labelsPath, ": ", labelCount, " labels for ", count,
                     " images in ", imagesPath);
  if (lab.size() != 8 + uint64_t(count))
    return makeError(labelsPath, ": size ", lab.size(),
                     " bytes does not match the header (", 8 + uint64_t(count),
                     " expected)");

  Dataset d;
  d.name = name;
  d.count = count;
  d.channels = 1;
  d.height = static_cast<int>(rows);
  d.width = static_cast<int>(cols);
  d.numClasses = 10;
  d.pixels.assign(img.begin() + 16, img.end());
  d.labels.assign(lab.begin() + 8, lab.end());
  for (uint32_t i = 0; i < count; ++i)
    if (d.labels[i] >= d.numClasses)
      return makeError(labelsPath, ": label ", int(d.labels[i]), " of image ",
                       i, " is not in 0..9");
  return d;
}

Expected<Dataset> readCifar(const std::string &dir, int classes, Split split) {
  MARS_CHECK(classes == 10 || classes == 100);
  std::vector<std::string> files;
  if (classes == 10) {
    if (split == Split::Train)
      for (int i = 1; i <= 5; ++i)
        files.push_back(dir + "/data_batch_" + std::to_string(i) + ".bin");
    else
      files.push_back(dir + "/test_batch.bin");
  } else {
    files.push_back(dir + (split == Split::Train ? "/train.bin" : "/test.bin"));
  }
  // CIFAR-10 records: label, 3072 pixels. CIFAR-100: coarse, fine, 3072.
  const size_t labelBytes = classes == 10 ? 1 : 2;
  const size_t recordBytes = labelBytes + 3 * 32 * 32;

  Dataset d;
  d.name = std::string(classes == 10 ? "cifar10/" : "cifar100/") +
           (split == Split::Train ? "train" : "test");
  d.channels = 3;
  d.height = d.width = 32;
  d.numClasses = classes;
  for (const std::string &path : files) {
    auto bytes = readMaybeGzip(path, kMaxDatasetBytes);
    if (!bytes)
      return bytes.error();
    if (bytes->empty() || bytes->size() % recordBytes != 0)
      return makeError(path, ": size ", bytes->size(),
                       " bytes is not a whole number of ", recordBytes,
                       "-byte CIFAR-", classes, " records");
    size_t records = bytes->size() / recordBytes;
    for (size_t r = 0; r < records; ++r) {
      const uint8_t *rec = bytes->data() + r * recordBytes;
      uint8_t label = rec[labelBytes - 1]; // fine label for CIFAR-100
      if (label >= classes)
        return makeError(path, ": record ", r, " has label ", int(label),
                         ", expected 0..", classes - 1);
      d.labels.push_back(label);
      d.pixels.insert(d.pixels.end(), rec + labelBytes, rec + recordBytes);
    }
  }
  d.count = static_cast<int64_t>(d.labels.size());
  return d;
}

Expected<Dataset> loadDataset(const std::string &spec, Split split) {
  std::string kind = spec, dir;
  size_t colon = spec.find(':');
  if (colon != std::string::npos) {
    kind = spec.substr(0, colon);
    dir = spec.substr(colon + 1);
  }
  const char *splitName = split == Split::Train ? "train" : "test";
  if (kind == "fashion-mnist" || kind == "mnist") {
    if (dir.empty()) {
      if (kind == "mnist")
        return makeError("dataset 'mnist' needs a directory: mnist:DIR");
      dir = kFashionMnistDir;
    }
    std::string prefix = split == Split::Train ? "train" : "t10k";
    std::string images = findIdxFile(dir, prefix + "-images-idx3-ubyte");
    std::string labels = findIdxFile(dir, prefix + "-labels-idx1-ubyte");
    if (!fileExists(images))
      return makeError(images, ": file not found",
                       kind == "fashion-mnist" && dir == kFashionMnistDir
                           ? " (install Debian's dataset-fashion-mnist package)"
                           : "");
    return readIdx(images, labels, kind + "/" + splitName);
  }
  if (kind == "cifar10" || kind == "cifar100") {
    if (dir.empty())
      return makeError("dataset '", kind, "' needs a directory: ", kind,
                       ":DIR");
    return readCifar(dir, kind == "cifar10" ? 10 : 100, split);
  }
  return makeError("unknown dataset '", spec,
                   "' (expected fashion-mnist, fashion-mnist:DIR, mnist:DIR, "
                   "cifar10:DIR or cifar100:DIR)");
}

} // namespace mars::data
