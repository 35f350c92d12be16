/// \file
/// DataParallel on PyTorch's c10d: a TCPStore for the rendezvous and
/// ProcessGroupGloo for the collectives, the same pair `torch.distributed`
/// builds for init_method="tcp://HOST:PORT", backend="gloo". The c10d symbols
/// live in libtorch_cpu; Debian's Torch CMake package adds USE_DISTRIBUTED and
/// USE_C10D_GLOO (without which ProcessGroupGloo.hpp is empty) to every target
/// that links ${TORCH_LIBRARIES}. Gloo's headers come from libgloo-dev; its
/// library is a dependency of libtorch_cpu, so no link flag is added.
#include "Distributed.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#ifndef USE_C10D_GLOO
#error "link ${TORCH_LIBRARIES}: its torch_cpu target defines USE_C10D_GLOO"
#endif

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>

namespace mars::train {

struct DataParallel::Impl {
  // The group holds its own reference to the store; declaring the store
  // first just makes the group shut down before it.
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

namespace {

struct Address {
  std::string host;
  uint16_t port = 0;
};

/// Parses HOST:PORT. The last colon splits, so "[::1]:29500" and
/// "::1:29500" both work.
Expected<Address> parseMaster(const std::string &master) {
  const size_t colon = master.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return makeError("master address '", master, "' is not HOST:PORT");
  Address a;
  a.host = master.substr(0, colon);
  if (a.host.size() > 2 && a.host.front() == '[' && a.host.back() == ']')
    a.host = a.host.substr(1, a.host.size() - 2);
  const std::string port = master.substr(colon + 1);
  const bool digits =
      !port.empty() && std::all_of(port.begin(), port.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) != 0;
      });
  if (!digits)
    return makeError("master address '", master, "': port '", port,
                     "' is not a number");
  // At most 6 digits reach stol, so it cannot overflow.
  const long value = port.size() > 6 ? 100000 : std::stol(port);
  if (value < 1 || value > 65535)
    return makeError("master address '", master, "': port ", port,
                     " is out of range 1..65535");
  a.port = static_cast<uint16_t>(value);
  return a;
}

bool isLoopback(const std::string &host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

/// The Gloo transport device. With a loopback master every rank is on this
/// machine, so binding to that address always works, even in containers whose
/// hostname does not resolve. Otherwise the default device binds to the
/// address of this machine's hostname, as torch.distributed does;
/// GLOO_SOCKET_IFNAME picks an interface instead, with the same meaning as in
/// PyTorch (one interface name here).
std::shared_ptr<::gloo::transport::Device>
makeDevice(const std::string &masterHost) {
  if (const char *ifname = std::getenv("GLOO_SOCKET_IFNAME"))
    if (*ifname)
      return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  if (isLoopback(masterHost))
    return c10d::ProcessGroupGloo::createDeviceForHostname(masterHost);
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

/// The first line of a LibTorch message (the rest is a C++ backtrace).
std::string firstLine(const std::string &text) {
  return text.substr(0, text.find('\n'));
}

/// The type all defined tensors are exchanged in: their promoted type, made
/// floating when a mean has to be taken.
c10::ScalarType commonType(const std::vector<torch::Tensor> &tensors,
                           bool floating) {
  c10::optional<c10::ScalarType> type;
  for (const torch::Tensor &t : tensors)
    if (t.defined())
      type = type ? c10::promoteTypes(*type, t.scalar_type()) : t.scalar_type();
  c10::ScalarType result = type.value_or(torch::kFloat);
  if (floating && !c10::isFloatingType(result))
    return torch::kDouble;
  return result;
}

/// One contiguous buffer holding every defined tensor, flattened in order.
/// reshape copies the non-contiguous ones; the buffer is a fresh tensor either
/// way, because cat always allocates.
torch::Tensor flatten(const std::vector<torch::Tensor> &tensors,
                      c10::ScalarType type) {
  std::vector<torch::Tensor> parts;
  parts.reserve(tensors.size());
  for (const torch::Tensor &t : tensors)
    if (t.defined())
      parts.push_back(t.reshape({-1}).to(type));
  if (parts.empty())
    return torch::empty({0}, torch::TensorOptions().dtype(type));
  return torch::cat(parts);
}

/// Copies the buffer back into the tensors in place; copy_ handles strided
/// destinations and converts back to each tensor's own type.
void unflatten(const torch::Tensor &flat,
               const std::vector<torch::Tensor> &tensors) {
  int64_t offset = 0;
  for (const torch::Tensor &t : tensors) {
    if (!t.defined())
      continue;
    const int64_t n = t.numel();
    t.copy_(flat.narrow(/*dim=*/0, offset, n).view(t.sizes()));
    offset += n;
  }
  MARS_CHECK(offset == flat.numel(), "flattened size changed");
}

} // namespace

Expected<std::unique_ptr<DataParallel>>
DataParallel::connect(int worldSize, int rank, const std::string &master,
                      int timeoutSeconds) {
  if (worldSize < 1)
    return makeError("world size must be at least 1, got ", worldSize);
  if (rank < 0 || rank >= worldSize)
    return makeError("rank ", rank, " is outside 0..", worldSize - 1);
  std::unique_ptr<DataParallel> dp(new DataParallel());
  dp->rank_ = rank;
  dp->worldSize_ = worldSize;
  // One process needs no group: impl_ stays null and every call returns.
  if (worldSize == 1)
    return dp;

  Expected<Address> address = parseMaster(master);
  if (!address)
    return address.error();
  if (timeoutSeconds < 1)
    return makeError("distributed timeout must be at least 1 s, got ",
                     timeoutSeconds);

  const std::string who = "rank " + std::to_string(rank) + " of " +
                          std::to_string(worldSize) + " at " + master;
  const std::chrono::milliseconds timeout =
      std::chrono::seconds(timeoutSeconds);
  auto impl = std::make_unique<Impl>();
  try {
    c10d::TCPStoreOptions storeOptions;
    storeOptions.port = address->port;
    storeOptions.isServer = rank == 0;
    storeOptions.numWorkers = static_cast<size_t>(worldSize);
    // TCPStore's own wait for workers gives up silently on the server at the
    // timeout; the explicit roll call below fails instead.
    storeOptions.waitWorkers = false;
    storeOptions.timeout = timeout;
    impl->store =
        c10::make_intrusive<c10d::TCPStore>(address->host, storeOptions);

    // Every rank signs in and waits for all the others, so that a missing
    // rank is an error after `timeout` here rather than a wait of the group's
    // own rendezvous, which is bounded only by its collective timeout.
    std::vector<std::string> keys;
    for (int r = 0; r < worldSize; ++r)
      keys.push_back("mars/joined/" + std::to_string(r));
    impl->store->set(keys[rank], std::vector<uint8_t>{1});
    try {
      impl->store->wait(keys, timeout);
    } catch (const std::exception &) {
      return makeError("cannot join the training group as ", who, ": not all ",
                       worldSize, " ranks joined within ", timeoutSeconds,
                       " s");
    }

    // The group keeps PyTorch's default collective timeout (30 min): ranks
    // legitimately wait for each other through evaluation and checkpoints,
    // and a rank that dies closes its sockets, which fails the collective at
    // once. All ranks are known to be up, so its rendezvous is quick.
    auto options = c10d::ProcessGroupGloo::Options::create();
    options->devices.push_back(makeDevice(address->host));
    impl->group = c10::make_intrusive<c10d::ProcessGroupGloo>(
        impl->store, rank, worldSize, options);
  } catch (const c10::Error &e) {
    return makeError("cannot join the training group as ", who, ": ",
                     firstLine(e.what_without_backtrace()));
  } catch (const std::exception &e) {
    return makeError("cannot join the training group as ", who, ": ",
                     firstLine(e.what()));
  }
  dp->impl_ = std::move(impl);
  return dp;
}

DataParallel::~DataParallel() = default;

// The collectives below throw c10::Error when a peer fails; train() turns
// that into an Error at the library boundary. NoGradGuard: broadcasting into
// parameters writes leaves that require grad, which autograd would refuse.

void DataParallel::allReduceMean(const std::vector<torch::Tensor> &tensors) {
  if (!impl_)
    return;
  torch::NoGradGuard noGrad;
  torch::Tensor flat = flatten(tensors, commonType(tensors, /*floating=*/true));
  if (flat.numel() == 0)
    return;
  std::vector<torch::Tensor> buffer{flat};
  impl_->group->allreduce(buffer)->wait();
  flat.div_(worldSize_);
  unflatten(flat, tensors);
}

void DataParallel::broadcastFromRoot(
    const std::vector<torch::Tensor> &tensors) {
  if (!impl_)
    return;
  torch::NoGradGuard noGrad;
  torch::Tensor flat =
      flatten(tensors, commonType(tensors, /*floating=*/false));
  if (flat.numel() == 0)
    return;
  std::vector<torch::Tensor> buffer{flat};
  c10d::BroadcastOptions options;
  options.rootRank = 0;
  impl_->group->broadcast(buffer, options)->wait();
  if (!isRoot())
    unflatten(flat, tensors);
}

int64_t DataParallel::allReduceSum(int64_t value) {
  if (!impl_)
    return value;
  std::vector<torch::Tensor> buffer{torch::full({1}, value, torch::kLong)};
  impl_->group->allreduce(buffer)->wait();
  return buffer[0].item<int64_t>();
}

void DataParallel::barrier() {
  if (!impl_)
    return;
  impl_->group->barrier()->wait();
}

} // namespace mars::train
