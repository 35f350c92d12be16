// What `marsc train` writes and prints once training succeeded (Train.h:
// writeOutputs, summaryText). No LibTorch here.
#include "mars/support/AtomicFile.h"
#include "mars/train/Train.h"

#include <cstdio>

namespace mars::train {

Expected<std::string> writeOutputs(const TrainOptions &o,
                                   const TrainResult &result,
                                   const ModelWriter &writeModel) {
  if (!o.saveFloat.empty() && !result.floatModel)
    return makeError("--save-float: the float stage did not run in this "
                     "invocation (resumed after it?)");
  // All the files or none; OUTPUT is renamed into place last, so that its
  // presence means the set is complete: a Makefile (examples/dse) whose
  // target is OUTPUT never sees a trained model without its report.
  AtomicFileSet files;
  // Temporaries of a run killed while writing these files.
  for (const std::string &path : {o.saveFloat, o.reportPath(), o.output})
    if (!path.empty())
      removeStaleTemporaries(path);
  if (!o.saveFloat.empty()) {
    auto floatBytes = writeModel(*result.floatModel);
    if (!floatBytes)
      return floatBytes.error().withContext(o.saveFloat);
    MARS_TRY(files.add(o.saveFloat, *floatBytes));
  }
  std::string report = reportJson(o, result);
  MARS_TRY(files.add(o.reportPath(), report));
  auto compressed = writeModel(result.compressed);
  if (!compressed)
    return compressed.error().withContext(o.output);
  MARS_TRY(files.add(o.output, *compressed));
  MARS_TRY(files.commit());
  return report;
}

std::string summaryText(const TrainOptions &o, const TrainResult &r) {
  const double n = double(r.testCount);
  char buffer[512];
  std::string text;
  std::snprintf(buffer, sizeof buffer,
                "float accuracy      %.2f%% (%lld/%lld)\n",
                100.0 * r.floatCorrect / n, (long long)r.floatCorrect,
                (long long)r.testCount);
  text += buffer;
  std::snprintf(buffer, sizeof buffer,
                "integer accuracy    %.2f%% (%lld/%lld), W%dA%d, %.1f%% of CIM "
                "groups zero\n",
                100.0 * r.integerCorrect / n, (long long)r.integerCorrect,
                (long long)r.testCount, o.wbits, o.abits,
                100.0 * r.groupSparsity);
  text += buffer;
  std::snprintf(buffer, sizeof buffer, "accuracy change     %+.2f points\n",
                100.0 * (r.integerCorrect - r.floatCorrect) / n);
  text += buffer;
  // The paths may be long: they are appended, not formatted into the buffer.
  std::snprintf(buffer, sizeof buffer, " (%.1f s)\n", r.seconds);
  return text + "wrote " + o.output + " and " + o.reportPath() + buffer;
}

} // namespace mars::train
