#pragma once
// Integer evaluation over a dataset and weight-memory statistics of the
// compressed model. No LibTorch: plain lib/quant.

#include "mars/arch/ArchSpec.h"
#include "mars/data/Dataset.h"
#include "mars/quant/IntegerNet.h"
#include "mars/train/Train.h"

namespace mars::train {

/// Number of the first `count` images of `d` whose integer prediction
/// (quant::argmaxClass) equals the label. Images are split over `threads`.
int64_t countCorrectInteger(const quant::IntegerNet &net,
                            const data::Dataset &d, int64_t count, int threads);

/// Bits, CIM groups and weight memory of every Conv layer.
std::vector<LayerSummary> summarizeLayers(const quant::IntegerNet &net,
                                          const arch::ArchSpec &arch);

} // namespace mars::train
