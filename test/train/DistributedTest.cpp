/// \file
/// DataParallel over real c10d/Gloo. The two-rank test re-executes this
/// binary twice, each copy running the hidden "dp worker" test case as one
/// rank on 127.0.0.1, and waits for both under a deadline, killing them if it
/// passes. exec rather than a bare fork: LibTorch's thread pools may already
/// run in this process, and a forked copy would inherit their locks without
/// their threads.
#include "Distributed.h"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char **environ;

using mars::train::DataParallel;

namespace {

/// A port that was free a moment ago: bind port 0 and ask which one we got.
int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// Starts this executable as rank `rank` of 2. The environment is built
/// before fork because only async-signal-safe calls are allowed after it.
pid_t spawnRank(int rank, const std::string &master) {
  std::vector<std::string> env = {"MARS_DP_RANK=" + std::to_string(rank),
                                  "MARS_DP_MASTER=" + master};
  for (char **e = environ; *e; ++e)
    if (std::strncmp(*e, "MARS_DP_", 8) != 0)
      env.push_back(*e);
  std::vector<char *> envp;
  for (std::string &s : env)
    envp.push_back(s.data());
  envp.push_back(nullptr);
  char name[] = "test_distributed", test[] = "dp worker";
  char *argv[] = {name, test, nullptr};

  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::execve("/proc/self/exe", argv, envp.data());
    ::_exit(127);
  }
  return pid;
}

/// Waits for every child until `limit`, then kills the rest. Returns each
/// child's exit code, -1 when it died from a signal or was killed.
std::vector<int> waitAll(const std::vector<pid_t> &pids,
                         std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::vector<int> codes(pids.size(), -1);
  std::vector<bool> done(pids.size(), false);
  size_t left = pids.size();
  while (left > 0) {
    for (size_t i = 0; i < pids.size(); ++i) {
      int status = 0;
      if (done[i] || ::waitpid(pids[i], &status, WNOHANG) != pids[i])
        continue;
      done[i] = true;
      --left;
      codes[i] = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    if (left == 0)
      break;
    if (std::chrono::steady_clock::now() > deadline) {
      for (size_t i = 0; i < pids.size(); ++i)
        if (!done[i]) {
          ::kill(pids[i], SIGKILL);
          ::waitpid(pids[i], nullptr, 0);
        }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return codes;
}

/// Rank-dependent tensors whose mean over ranks 0 and 1 is exact in binary
/// floating point.
std::vector<torch::Tensor> meanInputs(int rank) {
  return {
      torch::arange(3, torch::kFloat) + 10 * rank,
      torch::arange(24, torch::kFloat).reshape({2, 3, 4}) * (rank + 1),
      torch::full({}, rank == 0 ? 1.0 : 4.0, torch::kDouble),
  };
}

std::string errorOf(const std::string &master, int worldSize = 2, int rank = 0,
                    int timeoutSeconds = 1) {
  auto dp = DataParallel::connect(worldSize, rank, master, timeoutSeconds);
  REQUIRE_FALSE(dp);
  return dp.error().message();
}

} // namespace

// One rank of the two-rank test; hidden, run only by "two ranks ...".
TEST_CASE("dp worker", "[.]") {
  const char *rankText = std::getenv("MARS_DP_RANK");
  const char *master = std::getenv("MARS_DP_MASTER");
  REQUIRE(rankText);
  REQUIRE(master);
  const int rank = std::atoi(rankText);
  auto connected = DataParallel::connect(2, rank, master, /*timeout=*/10);
  INFO((connected ? std::string() : connected.error().message()));
  REQUIRE(connected);
  DataParallel &dp = **connected;
  CHECK(dp.rank() == rank);
  CHECK(dp.worldSize() == 2);
  CHECK(dp.isRoot() == (rank == 0));

  // Mean: several shapes and dtypes, an undefined tensor (skipped), and two
  // strided views whose untouched neighbours must stay as they were.
  std::vector<torch::Tensor> tensors = meanInputs(rank);
  torch::Tensor matrix = torch::arange(20, torch::kFloat).reshape({4, 5});
  torch::Tensor strip = torch::full({6}, -7.0f);
  torch::Tensor transposed = matrix.t(); // 5 x 4, not contiguous
  torch::Tensor everyOther = strip.slice(0, 0, 6, 2);
  transposed.mul_(rank + 1);
  everyOther.fill_(rank == 0 ? 2.0f : 6.0f);
  tensors.push_back(torch::Tensor());
  tensors.push_back(transposed);
  tensors.push_back(everyOther);
  REQUIRE_FALSE(transposed.is_contiguous());
  dp.allReduceMean(tensors);

  std::vector<torch::Tensor> a = meanInputs(0), b = meanInputs(1);
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("tensor " << i);
    CHECK(torch::equal(tensors[i], (a[i] + b[i]) / 2));
  }
  CHECK(torch::equal(matrix,
                     torch::arange(20, torch::kFloat).reshape({4, 5}) * 1.5));
  CHECK(torch::equal(strip, torch::tensor({4.f, -7.f, 4.f, -7.f, 4.f, -7.f})));

  // Broadcast into a parameter (a leaf that requires grad) and a strided view.
  torch::Tensor weight =
      torch::full({3, 2}, float(rank + 5)).set_requires_grad(true);
  torch::Tensor base = torch::zeros({2, 4});
  torch::Tensor column = base.select(1, 2); // stride 4
  column.fill_(rank == 0 ? 9.0f : 3.0f);
  dp.broadcastFromRoot({weight, column});
  CHECK(torch::equal(weight.detach(), torch::full({3, 2}, 5.0f)));
  CHECK(torch::equal(base.select(1, 2), torch::full({2}, 9.0f)));
  CHECK(base.sum().item<float>() == 18.0f);

  CHECK(dp.allReduceSum((int64_t(1) << 40) + rank) == (int64_t(1) << 41) + 1);
  dp.barrier();
}

TEST_CASE("two ranks agree over Gloo on loopback", "[train][distributed]") {
  const std::string master = "127.0.0.1:" + std::to_string(freePort());
  std::vector<pid_t> pids = {spawnRank(0, master), spawnRank(1, master)};
  std::vector<int> codes = waitAll(pids, std::chrono::seconds(60));
  INFO("exit codes " << codes[0] << ", " << codes[1]
                     << " (-1: signal/timeout)");
  CHECK(codes[0] == 0);
  CHECK(codes[1] == 0);
}

TEST_CASE("world size 1 is a no-op", "[train][distributed]") {
  // No group is created, so the master address is not even parsed.
  auto dp = DataParallel::connect(1, 0, "not an address");
  REQUIRE(dp);
  CHECK((*dp)->isRoot());
  torch::Tensor t = torch::arange(6, torch::kFloat).reshape({2, 3});
  torch::Tensor view = t.t();
  (*dp)->allReduceMean({t, view, torch::Tensor()});
  (*dp)->broadcastFromRoot({t});
  CHECK(torch::equal(t, torch::arange(6, torch::kFloat).reshape({2, 3})));
  CHECK((*dp)->allReduceSum(42) == 42);
  (*dp)->barrier();
}

TEST_CASE("bad group settings are errors", "[train][distributed]") {
  CHECK_THAT(errorOf("localhost"), Catch::Contains("is not HOST:PORT"));
  CHECK_THAT(errorOf(":29500"), Catch::Contains("is not HOST:PORT"));
  CHECK_THAT(errorOf("localhost:http"), Catch::Contains("is not a number"));
  CHECK_THAT(errorOf("localhost:"), Catch::Contains("is not a number"));
  CHECK_THAT(errorOf("localhost:-1"), Catch::Contains("is not a number"));
  CHECK_THAT(errorOf("localhost:65536"), Catch::Contains("out of range"));
  CHECK_THAT(errorOf("localhost:0"), Catch::Contains("out of range"));
  CHECK_THAT(errorOf("localhost:99999999999999999999"),
             Catch::Contains("out of range"));
  CHECK_THAT(errorOf("127.0.0.1:29500", /*worldSize=*/0),
             Catch::Contains("world size"));
  CHECK_THAT(errorOf("127.0.0.1:29500", 2, /*rank=*/2),
             Catch::Contains("outside 0..1"));
  CHECK_THAT(errorOf("127.0.0.1:29500", 2, 0, /*timeoutSeconds=*/0),
             Catch::Contains("timeout"));
}

TEST_CASE("a missing peer times out with an error", "[train][distributed]") {
  const std::string master = "127.0.0.1:" + std::to_string(freePort());
  using Clock = std::chrono::steady_clock;
  // Rank 1 finds no server. LibTorch retries a refused connection once a
  // second while a second remains, so with 1 s it gives up at once.
  auto start = Clock::now();
  std::string client = errorOf(master, 2, /*rank=*/1, /*timeoutSeconds=*/1);
  const auto clientTime = Clock::now() - start;
  // Rank 0 is the server and no worker ever joins: the roll call waits out
  // its timeout, not less and not much more.
  start = Clock::now();
  std::string server = errorOf(master, 2, /*rank=*/0, /*timeoutSeconds=*/1);
  const auto serverTime = Clock::now() - start;
  CHECK_THAT(client, Catch::Contains("cannot join the training group as "
                                     "rank 1 of 2 at " +
                                     master));
  CHECK_THAT(server,
             Catch::Contains("cannot join the training group as "
                             "rank 0 of 2 at " +
                             master + ": not all 2 ranks joined within 1 s"));
  using Ms = std::chrono::milliseconds;
  INFO("client " << std::chrono::duration_cast<Ms>(clientTime).count()
                 << " ms, server "
                 << std::chrono::duration_cast<Ms>(serverTime).count()
                 << " ms");
  CHECK(clientTime < std::chrono::seconds(10));
  CHECK(serverTime >= Ms(900));
  CHECK(serverTime < std::chrono::seconds(10));
}
