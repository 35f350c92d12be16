#include "OnnxTestCase.h"

#include "mars/interp/Interpreter.h"
#include "mars/ir/Op.h"
#include "mars/onnx/Import.h"
#include "mars/onnx/TensorFile.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

namespace fs = std::filesystem;

namespace mars::conformance {

namespace {

constexpr double kRelTolerance = 1e-3;
constexpr double kAbsTolerance = 1e-7;

/// What the test needs to know about the model, read with onnx_proto alone.
struct ModelInfo {
  bool supported = true;
  /// Graph inputs that are not initializers, in order: input_N.pb is the
  /// N-th of them.
  std::vector<std::string> feeds;
  /// The subset of `feeds` to bind as initializers.
  std::set<std::string> bound;
  std::vector<std::string> outputs;
};

bool readModel(const std::string &path, ::onnx::ModelProto &model) {
  std::ifstream in(path, std::ios::binary);
  return in && model.ParseFromIstream(&in);
}

/// Inputs that the importer needs as constants to know static shapes.
bool mustBind(const ::onnx::GraphProto &graph,
              const ::onnx::ValueInfoProto &input) {
  if (input.type().tensor_type().elem_type() ==
      ::onnx::TensorProto_DataType_INT64)
    return true;
  static const std::set<std::string> shapeOperandOps = {"Clip", "Dropout",
                                                        "Pad", "Reshape"};
  bool read = false;
  for (const auto &node : graph.node())
    for (int i = 0; i < node.input_size(); ++i) {
      if (node.input(i) != input.name())
        continue;
      if (i == 0 || !shapeOperandOps.count(node.op_type()))
        return false;
      read = true;
    }
  return read;
}

ModelInfo inspectModel(const ::onnx::ModelProto &model) {
  ModelInfo info;
  const auto &graph = model.graph();
  for (const auto &node : graph.node())
    // The importer's own list: ReduceMean's tests run too (and are skipped
    // for the documented limitation where it is no global pool).
    if (!mars::onnx::isImportedOp(node.op_type()))
      info.supported = false;
  std::set<std::string> initializers;
  for (const auto &init : graph.initializer())
    initializers.insert(init.name());
  for (const auto &input : graph.input()) {
    if (initializers.count(input.name()))
      continue;
    info.feeds.push_back(input.name());
    if (mustBind(graph, input))
      info.bound.insert(input.name());
  }
  for (const auto &output : graph.output())
    info.outputs.push_back(output.name());
  return info;
}

std::vector<fs::path> dataSets(const fs::path &dir) {
  std::vector<fs::path> sets;
  for (const auto &entry : fs::directory_iterator(dir))
    if (entry.is_directory() &&
        entry.path().filename().string().rfind("test_data_set_", 0) == 0)
      sets.push_back(entry.path());
  std::sort(sets.begin(), sets.end());
  return sets;
}

std::string pbPath(const fs::path &set, const char *kind, size_t i) {
  return (set / (std::string(kind) + "_" + std::to_string(i) + ".pb")).string();
}

/// Compares one output; returns "" or a description of the worst element.
std::string compare(const std::string &name, const ir::Tensor &actual,
                    const ir::Tensor &expected) {
  if (actual.dtype() != expected.dtype() || actual.shape() != expected.shape())
    return "output '" + name + "': got " + actual.type().toString() +
           ", expected " + expected.type().toString();
  const bool exact = ir::isInteger(expected.dtype());
  double worstExcess = 0, worstError = 0;
  int64_t worst = -1;
  for (int64_t i = 0; i < expected.numElements(); ++i) {
    const double a = actual.getAsDouble(i), e = expected.getAsDouble(i);
    if (std::isnan(a) && std::isnan(e))
      continue;
    if (exact && actual.getAsInt64(i) == expected.getAsInt64(i))
      continue;
    const double error = a == e ? 0.0 : std::fabs(a - e);
    const double excess =
        exact ? error : error - kAbsTolerance - kRelTolerance * std::fabs(e);
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
      worstError = error;
    }
  }
  if (worst < 0)
    return "";
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "output '%s'[%lld]: got %.9g, expected %.9g (|error| %.3g)",
                name.c_str(), static_cast<long long>(worst),
                actual.getAsDouble(worst), expected.getAsDouble(worst),
                worstError);
  return buf;
}

/// Runs one data set; returns "" or why it failed. Sets `rejection` when
/// the importer refused the model.
std::string runDataSet(const fs::path &dir, const fs::path &set,
                       const ModelInfo &info, std::string &rejection) {
  mars::onnx::ImportOptions options;
  std::map<std::string, size_t> feedIndex;
  for (size_t i = 0; i < info.feeds.size(); ++i) {
    feedIndex[info.feeds[i]] = i;
    if (!info.bound.count(info.feeds[i]))
      continue;
    // A tensor the file reader cannot represent (a bool training_mode) is
    // left unbound, so that the importer's rejection names the real reason.
    auto tensor = mars::onnx::readTensorProtoFile(pbPath(set, "input", i));
    if (tensor)
      options.bindInputs[info.feeds[i]] = tensor.take();
  }
  auto graph =
      mars::onnx::importModelFile((dir / "model.onnx").string(), options);
  if (!graph) {
    // Drop the "<dir>/model.onnx: " prefix; the summary names the test.
    rejection = graph.error().message();
    const std::string prefix = (dir / "model.onnx").string() + ": ";
    if (rejection.rfind(prefix, 0) == 0)
      rejection.erase(0, prefix.size());
    return rejection;
  }

  std::vector<ir::Tensor> inputs;
  for (ir::ValueId id : graph->inputs) {
    const std::string &name = graph->value(id).name;
    auto it = feedIndex.find(name);
    if (it == feedIndex.end())
      return "graph input '" + name + "' is not an input of the model";
    auto tensor =
        mars::onnx::readTensorProtoFile(pbPath(set, "input", it->second));
    if (!tensor)
      return tensor.error().message();
    inputs.push_back(tensor.take());
  }
  auto outputs = interp::run(*graph, inputs);
  if (!outputs)
    return outputs.error().message();
  if (outputs->size() != info.outputs.size())
    return "the graph has " + std::to_string(outputs->size()) +
           " outputs, the model " + std::to_string(info.outputs.size());
  for (size_t i = 0; i < info.outputs.size(); ++i) {
    const std::string &name = graph->value(graph->outputs[i]).name;
    auto expected = mars::onnx::readTensorProtoFile(pbPath(set, "output", i));
    if (!expected)
      return expected.error().message();
    std::string mismatch = compare(name, (*outputs)[i], *expected);
    if (!mismatch.empty())
      return set.filename().string() + ": " + mismatch;
  }
  return "";
}

} // namespace

std::string acceptableRejection(const std::string &message) {
  static const std::vector<std::pair<const char *, const char *>> known = {
      {"only 2-D", "1-D/3-D spatial op"},
      {"Indices output", "MaxPool Indices output"},
      {"Dropout in training mode", "training-mode Dropout"},
      {"unsupported dtype", "unsupported dtype"},
      {"not a tensor", "non-tensor value (sequence/optional)"},
      {"only mode 'constant'", "Pad mode other than constant"},
      {"only the mean over H and W", "ReduceMean that is no global pool"},
      {"external data", "external data"},
      // ShapeInference.h: the IR has no zero-sized dimensions.
      {"non-positive dimension", "zero-sized tensor"},
  };
  for (const auto &[needle, category] : known)
    if (message.find(needle) != std::string::npos)
      return category;
  return "";
}

CaseResult runOnnxTestCase(const std::string &dir) {
  ::onnx::ModelProto model;
  if (!readModel((fs::path(dir) / "model.onnx").string(), model))
    return {Outcome::Failed, "cannot parse model.onnx"};
  const ModelInfo info = inspectModel(model);
  if (!info.supported)
    return {Outcome::Unsupported, ""};
  const auto sets = dataSets(dir);
  if (sets.empty())
    return {Outcome::Failed, "no test_data_set_*"};
  for (const fs::path &set : sets) {
    std::string rejection;
    std::string failure = runDataSet(dir, set, info, rejection);
    if (!rejection.empty()) {
      if (acceptableRejection(rejection).empty())
        return {Outcome::Failed, "importer rejected: " + rejection, false};
      return {Outcome::Skipped, rejection, false};
    }
    if (!failure.empty())
      return {Outcome::Failed, failure};
  }
  return {Outcome::Passed, ""};
}

} // namespace mars::conformance
