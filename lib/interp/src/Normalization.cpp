/// \file
/// BatchNormalization over [N, C, D1, ...], per channel C.
///
/// Inference: y = scale * (x - mean) / sqrt(var + epsilon) + B with the
/// running statistics from inputs 3 and 4.
///
/// training_mode=1 (ONNX opset 14/15): the statistics are the batch's own,
/// mean and *biased* variance over N and the spatial dimensions, and the
/// optional outputs are the updated running statistics
///   running_mean = mean_in * momentum + batch_mean * (1 - momentum)
///   running_var  = var_in  * momentum + batch_var  * (1 - momentum)
/// (biased batch_var too, as the ONNX reference implementation computes).

#include "DTypeDispatch.h"
#include "Kernels.h"

#include <cmath>
#include <vector>

namespace mars::interp {

namespace {

/// The kernel in T (float, or double in Precision::Float64).
template <typename T> Status compute(const KernelArgs &args) {
  const ir::Tensor &x = args.input(0);
  ir::Tensor &y = args.output(0);
  if (x.shape().size() < 2)
    return makeError("input rank ", x.shape().size(), " is below 2");
  MARS_CHECK(y.shape() == x.shape(), "BatchNormalization output shape");
  const int64_t n = x.shape()[0], c = x.shape()[1];
  const int64_t inner = n * c == 0 ? 0 : x.numElements() / (n * c);
  for (size_t i = 1; i <= 4; ++i)
    if (args.input(i).numElements() != c)
      return makeError("input ", i, " has ", args.input(i).numElements(),
                       " elements for ", c, " channels");
  const T *scale = args.input(1).data<T>();
  const T *shift = args.input(2).data<T>();
  const T *runMean = args.input(3).data<T>();
  const T *runVar = args.input(4).data<T>();
  const double epsilon = args.attrs().getFloat("epsilon", 1e-5f);
  const bool training = args.attrs().getInt("training_mode", 0) != 0;
  const double momentum = args.attrs().getFloat("momentum", 0.9f);
  if (!training && (args.hasOutput(1) || args.hasOutput(2)))
    return makeError("running statistics outputs require training_mode=1");

  const T *px = x.data<T>();
  T *py = y.data<T>();
  for (int64_t ch = 0; ch < c; ++ch) {
    double mean = runMean[ch], var = runVar[ch];
    if (training) {
      const double count = static_cast<double>(n * inner);
      double sum = 0, sumSq = 0;
      for (int64_t img = 0; img < n; ++img)
        for (int64_t i = 0; i < inner; ++i)
          sum += px[(img * c + ch) * inner + i];
      mean = count > 0 ? sum / count : 0.0;
      for (int64_t img = 0; img < n; ++img)
        for (int64_t i = 0; i < inner; ++i) {
          const double d = px[(img * c + ch) * inner + i] - mean;
          sumSq += d * d;
        }
      var = count > 0 ? sumSq / count : 0.0;
      if (args.hasOutput(1))
        args.output(1).data<T>()[ch] =
            static_cast<T>(runMean[ch] * momentum + mean * (1 - momentum));
      if (args.hasOutput(2))
        args.output(2).data<T>()[ch] =
            static_cast<T>(runVar[ch] * momentum + var * (1 - momentum));
    }
    const double a = scale[ch] / std::sqrt(var + epsilon);
    const double b = shift[ch] - a * mean;
    for (int64_t img = 0; img < n; ++img) {
      const T *src = px + (img * c + ch) * inner;
      T *dst = py + (img * c + ch) * inner;
      for (int64_t i = 0; i < inner; ++i)
        dst[i] = static_cast<T>(a * src[i] + b);
    }
  }
  return Status::success();
}

} // namespace

Status runBatchNormalization(const KernelArgs &args) {
  const ir::DType dtype = args.input(0).dtype();
  bool same = dtype == ir::DType::Float32 || dtype == ir::DType::Float64;
  for (const ir::Tensor *t : args.inputs)
    same = same && (!t || t->dtype() == dtype);
  if (!same)
    return makeError("only float32 BatchNormalization is supported");
  return visitFloatDType(
      dtype, [&](auto zero) { return compute<decltype(zero)>(args); });
}

} // namespace mars::interp
