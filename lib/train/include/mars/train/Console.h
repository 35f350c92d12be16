#pragma once
/// \file
/// `marsc train` at a terminal: progress on the console or in a log (a
/// TrainObserver that prints) and Ctrl-C. No LibTorch here.

#include "mars/train/Train.h"

#include <cstdio>

namespace mars::train {

/// Renders progress on `stream` (stderr in `marsc train`): a redrawn bar
/// while an epoch runs when the stream is a terminal, and one line per
/// epoch and per message either way (so logs stay readable).
class ConsoleObserver : public TrainObserver {
public:
  /// Prints nothing unless `enabled` (`--no-progress` clears it); whether
  /// `stream` is a terminal is asked once, here.
  explicit ConsoleObserver(bool enabled, std::FILE *stream = stderr);
  /// As above with the terminal question answered by the caller (tests).
  ConsoleObserver(bool enabled, std::FILE *stream, bool terminal);

  /// "float    2/8 [######..........]  25%  6000 img/s  loss 0.512  acc
  /// 81.3%  ETA  12s", redrawn in place; only on a terminal.
  void onProgress(const Progress &p) override;
  /// "qat      epoch 1: loss 0.4123  train 85.20%  test 84.10%  groups
  /// zero 0.0%  lr 0.01  3.1s (6000 img/s)".
  void onEpoch(const EpochRecord &r) override;
  /// The message on a line of its own.
  void onMessage(const std::string &m) override;

private:
  bool enabled_;
  std::FILE *stream_;
  bool terminal_;
};

/// While one exists, Ctrl-C (SIGINT) asks the trainer to stop
/// (requestInterrupt: it saves a checkpoint after the current step and
/// returns an error that says how to resume); afterwards SIGINT has its
/// default action again.
class CtrlCInterrupts {
public:
  CtrlCInterrupts();
  ~CtrlCInterrupts();
  CtrlCInterrupts(const CtrlCInterrupts &) = delete;
  CtrlCInterrupts &operator=(const CtrlCInterrupts &) = delete;
};

} // namespace mars::train
