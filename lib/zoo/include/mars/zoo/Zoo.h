#pragma once
/// \file
/// The model zoo: standard CNNs built directly as IR graphs with fresh,
/// seeded weights, for tests, benchmarks and `marsc zoo`.

#include "mars/ir/Graph.h"
#include "mars/support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mars::zoo {

/// How to build a model. Unset fields take the model's defaults (see
/// ModelInfo); set fields are validated ("vgg16: input 3x16x16 is too small").
struct ModelOptions {
  std::optional<int64_t> channels; ///< Input channels.
  std::optional<int64_t> height;   ///< Input height.
  std::optional<int64_t> width;    ///< Input width.
  std::optional<int64_t> classes;  ///< Number of output classes.
  int64_t batch = 1;
  /// Scales every hidden layer's width (channels and hidden features),
  /// rounding to the nearest integer and keeping at least 1.
  double widthMultiplier = 1.0;
  /// Seeds every weight; the same seed gives byte-identical models.
  uint64_t seed = 0;
};

/// A model the zoo can build, with its default input and classes.
struct ModelInfo {
  std::string name;
  std::string description;
  int64_t channels, height, width, classes;
};

/// Every model, in the order `marsc zoo --list` prints them.
const std::vector<ModelInfo> &listModels();

/// Builds model `name`: Conv (no bias) → BatchNormalization → Relu blocks,
/// weights initialised like PyTorch's defaults (Kaiming-uniform with
/// a = sqrt(5), uniform biases) and BatchNormalization given non-trivial
/// seeded statistics (gamma ~ U(0.5,1.5), beta ~ U(-0.1,0.1), mean ~
/// U(-0.1,0.1), var ~ U(0.5,1.5)) so that numerical tests see real
/// normalisation. The graph is topologically sorted, shape-inferred and
/// verified. Unknown names and impossible options are errors.
Expected<ir::Graph> buildModel(const std::string &name,
                               const ModelOptions &options = {});

} // namespace mars::zoo
