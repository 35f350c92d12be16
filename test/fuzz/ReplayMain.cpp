/// \file
/// The replay driver linked with each fuzz target in the normal (gcc,
/// sanitizer) test build: runs LLVMFuzzerTestOneInput on every file of the
/// folders and files given, so the seed corpus and every regression input
/// are checked on each `make test` without libFuzzer. Exits 1 when a
/// folder is missing or holds no input (nothing is silently skipped).

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace fs = std::filesystem;

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
    return 2;
  }
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    fs::path arg = argv[i];
    std::error_code ec;
    if (fs::is_regular_file(arg, ec)) {
      inputs.push_back(arg);
      continue;
    }
    if (!fs::is_directory(arg, ec)) {
      std::fprintf(stderr, "%s: no such file or folder\n", argv[i]);
      return 1;
    }
    size_t before = inputs.size();
    for (const auto &entry : fs::directory_iterator(arg))
      if (entry.is_regular_file() && entry.path().filename() != "README.md")
        inputs.push_back(entry.path());
    if (inputs.size() == before) {
      std::fprintf(stderr, "%s: no inputs\n", argv[i]);
      return 1;
    }
  }
  std::sort(inputs.begin(), inputs.end());
  for (const fs::path &path : inputs) {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
      std::fprintf(stderr, "%s: cannot read\n", path.c_str());
      return 1;
    }
    std::fprintf(stderr, "replay %s (%zu bytes)\n", path.c_str(), bytes.size());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(bytes.data()),
                           bytes.size());
  }
  std::printf("replayed %zu inputs\n", inputs.size());
  return 0;
}
