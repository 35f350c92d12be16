// `marsc compile`'s options as the compiler takes them.
#include "mars/passes/CompileOptions.h"

#include "mars/passes/PassManager.h"

#include <sstream>

namespace mars::passes {

Expected<CalibMethod> parseCalibMethod(const std::string &name) {
  if (name == "percentile")
    return CalibMethod::Percentile;
  if (name != "minmax")
    return makeError("--calib-method must be minmax or percentile, got '", name,
                     "'");
  return CalibMethod::MinMax;
}

Status checkCompileOptions(const CompileOptions &options) {
  // Written so that NaN fails too.
  if (!(options.prune >= 0 && options.prune < 1))
    return makeError("--prune must be in [0, 1), got ", options.prune);
  if (!(options.percentile >= 50 && options.percentile <= 100))
    return makeError("--percentile must be in [50, 100], got ",
                     options.percentile);
  return Status::success();
}

std::vector<std::string> parsePipeline(const std::string &list) {
  if (list.empty())
    return defaultPipeline();
  std::vector<std::string> out;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty())
      out.push_back(item);
  return out;
}

std::string passListHelp() {
  std::string text = "Passes (default pipeline in this order):\n";
  for (const PassInfo &p : registeredPasses())
    text += std::string("  ") + p.name + ": " + p.description + "\n";
  return text;
}

std::string defaultProgramPath(const std::string &model) {
  const std::string ext = ".onnx";
  if (model.size() > ext.size() &&
      model.compare(model.size() - ext.size(), ext.size(), ext) == 0)
    return model.substr(0, model.size() - ext.size()) + ".bin";
  return model + ".bin";
}

} // namespace mars::passes
