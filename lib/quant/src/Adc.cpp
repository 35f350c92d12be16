// The ADC model's small pieces shared by the integer reference and training:
// how inputs are sliced, and how an ADC is named in files.
#include "mars/quant/IntegerNet.h"

#include <algorithm>

namespace mars::quant {

std::vector<InputSlice> inputSlices(int bits, bool isSigned, int perCycle) {
  std::vector<InputSlice> slices;
  const int magnitude = isSigned ? bits - 1 : bits;
  for (int b = 0; b < magnitude; b += perCycle)
    slices.push_back({b, std::min(perCycle, magnitude - b), false});
  if (isSigned)
    slices.push_back({bits - 1, 1, true});
  return slices;
}

std::string AdcModel::describe() const {
  if (!saturates())
    return "exact";
  return "wl_on=" + std::to_string(rowsPerGroup) +
         " adc_bits=" + std::to_string(adcBits) +
         " input_bits_per_cycle=" + std::to_string(inputBitsPerCycle);
}

std::string adcMismatchNote(const std::string &trainedFor,
                            const AdcModel &target) {
  const std::string here = target.describe();
  if (trainedFor == here || (trainedFor.empty() && !target.saturates()))
    return "";
  if (trainedFor.empty())
    return "the model was not trained through this arch's saturating ADC (" +
           here +
           "): what the chip computes differs from the QDQ model's "
           "exact sums (train with `marsc train --arch` to put it in the "
           "loop)";
  return "the model was trained for ADC '" + trainedFor +
         "' but this arch's is '" + here +
         "': accuracy will differ from training's (retrain with "
         "`marsc train --arch` for this arch)";
}

} // namespace mars::quant
