// `marsc train` in a build without LibTorch (-DMARS_WITH_TRAIN=OFF).
#include "Commands.h"

namespace mars::cli {

Command addTrainCommand(CLI::App &parent) {
  CLI::App *app = parent.add_subcommand(
      "train", "Not available: this marsc was built without LibTorch.");
  app->allow_extras();
  return {app, [] {
            return Status(Error("marsc was built without LibTorch "
                                "(-DMARS_WITH_TRAIN=OFF); rebuild with "
                                "libtorch-dev installed to use 'marsc train'"));
          }};
}

} // namespace mars::cli
