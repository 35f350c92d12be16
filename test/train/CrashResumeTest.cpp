// Crash-safe training (issue 15 point 4): `marsc train` killed with SIGKILL
// at a seeded random moment in each stage (float, qat, prune, finetune),
// then `marsc train --resume`, writes the same compressed model, byte for
// byte, as a run that was never interrupted; and the kill leaves no
// half-written checkpoint.
//
// How: one uninterrupted run gives the reference bytes and, from the time
// stamps of its "stage '...'" lines, how long each stage takes on this
// machine and build. Then, per stage, the same command (with
// --checkpoint-every, so kills land between mid-epoch checkpoints) runs in
// its own process group; once its stderr announces the stage, the test
// waits a seeded random fraction of that stage's duration and sends SIGKILL
// to the group (if the stage had already ended, which a run faster than
// the reference can do in a stage of tens of milliseconds, it tries again
// from scratch at half the fraction). The checkpoint left must be a whole
// archive (its zip end-of-central-directory record last), and a temporary
// that a kill during a write would leave is simulated when the kill did not
// leave one;
// the resumed run must say it continues in that stage, remove the
// temporary, and write the reference bytes. MARS_CRASH_SEED=N replays the
// kill points of a failure (the seed is printed).

#include "common/RequireData.h"
#include "common/Subprocess.h"

#include "mars/data/Dataset.h"
#include "mars/support/Random.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <poll.h>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using mars::test::readWholeFile;

namespace {

using Clock = std::chrono::steady_clock;

const std::string kOut = std::string(MARS_BINARY_DIR) + "/test/train/crash";

/// The tiny schedule: 256 images, batches of 32 (8 steps per epoch), one
/// epoch per stage, a checkpoint every 2 steps (so a kill mid-epoch resumes
/// from a mid-epoch checkpoint, or from the stage's start).
std::vector<std::string> trainArgs(const std::string &output) {
  std::vector<std::string> args = {MARSC_PATH};
  std::istringstream words(
      "train --limit-train 256 --limit-test 50 --batch-size 32 --epochs 1 "
      "--qat-epochs 1 --prune-epochs 1 --finetune-epochs 1 --threads 1 "
      "--seed 7 --checkpoint-every 2 -o");
  for (std::string w; words >> w;)
    args.push_back(w);
  args.push_back(output);
  return args;
}

/// One stderr line and when it arrived.
struct Line {
  std::string text;
  double at = 0; ///< Seconds since the process started.
};

/// `marsc train` in its own process group, stderr read line by line.
class Training {
public:
  explicit Training(const std::vector<std::string> &args) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    start_ = Clock::now();
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::dup2(fds[1], 2);
      ::close(fds[0]);
      ::close(fds[1]);
      if (!std::freopen("/dev/null", "w", stdout))
        std::_Exit(127);
      std::vector<char *> argv;
      for (const std::string &a : args)
        argv.push_back(const_cast<char *>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      std::_Exit(127);
    }
    ::setpgid(pid_, pid_); // both sides, so no kill can come before it
    ::close(fds[1]);
    fd_ = fds[0];
  }
  ~Training() {
    if (fd_ >= 0)
      ::close(fd_);
    if (pid_ > 0 && !reaped_) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  double elapsed() const {
    return std::chrono::duration<double>(Clock::now() - start_).count();
  }

  /// Reads what stderr has for at most `seconds`; false at end of file.
  bool pump(double seconds) {
    if (fd_ < 0)
      return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, int(seconds * 1000)) <= 0)
      return true;
    char buf[4096];
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) {
      ::close(fd_);
      fd_ = -1;
      return false;
    }
    partial_.append(buf, size_t(n));
    for (size_t nl; (nl = partial_.find('\n')) != std::string::npos;) {
      lines_.push_back({partial_.substr(0, nl), elapsed()});
      partial_.erase(0, nl + 1);
    }
    return true;
  }

  /// Waits until a line starts with `prefix`; its time, or -1 at the end.
  double waitFor(const std::string &prefix) {
    for (size_t seen = 0;;) {
      for (; seen < lines_.size(); ++seen)
        if (lines_[seen].text.compare(0, prefix.size(), prefix) == 0)
          return lines_[seen].at;
      if (!pump(0.05) && seen == lines_.size())
        return -1;
    }
  }

  /// Reads stderr to the end and returns the exit status (waitpid's).
  int finish() {
    while (pump(0.5)) {
    }
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
    return status;
  }

  /// SIGKILL to the whole process group (marsc, which execs marsc-train,
  /// and anything it started).
  int killGroup() {
    ::kill(-pid_, SIGKILL);
    return finish();
  }

  pid_t pid() const { return pid_; }
  const std::vector<Line> &lines() const { return lines_; }
  std::string text() const {
    std::string all;
    for (const Line &l : lines_)
      all += l.text + "\n";
    return all;
  }

private:
  pid_t pid_ = -1;
  int fd_ = -1;
  bool reaped_ = false;
  Clock::time_point start_;
  std::string partial_;
  std::vector<Line> lines_;
};

bool fashionMnistInstalled() {
  return std::ifstream(std::string(mars::data::kFashionMnistDir) +
                       "/t10k-labels-idx1-ubyte.gz")
      .good();
}

/// A whole zip archive (what LibTorch writes) ends with its 22-byte
/// end-of-central-directory record: a file cut short does not.
bool wholeArchive(const std::string &path) {
  const std::string bytes = readWholeFile(path);
  return bytes.size() >= 22 &&
         bytes.compare(bytes.size() - 22, 4, "PK\x05\x06") == 0;
}

/// Files in `dir` whose name holds ".tmp." (writeFileAtomic's temporaries).
std::vector<std::string> temporaries(const std::string &dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().find(".tmp.") != std::string::npos)
      out.push_back(e.path().string());
  return out;
}

/// "identical", or where two files' bytes first differ (a Catch
/// expansion of the model bytes themselves would be unreadable).
std::string firstDifference(const std::string &got,
                            const std::string &expected) {
  if (got == expected)
    return "identical";
  size_t i = 0;
  while (i < got.size() && i < expected.size() && got[i] == expected[i])
    ++i;
  return "first difference at byte " + std::to_string(i) + " (" +
         std::to_string(got.size()) + " bytes, reference " +
         std::to_string(expected.size()) + ")";
}

uint64_t crashSeed() {
  if (const char *s = std::getenv("MARS_CRASH_SEED"))
    return std::strtoull(s, nullptr, 10);
  return uint64_t(std::chrono::system_clock::now().time_since_epoch().count()) %
         1000000;
}

} // namespace

TEST_CASE("marsc train killed with SIGKILL in any stage resumes to the "
          "uninterrupted model's bytes") {
  if (!fashionMnistInstalled()) {
    MARS_SKIP_MISSING("dataset-fashion-mnist");
    return;
  }
  fs::remove_all(kOut);
  fs::create_directories(kOut);
  const std::vector<std::string> stages = {"float", "qat", "prune", "finetune"};

  // The reference, and how long each stage takes here.
  const std::string reference = kOut + "/reference.onnx";
  Training whole(trainArgs(reference));
  const int status = whole.finish();
  INFO("reference run stderr:\n" << whole.text());
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  const std::string expected = readWholeFile(reference);
  REQUIRE(!expected.empty());
  std::vector<double> startAt, seconds;
  for (const std::string &stage : stages) {
    double at = -1;
    for (const Line &l : whole.lines())
      if (l.text.rfind("stage '" + stage + "'", 0) == 0)
        at = l.at;
    REQUIRE(at >= 0);
    startAt.push_back(at);
  }
  for (size_t k = 0; k < stages.size(); ++k) {
    // A stage ends with its (one) epoch line: "prune    epoch 1: ...".
    double end = -1;
    for (const Line &l : whole.lines())
      if (l.at >= startAt[k] && l.text.rfind(stages[k] + " ", 0) == 0 &&
          l.text.find(" epoch 1: ") != std::string::npos) {
        end = l.at;
        break;
      }
    REQUIRE(end > startAt[k]);
    seconds.push_back(end - startAt[k]);
  }

  const uint64_t seed = crashSeed();
  std::printf("train_crash_resume: seed %llu (MARS_CRASH_SEED=%llu replays "
              "these kill points)\n",
              (unsigned long long)seed, (unsigned long long)seed);
  std::fflush(stdout);
  mars::Random random(seed);
  for (size_t k = 0; k < stages.size(); ++k) {
    const std::string &stage = stages[k];
    const double drawn = 0.05 + 0.65 * random.unit();
    const std::string output = kOut + "/" + stage + ".onnx";
    const std::string checkpoints = output + ".ckpt";
    const std::string checkpoint = checkpoints + "/last.pt";

    // A stage of 8 lenet5 steps takes tens of milliseconds, so a run that
    // goes faster than the reference did can finish the stage before the
    // kill. Such a kill tests the next stage, not this one: then the same
    // kill point is tried again at half the fraction, from scratch.
    std::unique_ptr<Training> cut;
    double fraction = drawn;
    for (int attempt = 0;; ++attempt, fraction /= 2) {
      INFO("seed " << seed << ", stage '" << stage << "', attempt "
                   << attempt + 1 << ", killed " << fraction
                   << " of the way into its " << seconds[k] << " s");
      fs::remove_all(checkpoints);
      fs::remove(output);
      cut = std::make_unique<Training>(trainArgs(output));
      const double started = cut->waitFor("stage '" + stage + "'");
      if (started < 0)
        FAIL("marsc train ended without starting the stage:\n" + cut->text());
      // Float has no checkpoint before its first --checkpoint-every steps,
      // and --resume needs one: kill after it appears.
      const double killAt = started + fraction * seconds[k];
      while (cut->elapsed() < killAt || !fs::exists(checkpoint))
        if (!cut->pump(0.01))
          FAIL("marsc train ended before it was killed:\n" + cut->text());
      const int killed = cut->killGroup();
      INFO("killed run stderr:\n" << cut->text());
      REQUIRE(WIFSIGNALED(killed));
      REQUIRE(WTERMSIG(killed) == SIGKILL);
      std::printf("  %-8s killed at %5.2f s (%.3f of the stage)\n",
                  stage.c_str(), cut->elapsed(), fraction);
      std::fflush(stdout);
      // The stage's epoch line is its last: "prune    epoch 1: ...".
      bool stageEnded = false;
      for (const Line &l : cut->lines())
        stageEnded |= l.text.rfind(stage + " ", 0) == 0 &&
                      l.text.find(" epoch 1: ") != std::string::npos;
      if (!stageEnded)
        break;
      if (attempt == 4)
        FAIL("every kill came after the stage had ended");
      std::printf("  %-8s had ended before the kill; again\n", stage.c_str());
      std::fflush(stdout);
    }
    INFO("seed " << seed << ", stage '" << stage << "', killed " << fraction
                 << " of the way into its " << seconds[k] << " s");
    INFO("killed run stderr:\n" << cut->text());
    const std::string stale = checkpoint + ".tmp." + std::to_string(cut->pid());

    // What the kill left: a whole checkpoint, no outputs, and at most the
    // temporary of a checkpoint it was writing.
    REQUIRE(fs::exists(checkpoint));
    CHECK(wholeArchive(checkpoint));
    CHECK(!fs::exists(output));
    for (const std::string &t : temporaries(checkpoints))
      CHECK(t == stale);
    if (!fs::exists(stale)) // as if the kill came in the middle of a write
      std::ofstream(stale, std::ios::binary) << "PK\x03\x04 cut short";

    std::vector<std::string> args = trainArgs(output);
    args.push_back("--resume");
    args.push_back(checkpoint);
    Training resumed(args);
    const int resumedStatus = resumed.finish();
    INFO("resumed run stderr:\n" << resumed.text());
    REQUIRE(WIFEXITED(resumedStatus));
    REQUIRE(WEXITSTATUS(resumedStatus) == 0);
    CHECK(resumed.text().find("(stage '" + stage + "'") != std::string::npos);
    CHECK(resumed.text().find("removed 1 unfinished checkpoint temporary") !=
          std::string::npos);
    CHECK(temporaries(checkpoints).empty());
    CHECK(temporaries(kOut).empty());
    CHECK(firstDifference(readWholeFile(output), expected) == "identical");
  }
}
