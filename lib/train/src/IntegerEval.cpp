#include "IntegerEval.h"

#include "mars/arch/CimGroups.h"
#include "mars/quant/Execute.h"

#include <algorithm>
#include <thread>

namespace mars::train {

int64_t countCorrectInteger(const quant::IntegerNet &net,
                            const data::Dataset &d, int64_t count,
                            int threads) {
  count = std::min(count, d.count);
  threads = std::max(1, threads);
  std::vector<int64_t> correct(static_cast<size_t>(threads), 0);
  auto work = [&](int t) {
    std::vector<float> image(static_cast<size_t>(d.imageSize()));
    for (int64_t i = t; i < count; i += threads) {
      data::imageAsFloat(d, i, image.data());
      auto out =
          quant::runInteger(net, quant::quantizeInput(net, image.data()));
      if (quant::argmaxClass(net, out) == d.labels[i])
        ++correct[t];
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t)
    pool.emplace_back(work, t);
  work(0);
  for (auto &th : pool)
    th.join();
  int64_t total = 0;
  for (int64_t c : correct)
    total += c;
  return total;
}

std::vector<LayerSummary> summarizeLayers(const quant::IntegerNet &net,
                                          const arch::ArchSpec &arch) {
  std::vector<LayerSummary> out;
  for (const quant::IntLayer &l : net.layers) {
    if (l.op != quant::IntOp::Conv)
      continue;
    const quant::IntValue &in = net.value(l.inputs[0]);
    const quant::IntValue &ov = net.value(l.output);
    const int inPerGroup = in.channels / l.groups;
    arch::GroupGeometry g =
        arch::groupGeometry(arch, l.weightBits, ov.channels, in.channels,
                            l.groups, l.kernelH, l.kernelW);
    arch::GroupOccupancy o =
        arch::groupOccupancy(g, [&](int oc, int ic, int ky, int kx) {
          return l.weights[((size_t(oc) * inPerGroup + ic) * l.kernelH + ky) *
                               l.kernelW +
                           kx] != 0;
        });
    LayerSummary s;
    s.name = l.name;
    s.weightBits = l.weightBits;
    s.inputBits = in.quant.bits;
    s.groups = g.numGroups();
    s.denseWeightBits = int64_t(l.weights.size()) * l.weightBits;
    // Zero groups include those off a grouped layer's block diagonal: the
    // same groups the compiled program leaves out.
    for (size_t i = 0; i < o.nonZero.size(); ++i) {
      if (!o.nonZero[i]) {
        ++s.zeroGroups;
        continue;
      }
      s.storedWeightBits += o.positions[i] * l.weightBits;
    }
    s.indexBits = g.rowGroups() * g.colGroups();
    out.push_back(s);
  }
  return out;
}

} // namespace mars::train
