#include "mars/quant/Policy.h"

#include <cmath>

namespace mars::quant {

double avgPoolScaleFactor(bool powerOfTwo) {
  return powerOfTwo ? 1.0 : 1.0 + std::ldexp(1.0, -16);
}

double nearestPowerOfTwo(double scale) {
  return std::exp2(std::nearbyint(std::log2(scale)));
}

double avgPoolOutputScale(double inputScale, bool powerOfTwo) {
  return double(float(inputScale * avgPoolScaleFactor(powerOfTwo)));
}

double biasFittingWeightScale(double weightScale, double bias,
                              double inputScale, bool powerOfTwo) {
  const double need = std::fabs(bias) / (inputScale * kMaxBiasQuanta);
  // Not finite when inputScale is 0: nothing to fit then.
  if (!std::isfinite(need) || need <= weightScale)
    return weightScale;
  if (powerOfTwo)
    return std::exp2(std::ceil(std::log2(need)));
  // float32 (the QDQ file's type) may round down: step up one ulp if so.
  float s = float(need);
  if (double(s) < need)
    s = std::nextafter(s, INFINITY);
  return s;
}

} // namespace mars::quant
