#include "mars/data/Calibration.h"

#include "mars/support/Random.h"

#include "mars/data/Dataset.h"
#include "mars/data/Npy.h"

#include <algorithm>
#include <cstring>

namespace mars::data {

namespace {

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string shapeText(const std::vector<int64_t> &s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i)
    out += (i ? "×" : "") + std::to_string(s[i]);
  return out;
}

} // namespace

Expected<CalibrationImages>
loadCalibrationImages(const std::string &spec,
                      const std::vector<int64_t> &shape, int64_t limit,
                      uint64_t seed) {
  CalibrationImages d;
  d.source = spec;
  d.shape = shape;
  const int64_t imageSize = shape.at(0) * shape.at(1) * shape.at(2);
  if (imageSize <= 0)
    return makeError("the model input ", shapeText(shape), " has no pixels");

  if (spec == "random") {
    d.count = std::max<int64_t>(1, std::min<int64_t>(limit, 16));
    d.pixels = Random(seed).unitFloats(size_t(d.count * imageSize));
    return d;
  }

  if (endsWith(spec, ".npy")) {
    auto a = readNpyFile(spec);
    if (!a)
      return a.error();
    if (a->dtype != NpyDType::Float32)
      return makeError(spec, ": calibration images must be float32",
                       a->dtype == NpyDType::Float64 ? kFloat64Advice : "");
    std::vector<int64_t> s = a->shape;
    if (s.size() == 3)
      s.insert(s.begin(), 1);
    if (s.size() != 4 || s[1] != shape[0] || s[2] != shape[1] ||
        s[3] != shape[2])
      return makeError(spec, ": holds ", shapeText(a->shape),
                       " but the model takes N×", shapeText(shape), " images");
    d.count = std::min(limit, s[0]);
    if (d.count < 1)
      return makeError(spec, ": holds no images");
    d.pixels.resize(size_t(d.count * imageSize));
    std::memcpy(d.pixels.data(), a->bytes.data(), d.pixels.size() * 4);
    return d;
  }

  auto ds = loadDataset(spec, Split::Train);
  if (!ds)
    return ds.error();
  if (ds->channels != shape[0] || ds->height != shape[1] ||
      ds->width != shape[2])
    return makeError(spec, ": images are ", ds->channels, "×", ds->height, "×",
                     ds->width, " but the model takes ", shapeText(shape));
  d.source = ds->name;
  d.count = std::min(limit, ds->count);
  d.pixels.resize(size_t(d.count * imageSize));
  for (int64_t i = 0; i < d.count; ++i)
    imageAsFloat(*ds, i, d.pixels.data() + i * imageSize);
  return d;
}

} // namespace mars::data
