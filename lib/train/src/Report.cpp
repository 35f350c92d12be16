// compressed.report.json: what was trained and what it costs in memory.

#include "mars/quant/IntegerNet.h"
#include "mars/train/Train.h"

#include <nlohmann/json.hpp>

namespace mars::train {

std::string reportJson(const TrainOptions &o, const TrainResult &r) {
  nlohmann::ordered_json j;
  j["model"] = o.modelPath.empty() ? "lenet5 (built in)" : o.modelPath;
  j["data"] = o.data;
  j["arch"] = o.arch.name;
  j["quantization"] = {{"wbits", o.wbits},
                       {"abits", o.abits},
                       {"first_last_bits", o.firstLastBits},
                       {"power_of_two_scales", o.powerOfTwoScales}};
  const quant::AdcModel adc{o.arch.macro.wlOn, o.arch.macro.adcBits,
                            o.arch.macro.inputBitsPerCycle};
  // The ADC QAT computed through (the QDQ file's kTrainedAdcKey) and the
  // one the integer evaluation used (the arch's).
  j["adc"] = {{"arch", adc.describe()},
              {"saturates", adc.saturates()},
              {"in_loop", adc.saturates() && o.adcInLoop}};
  j["sparsity_target"] = o.sparsity;
  j["seed"] = o.seed;
  j["threads"] = r.threads;
  j["world_size"] = o.worldSize;
  const double n = double(r.testCount);
  j["accuracy"] = {{"test_images", r.testCount},
                   {"float_correct", r.floatCorrect},
                   {"float", r.floatCorrect / n},
                   {"fake_quant_correct", r.qatCorrect},
                   {"fake_quant", r.qatCorrect / n},
                   {"integer_correct", r.integerCorrect},
                   {"integer", r.integerCorrect / n},
                   {"integer_minus_float_points",
                    100.0 * (r.integerCorrect - r.floatCorrect) / n}};
  int64_t groups = 0, zero = 0, dense = 0, stored = 0, index = 0;
  nlohmann::ordered_json layers = nlohmann::ordered_json::array();
  for (const LayerSummary &l : r.layers) {
    groups += l.groups;
    zero += l.zeroGroups;
    dense += l.denseWeightBits;
    stored += l.storedWeightBits;
    index += l.indexBits;
    layers.push_back(
        {{"name", l.name},
         {"weight_bits", l.weightBits},
         {"input_bits", l.inputBits},
         {"cim_groups", l.groups},
         {"zero_groups", l.zeroGroups},
         {"group_sparsity", l.groups ? double(l.zeroGroups) / l.groups : 0.0},
         {"dense_weight_bytes", l.denseWeightBits / 8.0},
         {"stored_weight_bytes", l.storedWeightBits / 8.0},
         {"index_code_bytes", l.indexBits / 8.0}});
  }
  j["group_sparsity"] = r.groupSparsity;
  j["weight_memory"] = {
      {"dense_bytes", dense / 8.0},
      {"stored_bytes", stored / 8.0},
      {"index_code_bytes", index / 8.0},
      {"compression",
       (stored + index) > 0 ? double(dense) / double(stored + index) : 0.0}};
  j["cim_groups"] = {{"total", groups}, {"zero", zero}};
  j["layers"] = layers;
  nlohmann::ordered_json curve = nlohmann::ordered_json::array();
  for (const EpochRecord &e : r.curve)
    curve.push_back({{"stage", e.stage},
                     {"epoch", e.epoch},
                     {"loss", e.loss},
                     {"train_accuracy", e.trainAccuracy},
                     {"test_accuracy", e.testAccuracy},
                     {"learning_rate", e.learningRate},
                     {"group_sparsity", e.groupSparsity},
                     {"seconds", e.seconds},
                     {"images_per_second", e.imagesPerSecond}});
  j["training_curve"] = curve;
  j["seconds"] = r.seconds;
  return j.dump(2) + "\n";
}

} // namespace mars::train
