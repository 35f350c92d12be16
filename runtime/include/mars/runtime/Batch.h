#pragma once
/// \file
/// Many images through the functional model on several threads, the way
/// `marsc run --data` and the simulator benchmark feed them: one Executor
/// per thread (an Executor is not shared; the first is created, the others
/// are its clones, sharing its prepared weights), images handed out one at
/// a time so that threads stay busy whatever each image costs.

#include "mars/runtime/Functional.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace mars::runtime {

/// Writes image `index` (float, the program input's C×H×W) into `pixels`.
using ImageSource = std::function<void(int64_t index, float *pixels)>;
/// Receives image `index`'s output; called from several threads at once.
using OutputSink =
    std::function<void(int64_t index, const std::vector<int32_t> &output)>;
/// Told how many images are done, after each image; calls are serialised
/// (one at a time, from whichever thread finished), though a later count
/// may arrive before an earlier one.
using ProgressSink = std::function<void(int64_t done)>;

/// Runs images 0..count-1 of `source` on min(threads, count) executors.
/// Stops at the first error and returns it (the other threads finish their
/// current image and stop).
Status runImages(const program::Program &program, const ExecOptions &options,
                 int64_t count, int threads, const ImageSource &source,
                 const OutputSink &sink, const ProgressSink &progress = {});

} // namespace mars::runtime
