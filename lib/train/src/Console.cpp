// `marsc train` at a terminal: progress output and Ctrl-C (Console.h).
#include "mars/train/Console.h"

#include <csignal>
#include <unistd.h>

namespace mars::train {

namespace {
extern "C" void onSigint(int) { requestInterrupt(); }
} // namespace

CtrlCInterrupts::CtrlCInterrupts() { std::signal(SIGINT, onSigint); }

CtrlCInterrupts::~CtrlCInterrupts() { std::signal(SIGINT, SIG_DFL); }

ConsoleObserver::ConsoleObserver(bool enabled, std::FILE *stream)
    : ConsoleObserver(enabled, stream, ::isatty(::fileno(stream)) != 0) {}

ConsoleObserver::ConsoleObserver(bool enabled, std::FILE *stream, bool terminal)
    : enabled_(enabled), stream_(stream), terminal_(terminal) {}

void ConsoleObserver::onProgress(const Progress &p) {
  if (!enabled_ || !terminal_)
    return;
  const int width = 24;
  int filled = int(double(p.step) / double(p.steps) * width);
  std::string bar(filled, '#');
  bar += std::string(width - filled, '.');
  std::fprintf(stream_,
               "\r%-8s %d/%d [%s] %3d%%  %6.0f img/s  loss %.3f  acc "
               "%5.1f%%  ETA %3.0fs ",
               p.stage.c_str(), p.epoch, p.epochs, bar.c_str(),
               int(100 * p.step / p.steps), p.imagesPerSecond, p.loss,
               100 * p.accuracy, p.etaSeconds);
  std::fflush(stream_);
}

void ConsoleObserver::onEpoch(const EpochRecord &r) {
  if (!enabled_)
    return;
  // On a terminal "\r" starts the line over the progress bar.
  std::fprintf(stream_,
               "%s%-8s epoch %d: loss %.4f  train %.2f%%  test %.2f%%  "
               "groups zero %.1f%%  lr %.4g  %.1fs (%.0f img/s)\n",
               terminal_ ? "\r" : "", r.stage.c_str(), r.epoch, r.loss,
               100 * r.trainAccuracy, 100 * r.testAccuracy,
               100 * r.groupSparsity, r.learningRate, r.seconds,
               r.imagesPerSecond);
}

void ConsoleObserver::onMessage(const std::string &m) {
  if (enabled_)
    std::fprintf(stream_, "%s%s\n", terminal_ ? "\r" : "", m.c_str());
}

} // namespace mars::train
