/// \file
/// Walks the ONNX backend conformance tests shipped by Debian's
/// libonnx-testdata and runs every one whose ops the IR supports (DESIGN.md
/// §6: the importer and the interpreter must pass every test of every op
/// they claim to support).

#include "OnnxTestCase.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>

namespace fs = std::filesystem;
using namespace mars::conformance;

namespace {
const char *const kDataRoot =
    "/usr/lib/python3/dist-packages/onnx/backend/test/data";
const char *const kSuites[] = {"node", "pytorch-converted", "pytorch-operator"};
} // namespace

TEST_CASE("ONNX backend conformance tests pass or are skipped for a "
          "documented limitation") {
  if (!fs::is_directory(kDataRoot)) {
    WARN("no ONNX test data at " << kDataRoot << " (install libonnx-testdata)");
    return;
  }
  std::vector<std::pair<std::string, std::string>> skipped, failed;
  size_t unsupported = 0, supported = 0, ran = 0, passed = 0, rejected = 0;
  for (const char *suite : kSuites) {
    const fs::path root = fs::path(kDataRoot) / suite;
    if (!fs::is_directory(root))
      continue;
    std::vector<fs::path> dirs;
    for (const auto &entry : fs::directory_iterator(root))
      if (entry.is_directory() &&
          entry.path().filename().string().rfind("test_", 0) == 0)
        dirs.push_back(entry.path());
    std::sort(dirs.begin(), dirs.end());
    for (const fs::path &dir : dirs) {
      const std::string name =
          std::string(suite) + "/" + dir.filename().string();
      CaseResult r = runOnnxTestCase(dir.string());
      ran += r.imported && r.outcome != Outcome::Unsupported;
      rejected += !r.imported && r.outcome == Outcome::Failed;
      switch (r.outcome) {
      case Outcome::Unsupported: ++unsupported; continue;
      case Outcome::Skipped: skipped.emplace_back(name, r.reason); break;
      case Outcome::Passed: ++passed; break;
      case Outcome::Failed: failed.emplace_back(name, r.reason); break;
      }
      ++supported;
    }
  }

  std::cout << "ONNX conformance: " << supported + unsupported
            << " tests found, " << supported << " with all ops supported, "
            << ran << " ran, " << passed << " passed, " << failed.size()
            << " failed (" << rejected << " of them rejected by the importer), "
            << skipped.size() << " skipped; " << unsupported
            << " use unsupported ops\n";
  for (const auto &[name, reason] : skipped)
    std::cout << "  skipped " << name << " [" << acceptableRejection(reason)
              << "]: " << reason << "\n";
  std::string failures;
  for (const auto &[name, reason] : failed) {
    std::cout << "  FAILED " << name << ": " << reason << "\n";
    failures += " " + name;
  }
  INFO("failing tests (reasons above):" << failures);
  CHECK(failed.empty());
  CHECK(passed > 0);
}
