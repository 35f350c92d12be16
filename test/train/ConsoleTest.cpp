// lib/train's console: the progress bar and epoch lines `marsc train`
// prints on stderr, and Ctrl-C turned into the trainer's interrupt.
#include "mars/train/Console.h"

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>

using namespace mars;

namespace {

/// What an observer printed: a memory stream read back as a string.
class Capture {
public:
  Capture() : stream_(::open_memstream(&buffer_, &size_)) { REQUIRE(stream_); }
  ~Capture() {
    std::fclose(stream_);
    std::free(buffer_);
  }
  std::FILE *stream() { return stream_; }
  std::string text() {
    std::fflush(stream_);
    return std::string(buffer_, size_);
  }

private:
  char *buffer_ = nullptr;
  size_t size_ = 0;
  std::FILE *stream_;
};

train::EpochRecord epoch() {
  train::EpochRecord r;
  r.stage = "qat";
  r.epoch = 2;
  r.loss = 0.41234;
  r.trainAccuracy = 0.852;
  r.testAccuracy = 0.841;
  r.groupSparsity = 0.25;
  r.learningRate = 0.01;
  r.seconds = 3.14;
  r.imagesPerSecond = 6000;
  return r;
}

train::Progress progress() {
  train::Progress p;
  p.stage = "float";
  p.epoch = 2;
  p.epochs = 8;
  p.step = 25;
  p.steps = 100;
  p.loss = 0.5123;
  p.accuracy = 0.813;
  p.imagesPerSecond = 5999.6;
  p.etaSeconds = 12.2;
  return p;
}

} // namespace

TEST_CASE("in a log: one line per epoch and per message, no bar",
          "[train][console]") {
  Capture out;
  train::ConsoleObserver observer(/*enabled=*/true, out.stream(),
                                  /*terminal=*/false);
  observer.onProgress(progress());
  observer.onEpoch(epoch());
  observer.onMessage("stage 'prune': 3 epochs of 10 steps");
  CHECK(out.text() ==
        "qat      epoch 2: loss 0.4123  train 85.20%  test 84.10%  groups "
        "zero 25.0%  lr 0.01  3.1s (6000 img/s)\n"
        "stage 'prune': 3 epochs of 10 steps\n");
}

TEST_CASE("on a terminal: a bar redrawn in place, lines over it",
          "[train][console]") {
  Capture out;
  train::ConsoleObserver observer(/*enabled=*/true, out.stream(),
                                  /*terminal=*/true);
  observer.onProgress(progress());
  observer.onEpoch(epoch());
  observer.onMessage("done");
  CHECK(out.text() ==
        "\rfloat    2/8 [######..................]  25%    6000 img/s  loss "
        "0.512  acc  81.3%  ETA  12s "
        "\rqat      epoch 2: loss 0.4123  train 85.20%  test 84.10%  groups "
        "zero 25.0%  lr 0.01  3.1s (6000 img/s)\n"
        "\rdone\n");
}

TEST_CASE("--no-progress: nothing at all", "[train][console]") {
  Capture out;
  train::ConsoleObserver observer(/*enabled=*/false, out.stream(),
                                  /*terminal=*/true);
  observer.onProgress(progress());
  observer.onEpoch(epoch());
  observer.onMessage("stage 'float'");
  CHECK(out.text().empty());
}

TEST_CASE("Ctrl-C requests an interrupt only while the guard lives",
          "[train][console]") {
  {
    train::CtrlCInterrupts ctrlC;
    CHECK_FALSE(train::interruptRequested());
    std::raise(SIGINT);
    CHECK(train::interruptRequested());
  }
  struct sigaction now {};
  REQUIRE(::sigaction(SIGINT, nullptr, &now) == 0);
  CHECK(now.sa_handler == SIG_DFL);
}
