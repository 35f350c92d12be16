// Data-parallel `marsc train` with 2 processes on 127.0.0.1 (c10d + Gloo):
// the ranks end with exactly the same weights, and with the weights of a
// 1-process run of the same global batch up to float rounding.

#include "common/RequireData.h"
#include "common/Subprocess.h"

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <arpa/inet.h>
#include <fstream>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

using mars::test::quote;
using mars::test::runCommand;

namespace {

int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

/// The model's tensors of a checkpoint, by name.
std::map<std::string, torch::Tensor> modelTensors(const std::string &path) {
  torch::serialize::InputArchive archive, model;
  archive.load_from(path);
  archive.read("model", model);
  std::map<std::string, torch::Tensor> out;
  for (const std::string &key : model.keys()) {
    torch::Tensor t;
    if (model.try_read(key, t))
      out[key] = t;
  }
  return out;
}

std::string trainCommand(const std::string &dir, const std::string &extra) {
  return std::string(MARSC_PATH) +
         " train --limit-train 1024 --limit-test 200 --threads 1 "
         "--batch-size 64 --no-progress --seed 5 --save-rank-checkpoints "
         "-o " +
         quote(dir + "/model.onnx") + " " + extra;
}

bool fashionMnistInstalled() {
  return std::ifstream(
             "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz")
      .good();
}

} // namespace

TEST_CASE("two ranks agree exactly and match one process") {
  if (!fashionMnistInstalled()) {
    MARS_SKIP_MISSING("dataset-fashion-mnist");
    return;
  }
  const std::string base = std::string(MARS_BINARY_DIR) + "/test/train/dist";
  ::mkdir(base.c_str(), 0755);
  // QAT with BN frozen from the start: each image's forward pass is
  // independent of the batch, so averaging the two half-batch gradients
  // equals the full-batch gradient.
  const std::string stages =
      "--stages qat --pretrained --qat-epochs 1 --freeze-bn-after 0";
  const std::string one = base + "/one", two = base + "/two";
  ::mkdir(one.c_str(), 0755);
  ::mkdir(two.c_str(), 0755);
  auto single = runCommand(trainCommand(one, stages));
  INFO(single.err);
  REQUIRE(single.exitCode == 0);

  const std::string master = "127.0.0.1:" + std::to_string(freePort());
  const std::string common =
      trainCommand(two, stages) + " --world-size 2 --master " + master;
  // Rank 1 in the background, rank 0 in the foreground; both must succeed.
  auto pair = runCommand("sh -c " + quote("(" + common + " --rank 1 > " + two +
                                          "/rank1.log 2>&1; echo $? > " + two +
                                          "/rank1.rc) & " + common +
                                          " --rank 0; rc=$?; wait; exit $rc"));
  INFO(pair.err);
  REQUIRE(pair.exitCode == 0);
  REQUIRE(mars::test::readWholeFile(two + "/rank1.rc") == "0\n");

  auto r0 = modelTensors(two + "/model.onnx.ckpt/last.pt");
  auto r1 = modelTensors(two + "/model.onnx.ckpt/last.rank1.pt");
  auto s = modelTensors(one + "/model.onnx.ckpt/last.pt");
  REQUIRE(r0.size() == r1.size());
  REQUIRE(r0.size() == s.size());
  REQUIRE(r0.size() > 10);
  for (auto &[name, t] : r0) {
    INFO(name);
    CHECK(torch::equal(t, r1[name]));
    double scale = std::max(1.0, s[name].abs().max().item<double>());
    CHECK((t - s[name]).abs().max().item<double>() <= 1e-4 * scale);
  }
}
