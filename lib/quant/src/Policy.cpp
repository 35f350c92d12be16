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

} // namespace mars::quant
