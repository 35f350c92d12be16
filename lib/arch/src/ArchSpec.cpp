#include "mars/arch/ArchSpec.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace mars::arch {

namespace {

/// One JSON field: its section and key, and where it lives in ArchSpec.
/// Listing the fields once keeps parsing, printing and unknown-key checks in
/// step.
struct Field {
  const char *section;
  const char *key;
  int *(*intField)(ArchSpec &);
  double *(*doubleField)(ArchSpec &);
};

#define INT_FIELD(sec, key, member)                                            \
  Field {                                                                      \
#sec, key, [](ArchSpec & s) { return &s.sec.member; }, nullptr             \
  }
#define DOUBLE_FIELD(sec, key, member)                                         \
  Field {                                                                      \
#sec, key, nullptr, [](ArchSpec & s) { return &s.sec.member; }             \
  }

const std::vector<Field> &fields() {
  static const std::vector<Field> all = {
      INT_FIELD(chip, "cores", cores),
      INT_FIELD(chip, "macros_per_core", macrosPerCore),
      INT_FIELD(chip, "weight_sram_kib", weightSramKiB),
      INT_FIELD(chip, "activation_sram_kib", activationSramKiB),
      INT_FIELD(macro, "rows", rows),
      INT_FIELD(macro, "cols", cols),
      INT_FIELD(macro, "partitions", partitions),
      INT_FIELD(macro, "weight_bits", weightBits),
      INT_FIELD(macro, "wl_on", wlOn),
      INT_FIELD(macro, "bl_on", blOn),
      INT_FIELD(macro, "adc_bits", adcBits),
      INT_FIELD(macro, "input_bits_per_cycle", inputBitsPerCycle),
      DOUBLE_FIELD(timing, "clock_mhz", clockMhz),
      INT_FIELD(timing, "activation_cycles", activationCycles),
      INT_FIELD(timing, "row_write_cycles", rowWriteCycles),
      INT_FIELD(timing, "sram_bytes_per_cycle", sramBytesPerCycle),
      INT_FIELD(timing, "dram_bytes_per_cycle", dramBytesPerCycle),
      INT_FIELD(timing, "dram_latency_cycles", dramLatencyCycles),
      INT_FIELD(timing, "digital_pipeline_cycles", digitalPipelineCycles),
      DOUBLE_FIELD(energy, "activation_pj", activationPj),
      DOUBLE_FIELD(energy, "adc_pj", adcPj),
      DOUBLE_FIELD(energy, "shift_add_pj_per_bit", shiftAddPjPerBit),
      DOUBLE_FIELD(energy, "accumulate_pj", accumulatePj),
      DOUBLE_FIELD(energy, "sram_byte_pj", sramBytePj),
      DOUBLE_FIELD(energy, "weight_sram_byte_pj", weightSramBytePj),
      DOUBLE_FIELD(energy, "dram_byte_pj", dramBytePj),
      DOUBLE_FIELD(energy, "row_write_pj", rowWritePj),
      DOUBLE_FIELD(energy, "static_mw", staticMw),
  };
  return all;
}

#undef INT_FIELD
#undef DOUBLE_FIELD

void checkRange(std::vector<std::string> &errors, const char *name, int64_t v,
                int64_t lo, int64_t hi, const std::string &hiText = "") {
  if (v >= lo && v <= hi)
    return;
  errors.push_back(std::string(name) + " must be in " + std::to_string(lo) +
                   ".." + (hiText.empty() ? std::to_string(hi) : hiText) +
                   ", got " + std::to_string(v));
}

bool isPowerOfTwo(int v) { return v > 0 && (v & (v - 1)) == 0; }

} // namespace

ArchSpec defaultArch() { return ArchSpec{}; }

std::vector<std::string> validate(const ArchSpec &s) {
  std::vector<std::string> e;
  const MacroSpec &m = s.macro;
  checkRange(e, "chip.cores", s.chip.cores, 1, 1024);
  checkRange(e, "chip.macros_per_core", s.chip.macrosPerCore, 1, 1024);
  checkRange(e, "chip.weight_sram_kib", s.chip.weightSramKiB, 0, 1 << 20);
  checkRange(e, "chip.activation_sram_kib", s.chip.activationSramKiB, 1,
             1 << 20);
  checkRange(e, "macro.rows", m.rows, 1, 65536);
  checkRange(e, "macro.cols", m.cols, 1, 65536);
  checkRange(e, "macro.partitions", m.partitions, 1, std::max(1, m.cols),
             "cols (" + std::to_string(m.cols) + ")");
  checkRange(e, "macro.weight_bits", m.weightBits, 1, 16);
  checkRange(e, "macro.wl_on", m.wlOn, 1, std::max(1, m.rows),
             "rows (" + std::to_string(m.rows) + ")");
  checkRange(e, "macro.bl_on", m.blOn, 1, std::max(1, m.cols),
             "cols (" + std::to_string(m.cols) + ")");
  checkRange(e, "macro.adc_bits", m.adcBits, 1, 16);
  checkRange(e, "macro.input_bits_per_cycle", m.inputBitsPerCycle, 1, 8);
  if (m.partitions >= 1 && m.cols >= 1 && m.cols % m.partitions != 0)
    e.push_back("macro.partitions (" + std::to_string(m.partitions) +
                ") must divide macro.cols (" + std::to_string(m.cols) + ")");
  else if (m.partitions >= 1 && m.weightBits >= 1 &&
           (m.cols / m.partitions) % m.weightBits != 0)
    e.push_back("macro.weight_bits (" + std::to_string(m.weightBits) +
                ") must divide the partition width cols/partitions (" +
                std::to_string(m.cols / std::max(1, m.partitions)) + ")");
  if (m.weightBits >= 1 && m.blOn >= 1 && m.blOn % m.weightBits != 0)
    e.push_back("macro.bl_on (" + std::to_string(m.blOn) +
                ") must be a multiple of macro.weight_bits (" +
                std::to_string(m.weightBits) +
                "): a weight's columns are sensed together");
  if (!isPowerOfTwo(m.inputBitsPerCycle) && m.inputBitsPerCycle >= 1)
    e.push_back("macro.input_bits_per_cycle must be a power of two, got " +
                std::to_string(m.inputBitsPerCycle));
  // At least 1 kHz: a clock of 1e-300 MHz passed a (0, ...] check and gave
  // latencies of 1e302 us and infinite static energy in every report.
  if (!(s.timing.clockMhz >= 1e-3 && s.timing.clockMhz <= 1e5)) {
    char got[32];
    std::snprintf(got, sizeof got, "%g", s.timing.clockMhz);
    e.push_back(
        std::string("timing.clock_mhz must be in [0.001, 100000], got ") + got);
  }
  checkRange(e, "timing.activation_cycles", s.timing.activationCycles, 1, 1000);
  checkRange(e, "timing.row_write_cycles", s.timing.rowWriteCycles, 1, 1000);
  checkRange(e, "timing.sram_bytes_per_cycle", s.timing.sramBytesPerCycle, 1,
             1 << 16);
  checkRange(e, "timing.dram_bytes_per_cycle", s.timing.dramBytesPerCycle, 1,
             1 << 16);
  checkRange(e, "timing.dram_latency_cycles", s.timing.dramLatencyCycles, 0,
             100000);
  checkRange(e, "timing.digital_pipeline_cycles",
             s.timing.digitalPipelineCycles, 0, 1000);
  ArchSpec copy = s;
  for (const Field &f : fields()) {
    if (!f.doubleField || std::string(f.section) != "energy")
      continue;
    double v = *f.doubleField(copy);
    if (!(v >= 0 && v < 1e9))
      e.push_back(std::string("energy.") + f.key +
                  " must be a non-negative number, got " + std::to_string(v));
  }
  return e;
}

Expected<ArchSpec> parseArchJson(const std::string &text,
                                 const std::string &source) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception &ex) {
    return makeError(source, ": not valid JSON: ", ex.what());
  }
  if (!doc.is_object())
    return makeError(source, ": expected a JSON object at the top level");

  ArchSpec spec;
  std::vector<std::string> errors;
  for (auto &[key, value] : doc.items()) {
    if (key == "name") {
      if (!value.is_string())
        errors.push_back("name must be a string");
      else
        spec.name = value.get<std::string>();
      continue;
    }
    bool knownSection = false;
    for (const Field &f : fields())
      knownSection = knownSection || key == f.section;
    if (!knownSection) {
      errors.push_back("unknown key '" + key +
                       "' (expected name, chip, macro, timing, energy)");
      continue;
    }
    if (!value.is_object()) {
      errors.push_back(key + " must be an object");
      continue;
    }
    for (auto &[fieldKey, fieldValue] : value.items()) {
      const Field *field = nullptr;
      for (const Field &f : fields())
        if (key == f.section && fieldKey == f.key)
          field = &f;
      std::string path = key + "." + fieldKey;
      if (!field) {
        errors.push_back("unknown key '" + path + "'");
        continue;
      }
      if (field->intField) {
        if (!fieldValue.is_number_integer()) {
          errors.push_back(path + " must be an integer");
          continue;
        }
        int64_t v = fieldValue.get<int64_t>();
        if (v < INT32_MIN || v > INT32_MAX) {
          errors.push_back(path + " is out of range: " + std::to_string(v));
          continue;
        }
        *field->intField(spec) = static_cast<int>(v);
        continue;
      }
      if (!fieldValue.is_number()) {
        errors.push_back(path + " must be a number");
        continue;
      }
      *field->doubleField(spec) = fieldValue.get<double>();
    }
  }
  if (errors.empty())
    errors = validate(spec);
  if (errors.empty())
    return spec;
  std::string joined;
  for (size_t i = 0; i < errors.size(); ++i)
    joined += (i ? "; " : "") + errors[i];
  return makeError(source, ": invalid arch: ", joined);
}

Expected<ArchSpec> loadArchFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return makeError(path, ": cannot open arch file");
  std::ostringstream text;
  text << in.rdbuf();
  return parseArchJson(text.str(), path);
}

Expected<ArchSpec> loadArchOrDefault(const std::string &path) {
  if (path.empty())
    return defaultArch();
  return loadArchFile(path);
}

std::string archToJson(const ArchSpec &spec) {
  nlohmann::ordered_json doc;
  doc["name"] = spec.name;
  ArchSpec copy = spec;
  for (const Field &f : fields()) {
    if (f.intField)
      doc[f.section][f.key] = *f.intField(copy);
    else
      doc[f.section][f.key] = *f.doubleField(copy);
  }
  return doc.dump(2) + "\n";
}

Expected<ArchSpec> withSettings(const ArchSpec &base,
                                const std::vector<std::string> &settings) {
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(archToJson(base));
  for (const std::string &setting : settings) {
    const size_t eq = setting.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == setting.size())
      return makeError("--set '", setting,
                       "': expected SECTION.KEY=VALUE, e.g. macro.wl_on=32");
    const std::string key = setting.substr(0, eq),
                      text = setting.substr(eq + 1);
    nlohmann::ordered_json value = nlohmann::ordered_json::parse(
        text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded() || value.is_structured())
      value = text; // a string (names)
    const size_t dot = key.find('.');
    if (dot == std::string::npos) {
      j[key] = value;
    } else {
      const std::string section = key.substr(0, dot),
                        field = key.substr(dot + 1);
      if (field.empty() || field.find('.') != std::string::npos)
        return makeError("--set '", setting, "': expected SECTION.KEY=VALUE");
      if (!j.contains(section) || !j[section].is_object())
        return makeError("--set '", setting, "': unknown section '", section,
                         "' (chip, macro, timing or energy)");
      j[section][field] = value;
    }
  }
  return parseArchJson(j.dump(2), "--set");
}

} // namespace mars::arch
