#pragma once
/// \file
/// Image classification datasets: IDX (MNIST, Fashion-MNIST, optionally
/// gzip-compressed) and the CIFAR-10/100 binary formats. Files are untrusted:
/// magic numbers, dimensions, sizes and labels are checked before use.

#include "mars/support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mars::data {

/// Images as uint8 in N×C×H×W order, with one label per image.
struct Dataset {
  std::string name; ///< "fashion-mnist/test", "cifar10/train", ...
  int64_t count = 0;
  int channels = 0, height = 0, width = 0;
  int numClasses = 0;
  std::vector<uint8_t> pixels; ///< count × channels × height × width.
  std::vector<uint8_t> labels; ///< count entries, each < numClasses.

  int64_t imageSize() const { return int64_t(channels) * height * width; }
  const uint8_t *image(int64_t i) const {
    return pixels.data() + i * imageSize();
  }
};

/// Image i as floats in [0, 1] (pixel / 255), N×C×H×W order: the input
/// convention of every marsc model (training, integer evaluation, runtime).
inline void imageAsFloat(const Dataset &d, int64_t i, float *out) {
  const uint8_t *p = d.image(i);
  for (int64_t k = 0; k < d.imageSize(); ++k)
    out[k] = float(p[k]) / 255.0f;
}

enum class Split { Train, Test };

/// Where Debian's dataset-fashion-mnist installs the files.
constexpr const char *kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

/// Reads an IDX image file and an IDX label file (each optionally .gz).
Expected<Dataset> readIdx(const std::string &imagesPath,
                          const std::string &labelsPath,
                          const std::string &name);

/// Reads the CIFAR-10 (`data_batch_1..5.bin`, `test_batch.bin`) or CIFAR-100
/// (`train.bin`, `test.bin`, fine labels) binary files from `dir`.
Expected<Dataset> readCifar(const std::string &dir, int classes, Split split);

/// Loads a dataset by spec: `fashion-mnist` (Debian's files),
/// `fashion-mnist:DIR`, `mnist:DIR`, `cifar10:DIR` or `cifar100:DIR`.
Expected<Dataset> loadDataset(const std::string &spec, Split split);

/// Reads a whole file, transparently gunzipping when it starts with the gzip
/// magic. `maxBytes` bounds the decompressed size (a gzip bomb is an error).
Expected<std::vector<uint8_t>> readMaybeGzip(const std::string &path,
                                             size_t maxBytes);

} // namespace mars::data
