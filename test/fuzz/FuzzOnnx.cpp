/// \file
/// Fuzz target: ONNX importer. Bytes → ModelProto → canonicalised Graph →
/// verifier → shape inference (importModel does all four); an accepted model
/// is verified again, shape-inferred again and printed, which must not fail,
/// and lowered to the integer network (lib/quant: the scales, zero points
/// and bit widths of a QDQ model), which may fail with an error only.

#include "mars/ir/Printer.h"
#include "mars/ir/Verifier.h"
#include "mars/ir/ShapeInference.h"
#include "mars/onnx/Import.h"
#include "mars/quant/Lower.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // The importer reads whole files into memory; models beyond 1 MiB add
  // nothing here but time.
  if (size > (1u << 20))
    return -1;
  std::string bytes(reinterpret_cast<const char *>(data), size);
  auto graph = mars::onnx::importModel(bytes, "fuzz.onnx");
  if (!graph)
    return 0;
  // importModel's result is documented as verified: a failure here is a
  // bug, not a bad input.
  auto problems = mars::ir::verify(*graph);
  if (!problems.empty()) {
    std::fprintf(stderr, "imported graph fails the verifier: %s\n",
                 problems.front().c_str());
    std::abort();
  }
  mars::Status reinferred = mars::ir::inferShapes(*graph);
  if (!reinferred) {
    std::fprintf(stderr, "shape inference fails on an imported graph: %s\n",
                 reinferred.error().message().c_str());
    std::abort();
  }
  (void)mars::ir::printGraph(*graph);
  (void)mars::quant::lowerToInteger(*graph);
  return 0;
}
