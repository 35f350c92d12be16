// Inputs and output summaries for `marsc eval`.
#include "mars/interp/Outputs.h"

#include "mars/support/Random.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

namespace mars::interp {

std::vector<ir::Tensor> randomInputs(const ir::Graph &graph, uint64_t seed) {
  Random random(seed);
  std::vector<ir::Tensor> tensors;
  for (ir::ValueId id : graph.inputs) {
    const ir::TensorType &type = graph.value(id).type;
    ir::Tensor t(type.dtype, type.shape);
    for (int64_t i = 0; i < t.numElements(); ++i) {
      double u = random.unit();
      t.setFromDouble(i, ir::isInteger(type.dtype) ? double(int(u * 128)) : u);
    }
    tensors.push_back(std::move(t));
  }
  return tensors;
}

OutputSummary summarize(const ir::Tensor &t) {
  OutputSummary s;
  int64_t n = t.numElements();
  if (n == 0)
    return s;
  s.min = s.max = t.getAsDouble(0);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    double v = t.getAsDouble(i);
    s.min = std::min(s.min, v);
    s.max = std::max(s.max, v);
    sum += v;
  }
  s.mean = sum / double(n);
  if (t.shape().size() != 2 || t.shape()[0] != 1)
    return s;
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  size_t k = std::min<size_t>(5, order.size());
  // Ties keep the lower index first, so the ranking is deterministic.
  std::partial_sort(order.begin(), order.begin() + k, order.end(),
                    [&](int64_t a, int64_t b) {
                      double va = t.getAsDouble(a), vb = t.getAsDouble(b);
                      return va > vb || (va == vb && a < b);
                    });
  for (size_t i = 0; i < k; ++i)
    s.top.emplace_back(order[i], t.getAsDouble(order[i]));
  return s;
}

std::string formatOutputs(const ir::Graph &graph,
                          const std::vector<ir::Tensor> &outputs,
                          double millis) {
  std::string text;
  char buf[128];
  for (size_t i = 0; i < outputs.size(); ++i) {
    const ir::Tensor &t = outputs[i];
    OutputSummary s = summarize(t);
    std::snprintf(buf, sizeof buf, "  min %.6g  max %.6g  mean %.6g\n", s.min,
                  s.max, s.mean);
    text += "output '" + graph.value(graph.outputs[i]).name +
            "': " + t.type().toString() + buf;
    if (s.top.empty())
      continue;
    text += "  top-" + std::to_string(s.top.size()) + ":";
    for (auto [index, value] : s.top) {
      std::snprintf(buf, sizeof buf, " %lld (%.6g)",
                    static_cast<long long>(index), value);
      text += buf;
    }
    text += "\n";
  }
  std::snprintf(buf, sizeof buf, "time: %.3f ms\n", millis);
  return text + buf;
}

} // namespace mars::interp
