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
      auto out = quant::runInteger(net, quant::quantizeInput(net, image.data()));
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
    arch::GroupGeometry g = arch::groupGeometry(
        arch, l.weightBits, ov.channels, inPerGroup, l.kernelH, l.kernelW);
    std::vector<bool> nonZero(static_cast<size_t>(g.numGroups()), false);
    std::vector<int64_t> size(static_cast<size_t>(g.numGroups()), 0);
    size_t k = 0;
    for (int oc = 0; oc < ov.channels; ++oc)
      for (int ic = 0; ic < inPerGroup; ++ic)
        for (int ky = 0; ky < l.kernelH; ++ky)
          for (int kx = 0; kx < l.kernelW; ++kx) {
            int64_t grp = g.groupOf(oc, ic, ky, kx);
            ++size[grp];
            if (l.weights[k++] != 0)
              nonZero[grp] = true;
          }
    LayerSummary s;
    s.name = l.name;
    s.weightBits = l.weightBits;
    s.inputBits = in.quant.bits;
    s.groups = g.numGroups();
    s.denseWeightBits = int64_t(l.weights.size()) * l.weightBits;
    for (size_t i = 0; i < nonZero.size(); ++i) {
      if (!nonZero[i]) {
        ++s.zeroGroups;
        continue;
      }
      s.storedWeightBits += size[i] * l.weightBits;
    }
    s.indexBits = g.rowGroups() * g.colGroups();
    out.push_back(s);
  }
  return out;
}

} // namespace mars::train
