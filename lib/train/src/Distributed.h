#pragma once
// Data-parallel training on PyTorch's own distributed engine: c10d with the
// Gloo backend and a TCPStore rendezvous. With world size 1 every call is a
// no-op, so the trainer has one code path.

#include "mars/support/Error.h"

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace mars::train {

class DataParallel {
public:
  /// Connects to the group: rank 0 hosts the TCPStore at `master`
  /// (HOST:PORT). Fails with a clear error on a bad address or a timeout
  /// (`timeoutSeconds`).
  static Expected<std::unique_ptr<DataParallel>>
  connect(int worldSize, int rank, const std::string &master,
          int timeoutSeconds = 120);
  ~DataParallel();

  int rank() const { return rank_; }
  int worldSize() const { return worldSize_; }
  bool isRoot() const { return rank_ == 0; }

  /// Replaces each tensor, in place, by the mean over all ranks: one
  /// allreduce of a flattened concatenation of all of them. Tensors may be
  /// strided views; undefined ones are skipped; mixed types travel in their
  /// promoted type. Every rank must pass the same shapes in the same order.
  /// The collectives throw c10::Error when a peer fails; train() turns that
  /// into an Error.
  void allReduceMean(const std::vector<torch::Tensor> &tensors);
  /// Copies rank 0's values into every rank's tensors, in place, with one
  /// broadcast (same rules as allReduceMean). Parameters may be passed.
  void broadcastFromRoot(const std::vector<torch::Tensor> &tensors);
  /// Sum of an integer over ranks.
  int64_t allReduceSum(int64_t value);
  /// Returns when every rank has called it.
  void barrier();

private:
  DataParallel() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0;
  int worldSize_ = 1;
};

} // namespace mars::train
