#include "mars/runtime/Batch.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <thread>

namespace mars::runtime {

Status runImages(const program::Program &program, const ExecOptions &options,
                 int64_t count, int threads, const ImageSource &source,
                 const OutputSink &sink, const ProgressSink &progress) {
  threads =
      static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, count)));
  std::vector<Executor> executors;
  auto first = Executor::create(program, options);
  if (!first)
    return first.error();
  executors.push_back(first.take());
  for (int t = 1; t < threads; ++t)
    executors.push_back(executors[0].clone());
  std::atomic<int64_t> next{0}, done{0};
  std::atomic<bool> failed{false};
  std::optional<Error> firstError;
  std::mutex errorMutex, progressMutex;
  const int64_t imageSize = program.buffers[program.input].size();
  auto work = [&](int t) {
    std::vector<float> image(static_cast<size_t>(imageSize));
    for (;;) {
      const int64_t i = next.fetch_add(1);
      if (i >= count || failed)
        return;
      source(i, image.data());
      auto out = executors[t].run(quantizeInput(program, image.data()));
      if (!out) {
        std::lock_guard<std::mutex> lock(errorMutex);
        if (!failed.exchange(true))
          firstError = out.error();
        return;
      }
      sink(i, *out);
      const int64_t d = ++done;
      if (progress) {
        std::lock_guard<std::mutex> lock(progressMutex);
        progress(d);
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t)
    pool.emplace_back(work, t);
  work(0);
  for (std::thread &th : pool)
    th.join();
  if (firstError)
    return *firstError;
  return Status::success();
}

} // namespace mars::runtime
