// `marsc collect` as a sweep's Makefile runs it: the real binary on the
// fixture sweep in test/dse/data, its files, its stdout formats, exit codes
// and the all-or-nothing rule for its two outputs.
#include "common/Subprocess.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>

using mars::test::CommandResult;
using mars::test::quote;
using mars::test::readWholeFile;
using mars::test::runCommand;

namespace {

const std::string kData = std::string(MARS_SOURCE_DIR) + "/test/dse/data";
const std::string kScratch = std::string(MARS_BINARY_DIR) + "/test/dse/cli";

CommandResult marsc(const std::string &args) {
  return runCommand(std::string(MARSC_PATH) + " " + args);
}

/// A new empty folder under the scratch directory.
std::string freshDir(const std::string &name) {
  const std::string dir = kScratch + "/" + name;
  std::system(("rm -rf " + quote(dir) + " && mkdir -p " + quote(dir)).c_str());
  return dir;
}

std::vector<std::string> listDir(const std::string &dir) {
  std::vector<std::string> names;
  DIR *d = opendir(dir.c_str());
  REQUIRE(d);
  while (dirent *e = readdir(d))
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..")
      names.push_back(e->d_name);
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> fixtures() {
  std::vector<std::string> paths;
  for (const std::string &name : listDir(kData))
    paths.push_back(kData + "/" + name);
  return paths;
}

std::string joinQuoted(const std::vector<std::string> &paths) {
  std::string out;
  for (const std::string &p : paths)
    out += quote(p) + " ";
  return out;
}

void writeFile(const std::string &path, const std::string &text) {
  std::ofstream(path, std::ios::binary) << text;
}

size_t count(const std::string &text, const std::string &what) {
  size_t n = 0;
  for (size_t at = 0; (at = text.find(what, at)) != std::string::npos; ++at)
    ++n;
  return n;
}

/// A small XML well-formedness check: every tag closed in order, quoted
/// attributes, no stray '<' or unknown entity in text. Returns "" or what
/// is wrong.
std::string xmlProblem(const std::string &xml) {
  std::vector<std::string> open;
  size_t i = 0;
  auto entityOk = [&](size_t at) {
    for (const char *e : {"&lt;", "&gt;", "&amp;", "&quot;", "&apos;"})
      if (xml.compare(at, std::strlen(e), e) == 0)
        return true;
    return false;
  };
  while (i < xml.size()) {
    if (xml[i] == '&' && !entityOk(i))
      return "bad entity at " + std::to_string(i);
    if (xml[i] != '<') {
      if (xml[i] == '>')
        return "stray '>' at " + std::to_string(i);
      ++i;
      continue;
    }
    if (xml.compare(i, 2, "<?") == 0) {
      i = xml.find("?>", i);
      if (i == std::string::npos)
        return "unclosed <?";
      i += 2;
      continue;
    }
    const bool closing = xml.compare(i, 2, "</") == 0;
    size_t j = i + (closing ? 2 : 1);
    const size_t nameStart = j;
    while (j < xml.size() && (std::isalnum((unsigned char)xml[j]) ||
                              xml[j] == '-' || xml[j] == ':'))
      ++j;
    const std::string name = xml.substr(nameStart, j - nameStart);
    if (name.empty())
      return "tag without a name at " + std::to_string(i);
    // Attributes: name="value" with '<' not allowed inside values.
    while (j < xml.size() && xml[j] != '>' && xml[j] != '/') {
      if (xml[j] == '"') {
        const size_t end = xml.find('"', j + 1);
        if (end == std::string::npos)
          return "unclosed attribute";
        for (size_t k = j + 1; k < end; ++k)
          if (xml[k] == '<' || (xml[k] == '&' && !entityOk(k)))
            return "bad attribute value in <" + name + ">";
        j = end + 1;
        continue;
      }
      if (xml[j] == '\'' || xml[j] == '<')
        return "unexpected character in <" + name + ">";
      ++j;
    }
    if (j >= xml.size())
      return "unclosed tag <" + name + ">";
    const bool selfClosing = xml[j] == '/';
    if (selfClosing && (j + 1 >= xml.size() || xml[j + 1] != '>'))
      return "bad '/' in <" + name + ">";
    i = j + (selfClosing ? 2 : 1);
    if (closing) {
      if (open.empty() || open.back() != name)
        return "</" + name + "> does not close " +
               (open.empty() ? std::string("anything")
                             : "<" + open.back() + ">");
      open.pop_back();
    } else if (!selfClosing) {
      open.push_back(name);
    }
  }
  if (!open.empty())
    return "<" + open.back() + "> never closed";
  return "";
}

/// Checks the user-error contract: exit 1, one "marsc: error: " line that
/// mentions `what`, and `dir` left empty (no table, plot or temporary).
void checkFailsCleanly(const CommandResult &r, const std::string &what,
                       const std::string &dir) {
  INFO("stderr: " << r.err);
  CHECK(r.exitCode == 1);
  CHECK(r.err.rfind("marsc: error: ", 0) == 0);
  CHECK(r.err.find('\n') == r.err.size() - 1);
  CHECK_THAT(r.err, Catch::Contains(what));
  CHECK(listDir(dir).empty());
}

} // namespace

// Proves: the fixture sweep gives a CSV of header + 4 rows with a pareto
// column (the known front), a well-formed SVG with one marker per row in
// each of the two panels, the table on stdout and the unused float report
// as a warning.
TEST_CASE("collect: table and front plot of the fixture sweep") {
  const std::string out = freshDir("ok");
  CommandResult r =
      marsc("collect " + joinQuoted(fixtures()) + "-o " +
            quote(out + "/table.csv") + " --plot " + quote(out + "/front.svg") +
            " --pareto acc:energy_per_image");
  INFO("stderr: " << r.err);
  REQUIRE(r.exitCode == 0);
  CHECK(listDir(out) == std::vector<std::string>{"front.svg", "table.csv"});
  const std::string csv = readWholeFile(out + "/table.csv");
  CHECK(count(csv, "\n") == 5);
  CHECK_THAT(csv, Catch::StartsWith("model,sparsity,adcbits,"));
  const std::string header = csv.substr(0, csv.find('\n'));
  CHECK_THAT(header, Catch::EndsWith(",acc,test_images,cycles,latency_us,fps,"
                                     "energy_per_image,tops_per_watt_effective"
                                     ",tops_per_watt_executed,"
                                     "macro_utilisation,pareto"));
  CHECK_THAT(header, !Catch::Contains("seconds"));
  // Rows sorted by sparsity then adcbits; only (0.75, 4) is dominated
  // (by (0.5, 3): 80% at 0.5 uJ against 79% at 0.52 uJ).
  CHECK(count(csv, ",1\n") == 3);
  CHECK_THAT(csv,
             Catch::Contains("\nlenet5,0.75,4,") && Catch::EndsWith(",0\n"));

  const std::string svg = readWholeFile(out + "/front.svg");
  CHECK(xmlProblem(svg) == "");
  CHECK(count(svg, "<circle class=\"point") == 2 * 4);
  CHECK(count(svg, "<circle class=\"point optimal\"") == 2 * 3);
  CHECK(count(svg, "<polyline class=\"front\"") == 2);
  CHECK_THAT(svg, Catch::Contains("test accuracy (%)") &&
                      Catch::Contains("energy per image (\xc2\xb5J)") &&
                      Catch::Contains("frames per second") &&
                      Catch::Contains("sparsity 0.75, adcbits 3"));

  CHECK_THAT(r.out, Catch::StartsWith("model   sparsity  adcbits"));
  CHECK(count(r.out, "\n") == 5);
  CHECK_THAT(r.err, Catch::Contains("marsc: warning: ") &&
                        Catch::Contains("model-lenet5.report.json: unused"));
}

// Proves: a Makefile's argument order does not matter: reversed and rotated
// argument lists give byte-identical CSV, SVG and stdout in every format.
TEST_CASE("collect: the same files in any order give the same bytes") {
  std::vector<std::string> paths = fixtures();
  std::vector<std::vector<std::string>> orders = {paths};
  std::reverse(paths.begin(), paths.end());
  orders.push_back(paths);
  std::rotate(paths.begin(), paths.begin() + 5, paths.end());
  orders.push_back(paths);
  std::string csv, svg;
  for (const char *format : {"", "--markdown", "--json"}) {
    std::string stdoutText;
    for (size_t k = 0; k < orders.size(); ++k) {
      const std::string out = freshDir("order" + std::to_string(k));
      CommandResult r =
          marsc("collect " + joinQuoted(orders[k]) + format + " -o " +
                quote(out + "/t.csv") + " --plot " + quote(out + "/f.svg"));
      INFO(format << " order " << k << ": " << r.err);
      REQUIRE(r.exitCode == 0);
      if (csv.empty())
        csv = readWholeFile(out + "/t.csv"),
        svg = readWholeFile(out + "/f.svg");
      if (stdoutText.empty())
        stdoutText = r.out;
      CHECK(readWholeFile(out + "/t.csv") == csv);
      CHECK(readWholeFile(out + "/f.svg") == svg);
      CHECK(r.out == stdoutText);
    }
    if (std::string(format) == "--json") {
      auto j = nlohmann::json::parse(stdoutText);
      CHECK(j["rows"].size() == 4);
      CHECK(j["columns"].back() == "pareto");
      // --plot without --pareto: acc and energy, plus fps since it is there.
      CHECK(j["pareto"] ==
            std::vector<std::string>{"acc", "energy_per_image", "fps"});
    }
    if (std::string(format) == "--markdown")
      CHECK_THAT(stdoutText, Catch::StartsWith("| model | sparsity |"));
  }
}

// Proves: every documented user error exits 1 with one line naming the
// problem and leaves nothing in the output folder, even when the table
// could have been written (all or nothing).
TEST_CASE("collect: errors leave no table, plot or temporary") {
  const std::string in = freshDir("inputs");
  const std::string good = joinQuoted(fixtures());
  auto outputs = [](const std::string &dir) {
    return " -o " + quote(dir + "/table.csv") + " --plot " +
           quote(dir + "/front.svg");
  };

  writeFile(in + "/model-lenet5_sparsity-0.9_adcbits-3.run.json",
            "{\"functional\": {\n  \"images\": 1,,\n}");
  std::string out = freshDir("bad_json");
  checkFailsCleanly(marsc("collect " + good +
                          quote(in + "/model-lenet5_"
                                     "sparsity-0.9_adcbits-"
                                     "3.run.json") +
                          outputs(out)),
                    "sparsity-0.9_adcbits-3.run.json: invalid JSON", out);

  writeFile(in + "/other.json", "{\"hello\": 1}");
  out = freshDir("unknown_kind");
  checkFailsCleanly(
      marsc("collect " + good + quote(in + "/other.json") + outputs(out)),
      "other.json: is not a marsc train, compile or run result", out);

  writeFile(in + "/model-lenet5_sparsity-0.95_adcbits-3.run.json",
            "{\"functional\": {\"accuracy\": \"high\"}, \"timing\": {}}");
  out = freshDir("wrong_type");
  checkFailsCleanly(
      marsc("collect " + good +
            quote(in + "/model-lenet5_sparsity-0.95_adcbits-3.run.json") +
            outputs(out)),
      "field 'functional.accuracy' is string", out);

  out = freshDir("bad_pareto");
  checkFailsCleanly(
      marsc("collect " + good + outputs(out) + " --pareto acc:watts"),
      "--pareto acc:watts: 'watts' is not a metric", out);

  // The table's folder is missing: the plot (written after it) is not left.
  out = freshDir("no_table_dir");
  checkFailsCleanly(marsc("collect " + good + " -o " +
                          quote(out + "/missing/table.csv") + " --plot " +
                          quote(out + "/front.svg")),
                    "missing/table.csv: cannot write", out);
  // The plot's folder is missing: the table, already prepared, is removed.
  out = freshDir("no_plot_dir");
  checkFailsCleanly(marsc("collect " + good + " -o " +
                          quote(out + "/table.csv") + " --plot " +
                          quote(out + "/missing/front.svg")),
                    "missing/front.svg: cannot write", out);
  // Nothing to plot: compile results have no accuracy or energy.
  out = freshDir("nothing_to_plot");
  checkFailsCleanly(marsc("collect " +
                          quote(kData + "/model-lenet5_sparsity-"
                                        "0.5_adcbits-3.compile."
                                        "json") +
                          outputs(out)),
                    "--plot: no result has both acc and energy_per_image", out);
}

// Proves: command-line misuse is a usage error (exit 2), not a user error.
TEST_CASE("collect: usage errors and --help") {
  const std::string out = freshDir("usage");
  CHECK(marsc("collect -o " + quote(out + "/t.csv")).exitCode == 2);
  CHECK(marsc("collect " + joinQuoted(fixtures())).exitCode == 2);
  CHECK(marsc("collect " + joinQuoted(fixtures()) + "--markdown --json -o " +
              quote(out + "/t.csv"))
            .exitCode == 2);
  CHECK(listDir(out).empty());
  CommandResult help = marsc("collect --help");
  CHECK(help.exitCode == 0);
  CHECK_THAT(help.out, Catch::Contains("--pareto") &&
                           Catch::Contains("energy_per_image (run: "
                                           "timing.energy.per_image_uj"));
  CHECK_THAT(marsc("--help").out, Catch::Contains("collect"));
}
