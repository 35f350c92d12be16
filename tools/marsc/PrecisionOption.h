#pragma once
// `--precision f32|f64`: the float interpreter's arithmetic, for the
// commands that run it (eval, verify).
#include "mars/interp/Interpreter.h"

#include <CLI/CLI.hpp>

#include <map>
#include <string>

namespace mars::cli {

inline CLI::Option *addPrecisionOption(CLI::App *app,
                                       interp::Precision &precision,
                                       const std::string &help) {
  return app->add_option("--precision", precision, help)
      ->transform(
          CLI::CheckedTransformer(std::map<std::string, interp::Precision>{
              {"f32", interp::Precision::Float32},
              {"f64", interp::Precision::Float64}}));
}

} // namespace mars::cli
