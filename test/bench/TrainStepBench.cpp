// bench_train_step: the speed of one `marsc train` step (QAT + CIM-group
// sparsity) against plain LibTorch float training of the same model and
// against PyTorch (Python) running the equivalent fake-quant step, all
// measured in this run with the same threads and batch. Not a pass/fail
// test; see test/bench/README.md for how to read the numbers.

#include "BenchStats.h"
#include "mars/arch/ArchSpec.h"
#include "mars/support/HeapPages.h"
#include "mars/train/GraphModule.h"
#include "mars/train/GroupSparsity.h"
#include "mars/zoo/Zoo.h"

#include <nlohmann/json.hpp>
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#ifndef MARS_SOURCE_DIR
#define MARS_SOURCE_DIR "."
#endif

using mars::bench::median;
using mars::bench::quantile;

namespace {

/// glibc's malloc as preferHugePagesForHeap sets it (mmap threshold 32 MiB,
/// no trimming, a 1 GiB top pad), for the Python child, which mallopt
/// cannot reach across exec. Transparent huge pages it does not get.
constexpr const char *kPythonMallocTunables =
    "glibc.malloc.mmap_threshold=33554432:"
    "glibc.malloc.trim_threshold=2147483647:"
    "glibc.malloc.top_pad=1073741824";

using mars::train::GraphModule;
using mars::train::RunMode;

struct BenchOptions {
  int threads = 2;
  int64_t batch = 128;
  std::vector<std::string> models{"lenet5"};
  int warmup = 5;
  int reps = 30;
  double sparsity = 0.5;
  double groupLasso = 1e-4;
  bool json = false;
  std::string python = "/usr/bin/python3";
  std::string pythonScript =
      std::string(MARS_SOURCE_DIR) + "/test/bench/qat_step_reference.py";
  bool runPython = true;
  std::string profile; ///< Write a chrome trace of QAT steps here.
};

void usage() {
  std::printf(
      "usage: bench_train_step [options]\n"
      "  --threads N        intra-op threads for every variant (default 2)\n"
      "  --batch N          batch size (default 128)\n"
      "  --model NAME       lenet5 (default) or resnet20; repeatable, or "
      "'all'\n"
      "  --warmup N         untimed steps per variant (default 5)\n"
      "  --reps N           timed steps per variant (default 30)\n"
      "  --sparsity F       CIM-group sparsity of the QAT masks (default "
      "0.5)\n"
      "  --group-lasso F    strength of the group-lasso variant (default "
      "1e-4)\n"
      "  --python PATH      interpreter for the PyTorch reference (default "
      "/usr/bin/python3)\n"
      "  --no-python        skip the PyTorch reference\n"
      "  --profile FILE     also write chrome traces of 5 steps of (c), (c0), (b)\n"
      "  --json             machine-readable output\n");
}

bool parseArgs(int argc, char **argv, BenchOptions &o) {
  bool modelsGiven = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_train_step: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--threads")
      o.threads = std::atoi(next().c_str());
    else if (a == "--batch")
      o.batch = std::atoll(next().c_str());
    else if (a == "--model") {
      if (!modelsGiven)
        o.models.clear();
      modelsGiven = true;
      std::string m = next();
      if (m == "all")
        o.models = {"lenet5", "resnet20"};
      else
        o.models.push_back(m);
    } else if (a == "--warmup")
      o.warmup = std::atoi(next().c_str());
    else if (a == "--reps")
      o.reps = std::atoi(next().c_str());
    else if (a == "--sparsity")
      o.sparsity = std::atof(next().c_str());
    else if (a == "--group-lasso")
      o.groupLasso = std::atof(next().c_str());
    else if (a == "--python")
      o.python = next();
    else if (a == "--no-python")
      o.runPython = false;
    else if (a == "--profile")
      o.profile = next();
    else if (a == "--json")
      o.json = true;
    else if (a == "-h" || a == "--help") {
      usage();
      std::exit(0);
    } else {
      std::fprintf(stderr, "bench_train_step: unknown option '%s'\n",
                   a.c_str());
      usage();
      return false;
    }
  }
  for (const std::string &m : o.models)
    if (m != "lenet5" && m != "resnet20") {
      std::fprintf(stderr,
                   "bench_train_step: unknown model '%s' (lenet5, "
                   "resnet20)\n",
                   m.c_str());
      return false;
    }
  if (o.threads < 1 || o.batch < 1 || o.reps < 1 || o.warmup < 0) {
    std::fprintf(stderr, "bench_train_step: --threads, --batch and --reps "
                         "must be positive\n");
    return false;
  }
  return true;
}

// ---- (a) the plain LibTorch reference models ------------------------------
// Hand-written torch::nn models with the zoo's shapes. Layers are kept by the
// zoo's node names so that the GraphModule's weights can be copied in and
// the two checked to compute the same function.

struct RefLayer {
  torch::Tensor weight, bias; ///< bias undefined for the bias-free convs.
  torch::nn::BatchNorm2d bn{nullptr};
};

class RefNet : public torch::nn::Module {
public:
  virtual torch::Tensor forward(torch::Tensor x) = 0;
  std::map<std::string, RefLayer> layers;

protected:
  /// Submodule names may not contain dots; the map keeps the graph's names.
  static std::string moduleName(std::string name) {
    std::replace(name.begin(), name.end(), '.', '_');
    return name;
  }
  torch::nn::Conv2d conv(const std::string &name, int64_t in, int64_t out,
                         int64_t k, int64_t stride, int64_t pad,
                         const std::string &bnName) {
    auto c = register_module(
        moduleName(name), torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k)
                                                .stride(stride)
                                                .padding(pad)
                                                .bias(false)));
    RefLayer l;
    l.weight = c->weight;
    if (!bnName.empty())
      l.bn = register_module(moduleName(bnName), torch::nn::BatchNorm2d(out));
    layers[name] = l;
    return c;
  }
  torch::nn::Linear linear(const std::string &name, int64_t in, int64_t out) {
    auto f = register_module(moduleName(name), torch::nn::Linear(in, out));
    layers[name] = RefLayer{f->weight, f->bias, nullptr};
    return f;
  }
};

class LeNet5Ref : public RefNet {
public:
  LeNet5Ref() {
    conv1_ = conv("conv1", 1, 6, 5, 1, 2, "bn1");
    conv2_ = conv("conv2", 6, 16, 5, 1, 0, "bn2");
    fc1_ = linear("fc1", 16 * 5 * 5, 120);
    fc2_ = linear("fc2", 120, 84);
    fc3_ = linear("fc3", 84, 10);
  }
  torch::Tensor forward(torch::Tensor x) override {
    x = torch::relu(layers["conv1"].bn(conv1_(x)));
    x = torch::max_pool2d(x, 2, 2);
    x = torch::relu(layers["conv2"].bn(conv2_(x)));
    x = torch::max_pool2d(x, 2, 2);
    x = x.flatten(1);
    x = torch::relu(fc1_(x));
    x = torch::relu(fc2_(x));
    return fc3_(x);
  }

private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr}, fc3_{nullptr};
};

/// CIFAR ResNet-20: 16-channel stem, 3 stages x 3 BasicBlocks, 1x1
/// downsample shortcuts, global average pool, linear.
class ResNet20Ref : public RefNet {
public:
  ResNet20Ref() {
    stem_ = conv("conv1", 3, 16, 3, 1, 1, "bn1");
    const int64_t widths[] = {16, 32, 64};
    int64_t in = 16;
    for (int stage = 0; stage < 3; ++stage)
      for (int block = 0; block < 3; ++block) {
        std::string p = "layer" + std::to_string(stage + 1) + "." +
                        std::to_string(block) + ".";
        const int64_t out = widths[stage];
        const int64_t stride = stage > 0 && block == 0 ? 2 : 1;
        Block b;
        b.conv1 = conv(p + "conv1", in, out, 3, stride, 1, p + "bn1");
        b.bn1 = layers[p + "conv1"].bn;
        b.conv2 = conv(p + "conv2", out, out, 3, 1, 1, p + "bn2");
        b.bn2 = layers[p + "conv2"].bn;
        if (stride != 1 || in != out) {
          b.down = conv(p + "downsample.0", in, out, 1, stride, 0,
                        p + "downsample.1");
          b.downBn = layers[p + "downsample.0"].bn;
        }
        blocks_.push_back(b);
        in = out;
      }
    fc_ = linear("fc", 64, 10);
  }
  torch::Tensor forward(torch::Tensor x) override {
    x = torch::relu(layers["conv1"].bn(stem_(x)));
    for (Block &b : blocks_) {
      auto y = torch::relu(b.bn1(b.conv1(x)));
      y = b.bn2(b.conv2(y));
      auto shortcut = b.down ? b.downBn(b.down(x)) : x;
      x = torch::relu(y + shortcut);
    }
    x = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
    return fc_(x);
  }

private:
  struct Block {
    torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, down{nullptr};
    torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr}, downBn{nullptr};
  };
  torch::nn::Conv2d stem_{nullptr};
  std::vector<Block> blocks_;
  torch::nn::Linear fc_{nullptr};
};

/// Copies the GraphModule's float weights into the reference; every layer
/// must exist there with the same shapes.
void copyWeights(GraphModule &m, RefNet &ref) {
  torch::NoGradGuard noGrad;
  if (m.layers().size() != ref.layers.size()) {
    std::fprintf(stderr,
                 "bench_train_step: the reference has %zu layers, "
                 "the graph %zu\n",
                 ref.layers.size(), m.layers().size());
    std::exit(1);
  }
  for (const mars::train::WeightedLayer &l : m.layers()) {
    auto it = ref.layers.find(l.name);
    if (it == ref.layers.end() ||
        !it->second.weight.sizes().equals(l.weight.sizes()) ||
        it->second.bias.defined() != l.bias.defined() ||
        bool(it->second.bn) != l.gamma.defined()) {
      std::fprintf(stderr,
                   "bench_train_step: layer '%s' differs between the "
                   "graph and the reference model\n",
                   l.name.c_str());
      std::exit(1);
    }
    RefLayer &r = it->second;
    r.weight.copy_(l.weight);
    if (l.bias.defined())
      r.bias.copy_(l.bias);
    if (r.bn) {
      r.bn->weight.copy_(l.gamma);
      r.bn->bias.copy_(l.beta);
      r.bn->running_mean.copy_(l.runningMean);
      r.bn->running_var.copy_(l.runningVar);
    }
  }
}

// ---- timing ----------------------------------------------------------------

using Clock = std::chrono::steady_clock;

/// Minor page faults of process `pid` so far (0: this process), from
/// /proc/PID/stat; -1 when it cannot be read. On these virtual machines a
/// first touch of a fresh page costs microseconds, so a step that faults
/// thousands of pages measures the allocator more than the step.
long minorFaults(pid_t pid) {
  const std::string path =
      pid == 0 ? "/proc/self/stat" : "/proc/" + std::to_string(pid) + "/stat";
  std::ifstream in(path);
  std::string stat;
  if (!std::getline(in, stat))
    return -1;
  // After "pid (comm) ": state ppid pgrp session tty_nr tpgid flags minflt.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos)
    return -1;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  for (int i = 0; i < 7; ++i)
    fields >> field;
  long faults = -1;
  fields >> faults;
  return fields ? faults : -1;
}

struct Variant {
  Variant(std::string key, std::string label, std::function<double()> step,
          pid_t process = 0)
      : key(std::move(key)), label(std::move(label)), step(std::move(step)),
        process(process) {}
  std::string key;   ///< JSON key.
  std::string label; ///< Table row.
  /// One step; returns its ms (NaN: the variant failed and is dropped).
  std::function<double()> step;
  pid_t process; ///< Whose page faults a step counts (0: this process).
  std::vector<double> ms, faults;
  bool failed = false;
};

/// A step of this process, timed here.
std::function<double()> timed(std::function<void()> step) {
  return [step] {
    const auto t0 = Clock::now();
    step();
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  };
}

/// Runs the variants round-robin (one step each per round), so that the
/// machine's slow and fast moments fall on all of them alike.
void measure(std::vector<Variant> &variants, int warmup, int reps) {
  for (int r = 0; r < warmup + reps; ++r)
    for (Variant &v : variants) {
      if (v.failed)
        continue;
      const long faultsBefore = minorFaults(v.process);
      const double ms = v.step();
      const long faultsAfter = minorFaults(v.process);
      if (std::isnan(ms)) {
        v.failed = true;
      } else if (r >= warmup) {
        v.ms.push_back(ms);
        if (faultsBefore >= 0 && faultsAfter >= 0)
          v.faults.push_back(double(faultsAfter - faultsBefore));
      }
    }
}

torch::optim::SGD makeSgd(const std::vector<torch::Tensor> &params) {
  // marsc train's later stages: lr 0.05 x 0.1, momentum 0.9, decay 5e-4.
  return torch::optim::SGD(
      params, torch::optim::SGDOptions(0.005).momentum(0.9).weight_decay(5e-4));
}

/// A GraphModule prepared like `marsc train`'s finetune stage: calibrated
/// clips, QAT with BN frozen (the deployed arithmetic), `sparsity` of the
/// CIM groups masked.
std::shared_ptr<GraphModule> makeQatModule(const mars::ir::Graph &graph,
                                           const torch::Tensor &x,
                                           double sparsity, bool freezeBn) {
  auto created = GraphModule::create(graph, mars::arch::defaultArch(),
                                     /*wbits=*/4, /*abits=*/4,
                                     /*firstLastBits=*/8, /*powerOfTwo=*/false,
                                     /*signedInput=*/false);
  if (!created) {
    std::fprintf(stderr, "bench_train_step: %s\n",
                 created.error().message().c_str());
    std::exit(1);
  }
  std::shared_ptr<GraphModule> m = created.take();
  {
    torch::NoGradGuard noGrad;
    m->eval();
    m->beginCalibration();
    for (int i = 0; i < 4; ++i)
      m->forward(x);
    m->finishCalibration();
  }
  m->train();
  m->setMode(RunMode::Qat);
  m->freezeBatchNorm(freezeBn);
  const std::vector<double> targets =
      mars::train::layerPruneTargets(*m, sparsity);
  for (size_t i = 0; i < m->layers().size(); ++i)
    if (targets[i] > 0)
      mars::train::pruneLayer(m->layers()[i],
                              mars::train::groupNorms(*m, m->layers()[i]),
                              targets[i]);
  m->applyMasks();
  return m;
}

// ---- the PyTorch (Python) reference ---------------------------------------

/// qat_step_reference.py --serve as a child process: it builds its models,
/// prints its setup as one JSON line, then runs the step named on each line
/// we send and answers with its milliseconds. Its steps are thus interleaved
/// with ours, and it waits (using no CPU) while ours run.
class PythonWorker {
public:
  ~PythonWorker() { stop(); }

  /// Starts the worker; false (with skipped()) if it cannot run.
  bool start(const BenchOptions &o, const std::string &model) {
    if (!o.runPython)
      return fail("--no-python");
    if (access(o.python.c_str(), X_OK) != 0)
      return fail(o.python + " not found");
    if (access(o.pythonScript.c_str(), R_OK) != 0)
      return fail(o.pythonScript + " not found");
    errPath_ = "/tmp/bench_train_step_" + std::to_string(getpid()) + ".err";
    int toChild[2], fromChild[2];
    if (pipe(toChild) != 0 || pipe(fromChild) != 0)
      return fail("pipe() failed");
    std::vector<std::string> args = {o.python,
                                     o.pythonScript,
                                     "--serve",
                                     "--model",
                                     model,
                                     "--threads",
                                     std::to_string(o.threads),
                                     "--batch",
                                     std::to_string(o.batch),
                                     "--sparsity",
                                     std::to_string(o.sparsity)};
    pid_ = fork();
    if (pid_ < 0)
      return fail("fork() failed");
    if (pid_ == 0) {
      dup2(toChild[0], 0);
      dup2(fromChild[1], 1);
      FILE *err = std::fopen(errPath_.c_str(), "w");
      if (err)
        dup2(fileno(err), 2);
      for (int fd : {toChild[0], toChild[1], fromChild[0], fromChild[1]})
        close(fd);
      // Debian's python3-torch, not a user's pip install.
      setenv("PYTHONNOUSERSITE", "1", 1);
      // The malloc settings marsc-train (and this process) use, so that the
      // comparison is of the steps, not of glibc's defaults: without them
      // PyTorch faults in fresh pages for its activations in every step.
      setenv("GLIBC_TUNABLES", kPythonMallocTunables, 1);
      std::vector<char *> argv;
      for (std::string &a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      std::_Exit(127);
    }
    close(toChild[0]);
    close(fromChild[1]);
    in_ = fdopen(toChild[1], "w");
    out_ = fdopen(fromChild[0], "r");
    std::string line;
    if (!readLine(line))
      return fail(childError("the reference did not start"));
    try {
      info_ = nlohmann::json::parse(line);
    } catch (const std::exception &e) {
      return fail("unreadable output '" + line.substr(0, 200) + "'");
    }
    if (info_.contains("skipped"))
      return fail(info_["skipped"].get<std::string>());
    return true;
  }

  /// Runs one step of `variant` in the worker; its ms, or NaN on failure.
  double step(const std::string &variant) {
    std::string line;
    if (!out_ || std::fprintf(in_, "%s\n", variant.c_str()) < 0 ||
        std::fflush(in_) != 0 || !readLine(line)) {
      fail(childError("the reference stopped"));
      return std::nan("");
    }
    return std::atof(line.c_str());
  }

  void stop() {
    if (in_) {
      std::fprintf(in_, "quit\n");
      std::fclose(in_);
      in_ = nullptr;
    }
    if (out_) {
      std::fclose(out_);
      out_ = nullptr;
    }
    if (pid_ > 0) {
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    if (!errPath_.empty())
      std::remove(errPath_.c_str());
  }

  bool ok() const { return skipped_.empty(); }
  const std::string &skipped() const { return skipped_; }
  const nlohmann::json &info() const { return info_; }
  pid_t pid() const { return pid_; }

private:
  bool fail(const std::string &why) {
    if (skipped_.empty())
      skipped_ = why;
    return false;
  }
  bool readLine(std::string &line) {
    line.clear();
    for (int c; (c = std::fgetc(out_)) != EOF;) {
      if (c == '\n')
        return true;
      line += char(c);
    }
    return false;
  }
  std::string childError(const std::string &what) {
    stopChild();
    std::ifstream in(errPath_);
    std::ostringstream s;
    s << in.rdbuf();
    std::string err = s.str();
    while (!err.empty() && err.back() == '\n')
      err.pop_back();
    if (err.size() > 300)
      err = "..." + err.substr(err.size() - 300);
    return err.empty() ? what : what + ": " + err;
  }
  void stopChild() {
    if (in_) {
      std::fclose(in_);
      in_ = nullptr;
    }
    if (pid_ > 0) {
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
  }

  pid_t pid_ = -1;
  FILE *in_ = nullptr;
  FILE *out_ = nullptr;
  std::string errPath_;
  std::string skipped_;
  nlohmann::json info_;
};

// ---- one model -------------------------------------------------------------

nlohmann::json benchModel(const BenchOptions &o, const std::string &name) {
  auto built = mars::zoo::buildModel(name, {});
  if (!built) {
    std::fprintf(stderr, "bench_train_step: %s\n",
                 built.error().message().c_str());
    std::exit(1);
  }
  const mars::ir::Graph graph = built.take();
  const auto &inShape = graph.value(graph.inputs[0]).type.shape;
  const int64_t classes = 10; // both zoo defaults

  // Synthetic data: pixels on the 1/255 grid, random labels, one fixed batch
  // (the data pipeline is not part of the step).
  torch::manual_seed(0);
  torch::Tensor x =
      torch::randint(0, 256, {o.batch, inShape[1], inShape[2], inShape[3]},
                     torch::kFloat32) /
      255.0;
  torch::Tensor y = torch::randint(0, classes, {o.batch}, torch::kLong);

  // (a) plain LibTorch.
  std::shared_ptr<RefNet> ref;
  if (name == "lenet5")
    ref = std::make_shared<LeNet5Ref>();
  else
    ref = std::make_shared<ResNet20Ref>();

  // (b) GraphModule, float.
  auto created = GraphModule::create(graph, mars::arch::defaultArch(), 4, 4, 8,
                                     false, false);
  if (!created) {
    std::fprintf(stderr, "bench_train_step: %s\n",
                 created.error().message().c_str());
    std::exit(1);
  }
  std::shared_ptr<GraphModule> floatModule = created.take();
  copyWeights(*floatModule, *ref);
  double maxDiff = 0;
  {
    torch::NoGradGuard noGrad;
    ref->eval();
    floatModule->eval();
    maxDiff =
        (ref->forward(x) - floatModule->forward(x)).abs().max().item<double>();
  }
  ref->train();
  floatModule->train();
  floatModule->setMode(RunMode::Float);

  // (c) QAT + sparsity, BN frozen; with and without group lasso. (c0) the
  // first QAT epoch, BN still on batch statistics, no masks yet.
  auto qat = makeQatModule(graph, x, o.sparsity, /*freezeBn=*/true);
  auto qatLasso = makeQatModule(graph, x, o.sparsity, /*freezeBn=*/true);
  auto qatBn = makeQatModule(graph, x, 0.0, /*freezeBn=*/false);

  auto refOpt = makeSgd(ref->parameters());
  auto floatOpt = makeSgd(floatModule->parameters());
  auto qatOpt = makeSgd(qat->parameters());
  auto lassoOpt = makeSgd(qatLasso->parameters());
  auto bnOpt = makeSgd(qatBn->parameters());

  namespace F = torch::nn::functional;
  // Every variant: zero_grad, forward, loss, backward, SGD step (and, for the
  // GraphModule, applyMasks, as marsc train does in every stage), then read
  // the loss as marsc train does.
  auto graphStep = [&](GraphModule &m, torch::optim::SGD &opt, bool lasso) {
    opt.zero_grad();
    auto loss = F::cross_entropy(m.forward(x), y);
    if (lasso)
      loss = loss + o.groupLasso * mars::train::groupLassoPenalty(m);
    loss.backward();
    opt.step();
    m.applyMasks();
    (void)loss.item<double>();
  };
  const std::string pct = std::to_string(int(o.sparsity * 100 + 0.5)) + "%";
  std::vector<Variant> variants;
  variants.push_back(
      {"float_libtorch", "(a) LibTorch float (torch::nn)", timed([&] {
         refOpt.zero_grad();
         auto loss = F::cross_entropy(ref->forward(x), y);
         loss.backward();
         refOpt.step();
         (void)loss.item<double>();
       })});
  variants.push_back({"float_graph", "(b) GraphModule float", timed([&] {
                        graphStep(*floatModule, floatOpt, false);
                      })});
  variants.push_back({"qat_sparse", "(c) GraphModule QAT+" + pct + " groups",
                      timed([&] { graphStep(*qat, qatOpt, false); })});
  variants.push_back({"qat_sparse_lasso", "(c') (c) + group lasso",
                      timed([&] { graphStep(*qatLasso, lassoOpt, true); })});
  variants.push_back({"qat_bn_batch_stats", "(c0) QAT, BN batch stats, dense",
                      timed([&] { graphStep(*qatBn, bnOpt, false); })});

  // PyTorch (Python) in a child process, its steps interleaved with ours.
  if (!o.json)
    std::fprintf(stderr, "%s: starting the PyTorch reference...\n",
                 name.c_str());
  PythonWorker py;
  if (py.start(o, name)) {
    variants.push_back({"python_float", "(p-a) PyTorch float (Python)",
                        [&] { return py.step("float_torch"); }, py.pid()});
    variants.push_back({"python_qat_sparse",
                        "(p-c) PyTorch QAT+" + pct + " (Python)",
                        [&] { return py.step("qat_sparse"); }, py.pid()});
    variants.push_back({"python_qat_ao",
                        "(p-ao) PyTorch torch.ao QAT, fused CBR",
                        [&] { return py.step("qat_torch_ao"); }, py.pid()});
  }

  if (!o.json)
    std::fprintf(stderr, "%s: measuring %zu variants x %d steps...\n",
                 name.c_str(), variants.size(), o.warmup + o.reps);
  measure(variants, o.warmup, o.reps);
  py.stop();
  const bool pyRan = py.ok() && variants.size() > 7 && !variants[5].failed &&
                     !variants[6].failed && !variants[7].failed;

  if (!o.profile.empty()) {
    // (c) in FILE, (c0) in FILE.c0: the two QAT steps with targets; (b),
    // the float step they are held to, in FILE.b.
    std::string path = o.profile;
    if (o.models.size() > 1)
      path += "." + name;
    for (size_t v : {size_t(2), size_t(4), size_t(1)}) {
      const std::string file = v == 2 ? path : path + (v == 4 ? ".c0" : ".b");
      {
        torch::autograd::profiler::RecordProfile guard(file);
        for (int i = 0; i < 5; ++i)
          variants[v].step();
      }
      if (!o.json)
        std::fprintf(stderr, "%s: chrome trace of 5 steps of %s in %s\n",
                     name.c_str(), variants[v].label.c_str(), file.c_str());
    }
  }

  nlohmann::json j;
  j["model"] = name;
  j["threads"] = o.threads;
  j["batch"] = o.batch;
  j["warmup"] = o.warmup;
  j["reps"] = o.reps;
  j["sparsity"] = o.sparsity;
  j["max_abs_diff_reference_vs_graph"] = maxDiff;
  j["masked_group_fraction"] = mars::train::maskedGroupFraction(*qat);
  std::map<std::string, double> med;
  for (const Variant &v : variants) {
    if (v.ms.empty())
      continue;
    med[v.key] = median(v.ms);
    j["ms"][v.key] = {{"median", med[v.key]},
                      {"p10", quantile(v.ms, 0.1)},
                      {"p90", quantile(v.ms, 0.9)}};
    if (!v.faults.empty())
      j["minor_faults_per_step"][v.key] = median(v.faults);
  }
  auto &ratios = j["ratios"];
  ratios["qat_over_libtorch_float"] = med["qat_sparse"] / med["float_libtorch"];
  ratios["qat_over_graph_float"] = med["qat_sparse"] / med["float_graph"];
  ratios["qat_bn_batch_stats_over_graph_float"] =
      med["qat_bn_batch_stats"] / med["float_graph"];
  ratios["graph_float_over_libtorch_float"] =
      med["float_graph"] / med["float_libtorch"];
  ratios["qat_lasso_over_libtorch_float"] =
      med["qat_sparse_lasso"] / med["float_libtorch"];
  if (pyRan) {
    j["python"] = py.info();
    ratios["qat_over_python_qat"] =
        med["qat_sparse"] / med["python_qat_sparse"];
    ratios["libtorch_float_over_python_float"] =
        med["float_libtorch"] / med["python_float"];
    ratios["python_qat_over_python_float"] =
        med["python_qat_sparse"] / med["python_float"];
    ratios["qat_over_torch_ao_qat"] = med["qat_sparse"] / med["python_qat_ao"];
    ratios["qat_bn_batch_stats_over_torch_ao_qat"] =
        med["qat_bn_batch_stats"] / med["python_qat_ao"];
    ratios["torch_ao_qat_over_python_float"] =
        med["python_qat_ao"] / med["python_float"];
  } else {
    j["python"] = {{"skipped", py.skipped()}};
  }

  if (o.json)
    return j;

  std::printf("\n%s, batch %lld, %d threads, median of %d interleaved steps "
              "after %d warm-up\n",
              name.c_str(), static_cast<long long>(o.batch), o.threads, o.reps,
              o.warmup);
  std::printf("  reference vs GraphModule float forward: max |diff| = %.2g\n",
              maxDiff);
  std::printf("  masked CIM groups in (c): %.1f%%\n",
              100.0 * j["masked_group_fraction"].get<double>());
  std::printf("  %-38s %9s %19s %8s %9s\n", "variant", "ms/step", "p10..p90",
              "vs (a)", "faults");
  for (const Variant &v : variants) {
    if (v.ms.empty())
      continue;
    std::printf("  %-38s %9.2f %8.2f..%-8.2f %7.2fx %9s\n", v.label.c_str(),
                med[v.key], quantile(v.ms, 0.1), quantile(v.ms, 0.9),
                med[v.key] / med["float_libtorch"],
                v.faults.empty()
                    ? "-"
                    : std::to_string(std::lround(median(v.faults))).c_str());
  }
  auto ratio = [&](const char *label, const char *key, const char *note) {
    std::printf("    %-44s %6.2f%s\n", label, ratios[key].get<double>(), note);
  };
  std::printf("  ratios (of medians):\n");
  ratio("(c)/(a)   QAT+sparsity / LibTorch float", "qat_over_libtorch_float",
        "  target <= 1.5");
  ratio("(c)/(b)   QAT+sparsity / GraphModule float", "qat_over_graph_float",
        "  target <= 1.3");
  ratio("(c0)/(b)  QAT, BN batch stats / GraphModule float",
        "qat_bn_batch_stats_over_graph_float", "  target <= 1.3");
  ratio("(b)/(a)   GraphModule float / LibTorch float",
        "graph_float_over_libtorch_float", "");
  ratio("(c')/(a)  QAT+sparsity+lasso / LibTorch float",
        "qat_lasso_over_libtorch_float", "");
  if (pyRan) {
    ratio("(c)/(p-c) C++ QAT / Python QAT", "qat_over_python_qat",
          "  target < 1");
    ratio("(a)/(p-a) LibTorch float / Python float",
          "libtorch_float_over_python_float", "");
    ratio("(p-c)/(p-a) Python QAT / Python float",
          "python_qat_over_python_float", "");
    ratio("(c)/(p-ao) QAT+sparsity / torch.ao QAT", "qat_over_torch_ao_qat",
          "  target <= 0.8");
    ratio("(c0)/(p-ao) QAT, BN batch stats / torch.ao QAT",
          "qat_bn_batch_stats_over_torch_ao_qat", "  target <= 0.8");
    ratio("(p-ao)/(p-a) torch.ao QAT / Python float",
          "torch_ao_qat_over_python_float", "");
  } else {
    std::printf("    PyTorch reference skipped: %s\n", py.skipped().c_str());
  }
  std::fflush(stdout);
  return j;
}

} // namespace

int main(int argc, char **argv) {
  // As marsc-train starts (tools/marsc/main.cpp): the heap keeps freed
  // memory and asks for huge pages.
  const bool hugePages = mars::preferHugePagesForHeap();
  BenchOptions o;
  if (!parseArgs(argc, argv, o))
    return 2;
  if (!o.json)
    std::fprintf(stderr,
                 "heap: as marsc-train's (%s); the PyTorch reference runs "
                 "with GLIBC_TUNABLES=%s\n",
                 hugePages ? "huge pages, freed memory kept"
                           : "huge-page advice not in place",
                 kPythonMallocTunables);
  at::set_num_threads(o.threads);
  // A worker that dies must not take us with it.
  std::signal(SIGPIPE, SIG_IGN);
  nlohmann::json all = nlohmann::json::array();
  try {
    for (const std::string &m : o.models)
      all.push_back(benchModel(o, m));
  } catch (const std::exception &e) {
    std::string what = e.what();
    std::fprintf(stderr, "bench_train_step: %s\n",
                 what.substr(0, what.find('\n')).c_str());
    return 1;
  }
  if (o.json)
    std::cout << all.dump(2) << "\n";
  return 0;
}
