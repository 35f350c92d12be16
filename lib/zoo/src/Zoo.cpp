#include "mars/zoo/Zoo.h"

#include "Models.h"

#include <cmath>

namespace mars::zoo {

namespace {

/// Generous bounds that keep every graph within inferShapes' 2^31-element
/// limit for activations; anything beyond them is a typo, not a model.
constexpr int64_t kMaxBatch = 1024;
constexpr int64_t kMaxChannels = 1024;
constexpr int64_t kMaxSize = 1024;
constexpr int64_t kMaxClasses = 100000;
constexpr double kMaxWidthMultiplier = 8.0;

using BuildFn = Expected<ir::Graph> (*)(const ResolvedOptions &);

struct Entry {
  ModelInfo info;
  BuildFn build;
};

const std::vector<Entry> &entries() {
  static const std::vector<Entry> list = {
      {{"lenet5", "LeNet-5 with BatchNorm, MNIST-sized", 1, 28, 28, 10},
       buildLeNet5},
      {{"vgg-small", "VGG-small: 6 conv (128-512) and one linear layer", 3, 32,
        32, 10},
       buildVggSmall},
      {{"vgg16", "VGG-16 for CIFAR: 13 conv, 5 max pools, one linear layer", 3,
        32, 32, 10},
       buildVgg16},
      {{"resnet18", "ResNet-18 for CIFAR: 3x3 stem, no max pool, 8 blocks", 3,
        32, 32, 10},
       buildResNet18},
      {{"resnet20", "ResNet-20 for CIFAR: 9 blocks of 16-64 channels", 3, 32,
        32, 10},
       buildResNet20},
      {{"mobilenet-tiny",
        "MobileNet-style, MNIST-sized: depthwise and grouped 3x3 convs", 1, 28,
        28, 10},
       buildMobileNetTiny},
  };
  return list;
}

/// Checks that `value` lies in [1, max], naming the option.
Status checkRange(const std::string &model, const char *option, int64_t value,
                  int64_t max) {
  if (value >= 1 && value <= max)
    return Status::success();
  return makeError(model, ": ", option, " must be between 1 and ", max,
                   ", got ", value);
}

Expected<ResolvedOptions> resolve(const ModelInfo &info,
                                  const ModelOptions &options) {
  ResolvedOptions r;
  r.batch = options.batch;
  r.channels = options.channels.value_or(info.channels);
  r.height = options.height.value_or(info.height);
  r.width = options.width.value_or(info.width);
  r.classes = options.classes.value_or(info.classes);
  r.widthMultiplier = options.widthMultiplier;
  r.seed = options.seed;
  MARS_TRY(checkRange(info.name, "batch", r.batch, kMaxBatch));
  MARS_TRY(checkRange(info.name, "channels", r.channels, kMaxChannels));
  MARS_TRY(checkRange(info.name, "height", r.height, kMaxSize));
  MARS_TRY(checkRange(info.name, "width", r.width, kMaxSize));
  MARS_TRY(checkRange(info.name, "classes", r.classes, kMaxClasses));
  if (!(r.widthMultiplier > 0 && r.widthMultiplier <= kMaxWidthMultiplier))
    return makeError(info.name, ": width multiplier must be in (0, ",
                     kMaxWidthMultiplier, "], got ", r.widthMultiplier);
  return r;
}

} // namespace

const std::vector<ModelInfo> &listModels() {
  static const std::vector<ModelInfo> infos = [] {
    std::vector<ModelInfo> out;
    for (const Entry &e : entries())
      out.push_back(e.info);
    return out;
  }();
  return infos;
}

Expected<ir::Graph> buildModel(const std::string &name,
                               const ModelOptions &options) {
  for (const Entry &e : entries()) {
    if (e.info.name != name)
      continue;
    auto resolved = resolve(e.info, options);
    if (!resolved)
      return resolved.error();
    return e.build(*resolved);
  }
  std::string known;
  for (const Entry &e : entries())
    known += (known.empty() ? "" : ", ") + e.info.name;
  return makeError("unknown model '", name, "' (known: ", known, ")");
}

} // namespace mars::zoo
