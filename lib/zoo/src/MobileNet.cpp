#include "Models.h"

namespace mars::zoo {

Expected<ir::Graph> buildMobileNetTiny(const ResolvedOptions &options) {
  GraphBuilder b("mobilenet-tiny", options);
  ir::ValueId x = b.input();
  const int64_t c1 = b.scaled(16), c2 = b.scaled(32), c3 = b.scaled(64);
  // 28x28 -> stem 3x3 -> depthwise 3x3/2 (14x14) -> pointwise 1x1 ->
  // grouped 3x3/2 in 4 groups (7x7) -> pointwise 1x1 -> global pool.
  x = b.conv(x, "conv1", c1, /*kernel=*/3, /*stride=*/1, /*pad=*/1);
  x = b.relu(b.batchNorm(x, "bn1"), "relu1");
  x = b.conv(x, "dw1", c1, /*kernel=*/3, /*stride=*/2, /*pad=*/1,
             /*groups=*/c1);
  x = b.relu(b.batchNorm(x, "bn2"), "relu2");
  x = b.conv(x, "pw1", c2, /*kernel=*/1, /*stride=*/1, /*pad=*/0);
  x = b.relu(b.batchNorm(x, "bn3"), "relu3");
  const int64_t groups = c2 % 4 == 0 ? 4 : 1;
  x = b.conv(x, "gc1", c2, /*kernel=*/3, /*stride=*/2, /*pad=*/1, groups);
  x = b.relu(b.batchNorm(x, "bn4"), "relu4");
  x = b.conv(x, "pw2", c3, /*kernel=*/1, /*stride=*/1, /*pad=*/0);
  x = b.relu(b.batchNorm(x, "bn5"), "relu5");
  x = b.flatten(b.globalAveragePool(x, "pool"), "flatten");
  x = b.linear(x, "fc", options.classes, "logits");
  return b.finish(x);
}

} // namespace mars::zoo
