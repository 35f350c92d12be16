// Reading one marsc result file: kind by content, point by name, metrics by
// field path. Only the fields of Metrics.h are read; wall-clock times and
// per-layer arrays are ignored.
#include "mars/dse/Results.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <optional>
#include <sstream>

namespace mars::dse {

namespace {

using nlohmann::json;

bool hasObject(const json &root, const char *key) {
  auto it = root.find(key);
  return it != root.end() && it->is_object();
}

/// Reads typed fields of one file; errors name the file and the field.
class FieldReader {
public:
  FieldReader(const json &root, const std::string &path)
      : root_(root), path_(path) {}

  /// The field at the dotted `field` ("timing.energy.per_image_uj"), or
  /// nullptr when it or an enclosing object is absent or null.
  Expected<const json *> find(const std::string &field) const {
    const json *node = &root_;
    size_t begin = 0;
    while (true) {
      const size_t dot = field.find('.', begin);
      const std::string key = field.substr(begin, dot - begin);
      if (!node->is_object())
        return typeError(field.substr(0, begin - 1), *node, "an object");
      auto it = node->find(key);
      if (it == node->end() || it->is_null())
        return static_cast<const json *>(nullptr);
      node = &*it;
      if (dot == std::string::npos)
        return node;
      begin = dot + 1;
    }
  }

  Expected<std::optional<double>> number(const std::string &field) const {
    auto node = find(field);
    if (!node)
      return node.error();
    if (!*node)
      return std::optional<double>();
    if (!(*node)->is_number())
      return typeError(field, **node, "a number");
    return std::optional<double>((*node)->get<double>());
  }

  Expected<std::optional<double>> boolean(const std::string &field) const {
    auto node = find(field);
    if (!node)
      return node.error();
    if (!*node)
      return std::optional<double>();
    if (!(*node)->is_boolean())
      return typeError(field, **node, "a boolean");
    return std::optional<double>((*node)->get<bool>() ? 1.0 : 0.0);
  }

  Error typeError(const std::string &field, const json &node,
                  const char *expected) const {
    return makeError(path_, ": field '", field, "' is ", node.type_name(),
                     ", expected ", expected);
  }

private:
  const json &root_;
  const std::string &path_;
};

/// Copies `field` of the reader into `metrics[name]` when present.
Status copyNumber(const FieldReader &reader, const std::string &field,
                  const char *name, std::map<std::string, double> &metrics) {
  auto value = reader.number(field);
  if (!value)
    return value.error();
  if (*value)
    metrics[name] = **value;
  return Status::success();
}

Status trainMetrics(const FieldReader &r, std::map<std::string, double> &m) {
  MARS_TRY(copyNumber(r, "accuracy.float", "train_float_acc", m));
  MARS_TRY(copyNumber(r, "accuracy.fake_quant", "train_fake_quant_acc", m));
  MARS_TRY(copyNumber(r, "accuracy.integer", "train_integer_acc", m));
  MARS_TRY(copyNumber(r, "group_sparsity", "group_sparsity", m));
  MARS_TRY(copyNumber(r, "weight_memory.compression", "compression", m));
  auto inLoop = r.boolean("adc.in_loop");
  if (!inLoop)
    return inLoop.error();
  if (*inLoop)
    m["adc_in_loop"] = **inLoop;
  return Status::success();
}

Status compileMetrics(const FieldReader &r, std::map<std::string, double> &m) {
  MARS_TRY(copyNumber(r, "scheduled_cycles", "scheduled_cycles", m));
  MARS_TRY(copyNumber(r, "bound_cycles", "bound_cycles", m));
  MARS_TRY(copyNumber(r, "capacity_bound.cycles", "capacity_bound_cycles", m));
  auto statistics = r.find("statistics");
  if (!statistics)
    return statistics.error();
  if (!*statistics)
    return Status::success();
  const json &list = **statistics;
  if (!list.is_array())
    return r.typeError("statistics", list, "an array");
  for (size_t i = 0; i < list.size(); ++i) {
    const json &entry = list[i];
    const std::string where = "statistics[" + std::to_string(i) + "]";
    if (!entry.is_object())
      return r.typeError(where, entry, "an object");
    auto pass = entry.find("pass"), name = entry.find("name");
    if (pass == entry.end() || name == entry.end() || !pass->is_string() ||
        !name->is_string() || *pass != "emit" || *name != "program bytes")
      continue;
    auto value = entry.find("value");
    if (value == entry.end() || value->is_null())
      continue;
    if (!value->is_number())
      return r.typeError(where + ".value", *value, "a number");
    m["program_bytes"] = value->get<double>();
  }
  return Status::success();
}

Status runMetrics(const FieldReader &r, std::map<std::string, double> &m) {
  auto images = r.number("functional.images");
  if (!images)
    return images.error();
  auto correct = r.number("functional.correct");
  if (!correct)
    return correct.error();
  auto accuracy = r.number("functional.accuracy"); // type-checked always
  if (!accuracy)
    return accuracy.error();
  if (*images && **images > 0 && *correct && *accuracy)
    m["acc"] = **accuracy;
  if (*images)
    m["test_images"] = **images;
  MARS_TRY(copyNumber(r, "timing.cycles", "cycles", m));
  MARS_TRY(copyNumber(r, "timing.latency_us", "latency_us", m));
  MARS_TRY(copyNumber(r, "timing.fps", "fps", m));
  MARS_TRY(copyNumber(r, "timing.energy.per_image_uj", "energy_per_image", m));
  MARS_TRY(copyNumber(r, "timing.energy.tops_per_watt_effective",
                      "tops_per_watt_effective", m));
  MARS_TRY(copyNumber(r, "timing.energy.tops_per_watt_executed",
                      "tops_per_watt_executed", m));
  MARS_TRY(copyNumber(r, "timing.macro_utilisation", "macro_utilisation", m));
  return Status::success();
}

} // namespace

Expected<ResultKind> detectKind(const json &root, const std::string &path) {
  if (root.is_object()) {
    if (hasObject(root, "functional") && hasObject(root, "timing"))
      return ResultKind::Run;
    if (root.contains("scheduled_cycles") && root.contains("statistics"))
      return ResultKind::Compile;
    if (root.contains("accuracy") && root.contains("training_curve"))
      return ResultKind::Train;
  }
  return makeError(path, ": is not a marsc train, compile or run result "
                         "(expected the JSON of train --json, compile "
                         "--report --json or run --json)");
}

Expected<std::map<std::string, double>>
extractMetrics(const json &root, ResultKind kind, const std::string &path) {
  FieldReader reader(root, path);
  std::map<std::string, double> metrics;
  switch (kind) {
  case ResultKind::Train: MARS_TRY(trainMetrics(reader, metrics)); break;
  case ResultKind::Compile: MARS_TRY(compileMetrics(reader, metrics)); break;
  case ResultKind::Run: MARS_TRY(runMetrics(reader, metrics)); break;
  }
  return metrics;
}

Expected<ResultFile> parseResult(const std::string &path,
                                 const std::string &text) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error &e) {
    // "[json.exception.parse_error.101] parse error at line 3, column 5: ..."
    std::string what = e.what();
    const size_t bracket = what.find("] ");
    if (what.rfind("[json.exception", 0) == 0 && bracket != std::string::npos)
      what = what.substr(bracket + 2);
    return makeError(path, ": invalid JSON: ", what);
  }
  ResultFile file;
  file.path = path;
  auto kind = detectKind(root, path);
  if (!kind)
    return kind.error();
  file.kind = *kind;
  file.point = parsePoint(path);
  auto metrics = extractMetrics(root, file.kind, path);
  if (!metrics)
    return metrics.error();
  file.metrics = metrics.take();
  return file;
}

Expected<ResultFile> readResult(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return makeError(path, ": cannot read");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad())
    return makeError(path, ": cannot read");
  return parseResult(path, text.str());
}

} // namespace mars::dse
