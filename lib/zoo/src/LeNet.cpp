#include "Models.h"

namespace mars::zoo {

Expected<ir::Graph> buildLeNet5(const ResolvedOptions &options) {
  GraphBuilder b("lenet5", options);
  ir::ValueId x = b.input();
  // conv5x5(6, pad 2) - pool - conv5x5(16) - pool: 28x28 -> 14x14 -> 5x5.
  x = b.conv(x, "conv1", b.scaled(6), /*kernel=*/5, /*stride=*/1, /*pad=*/2);
  x = b.relu(b.batchNorm(x, "bn1"), "relu1");
  x = b.maxPool(x, "pool1", /*kernel=*/2, /*stride=*/2);
  x = b.conv(x, "conv2", b.scaled(16), /*kernel=*/5, /*stride=*/1, /*pad=*/0);
  x = b.relu(b.batchNorm(x, "bn2"), "relu2");
  x = b.maxPool(x, "pool2", /*kernel=*/2, /*stride=*/2);
  x = b.flatten(x, "flatten");
  x = b.relu(b.linear(x, "fc1", b.scaled(120)), "relu3");
  x = b.relu(b.linear(x, "fc2", b.scaled(84)), "relu4");
  x = b.linear(x, "fc3", options.classes, "logits");
  return b.finish(x);
}

} // namespace mars::zoo
