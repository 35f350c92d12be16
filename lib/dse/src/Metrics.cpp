// The metric catalogue: one list feeds the table's columns, the JSON
// readers' field paths (Results.cpp) and the Pareto directions.
#include "mars/dse/Metrics.h"

namespace mars::dse {

const char *kindName(ResultKind kind) {
  switch (kind) {
  case ResultKind::Train: return "train";
  case ResultKind::Compile: return "compile";
  case ResultKind::Run: return "run";
  }
  return "?";
}

const std::vector<MetricInfo> &metricCatalogue() {
  using K = ResultKind;
  using D = Direction;
  static const std::vector<MetricInfo> metrics = {
      {"train_float_acc", K::Train, D::Maximise, "accuracy.float"},
      {"train_fake_quant_acc", K::Train, D::Maximise, "accuracy.fake_quant"},
      {"train_integer_acc", K::Train, D::Maximise, "accuracy.integer"},
      {"group_sparsity", K::Train, D::Maximise, "group_sparsity"},
      {"compression", K::Train, D::Maximise, "weight_memory.compression"},
      {"adc_in_loop", K::Train, D::None, "adc.in_loop (0/1)"},
      {"scheduled_cycles", K::Compile, D::Minimise, "scheduled_cycles"},
      {"bound_cycles", K::Compile, D::Minimise, "bound_cycles"},
      {"capacity_bound_cycles", K::Compile, D::Minimise,
       "capacity_bound.cycles"},
      {"program_bytes", K::Compile, D::Minimise,
       "statistics: emit / program bytes"},
      {"acc", K::Run, D::Maximise, "functional.accuracy"},
      {"test_images", K::Run, D::None, "functional.images"},
      {"cycles", K::Run, D::Minimise, "timing.cycles"},
      {"latency_us", K::Run, D::Minimise, "timing.latency_us"},
      {"fps", K::Run, D::Maximise, "timing.fps"},
      {"energy_per_image", K::Run, D::Minimise,
       "timing.energy.per_image_uj (uJ)"},
      {"tops_per_watt_effective", K::Run, D::Maximise,
       "timing.energy.tops_per_watt_effective"},
      {"tops_per_watt_executed", K::Run, D::Maximise,
       "timing.energy.tops_per_watt_executed"},
      {"macro_utilisation", K::Run, D::Maximise, "timing.macro_utilisation"},
  };
  return metrics;
}

const MetricInfo *findMetric(const std::string &name) {
  for (const MetricInfo &m : metricCatalogue())
    if (name == m.name)
      return &m;
  return nullptr;
}

} // namespace mars::dse
