// lib/train's option handling, the part of `marsc train` that runs before
// any LibTorch: --stages, the distributed environment, the joined
// validation error and the order in which completeOptions reports errors.
#include "mars/train/TrainOptions.h"

#include <catch2/catch.hpp>

#include <cstdlib>

using namespace mars;
using train::TrainOptions;

namespace {

/// Sets the variables of the distributed environment for one test and
/// clears them afterwards.
struct Environment {
  Environment(const char *world, const char *rank, const char *addr,
              const char *port) {
    set("WORLD_SIZE", world);
    set("RANK", rank);
    set("MASTER_ADDR", addr);
    set("MASTER_PORT", port);
  }
  ~Environment() {
    for (const char *name :
         {"WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT"})
      ::unsetenv(name);
  }
  static void set(const char *name, const char *value) {
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
};

} // namespace

TEST_CASE("--stages: a list of float, qat, sparsity; empty is all",
          "[train][options]") {
  auto all = train::parseStages({});
  REQUIRE(all);
  CHECK(all->floatTraining);
  CHECK(all->qat);
  CHECK(all->sparsity);

  auto some = train::parseStages({"sparsity", "qat", "qat"});
  REQUIRE(some);
  CHECK_FALSE(some->floatTraining);
  CHECK(some->qat);
  CHECK(some->sparsity);

  auto bad = train::parseStages({"float", "bogus"});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message() ==
        "--stages: unknown stage 'bogus' (expected float, qat, sparsity)");
}

TEST_CASE("the distributed environment fills in what no flag gave",
          "[train][options]") {
  Environment env("4", "3", "10.0.0.1", "1234");
  TrainOptions o;
  train::applyDistributedEnvironment(o, {});
  CHECK(o.worldSize == 4);
  CHECK(o.rank == 3);
  CHECK(o.master == "10.0.0.1:1234");

  TrainOptions flags;
  flags.worldSize = 2;
  flags.rank = 1;
  flags.master = "host:9";
  train::applyDistributedEnvironment(flags, {/*worldSize=*/true,
                                             /*rank=*/true, /*master=*/true});
  CHECK(flags.worldSize == 2);
  CHECK(flags.rank == 1);
  CHECK(flags.master == "host:9");
}

TEST_CASE("MASTER_ADDR without MASTER_PORT leaves --master's default",
          "[train][options]") {
  Environment env(nullptr, nullptr, "10.0.0.1", nullptr);
  TrainOptions o;
  train::applyDistributedEnvironment(o, {});
  CHECK(o.worldSize == 1);
  CHECK(o.rank == 0);
  CHECK(o.master == "127.0.0.1:29500");
}

TEST_CASE("check joins every validation message", "[train][options]") {
  TrainOptions o;
  CHECK(o.check());
  o.wbits = 9;
  o.abits = 1;
  Status s = o.check();
  REQUIRE_FALSE(s);
  CHECK(s.error().message() ==
        "--wbits must be in 2..8, got 9; --abits must be in 2..8, got 1");
}

TEST_CASE("completeOptions: environment, arch, stages, then validation",
          "[train][options]") {
  SECTION("valid: the default arch and the stages given") {
    Environment env(nullptr, nullptr, nullptr, nullptr);
    TrainOptions o;
    o.pretrained = true;
    o.modelPath = "m.onnx";
    o.arch.name = "changed";
    REQUIRE(train::completeOptions(o, "", {"qat"}, {}));
    CHECK(o.arch.name == arch::defaultArch().name);
    CHECK_FALSE(o.stages.floatTraining);
    CHECK(o.stages.qat);
    CHECK_FALSE(o.stages.sparsity);
  }
  SECTION("the arch file is read before the stages are parsed") {
    TrainOptions o;
    Status s = train::completeOptions(o, "/nonexistent/a.json", {"bogus"}, {});
    REQUIRE_FALSE(s);
    CHECK(s.error().message() == "/nonexistent/a.json: cannot open arch file");
  }
  SECTION("an unknown stage before validation") {
    TrainOptions o;
    o.wbits = 9;
    Status s = train::completeOptions(o, "", {"bogus"}, {});
    REQUIRE_FALSE(s);
    CHECK(s.error().message() ==
          "--stages: unknown stage 'bogus' (expected float, qat, sparsity)");
  }
  SECTION("a rank from the environment is validated") {
    Environment env("2", "5", nullptr, nullptr);
    TrainOptions o;
    Status s = train::completeOptions(o, "", {}, {});
    REQUIRE_FALSE(s);
    CHECK(s.error().message() == "--rank must be in 0..1, got 5");
  }
  SECTION("stages without float need a pretrained model") {
    TrainOptions o;
    Status s = train::completeOptions(o, "", {"qat", "sparsity"}, {});
    REQUIRE_FALSE(s);
    CHECK(s.error().message() == "skipping float training needs a trained "
                                 "model (--model with --pretrained)");
  }
}

TEST_CASE("the help footer describes the stages and the checkpoints",
          "[train][options]") {
  const std::string footer = train::helpFooter();
  CHECK(footer.rfind("Stages: float training", 0) == 0);
  CHECK(footer.find("\n\nCheckpoints: OUTPUT.ckpt/last.pt") !=
        std::string::npos);
}
