#pragma once
/// \file
/// Tests whose data comes from a Debian package (Fashion-MNIST, numpy,
/// python3-onnx) may skip on a developer's machine without it, and say so.
/// With MARS_REQUIRE_DATA=1, which `.ci/run` sets, a missing package is a
/// failure: CI never passes by skipping.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <string>

namespace mars::test {

inline bool dataRequired() {
  const char *v = std::getenv("MARS_REQUIRE_DATA");
  return v && std::strcmp(v, "1") == 0;
}

/// Call when `what` is missing: fails the test under MARS_REQUIRE_DATA=1,
/// otherwise warns that the test is skipped. The caller then returns.
#define MARS_SKIP_MISSING(what)                                                \
  do {                                                                         \
    if (::mars::test::dataRequired())                                          \
      FAIL(std::string(what) + " is missing and MARS_REQUIRE_DATA=1");         \
    WARN("skipped: " << (what)                                                 \
                     << " is missing (set MARS_REQUIRE_DATA=1 to "             \
                        "make this a failure)");                               \
  } while (0)

} // namespace mars::test
