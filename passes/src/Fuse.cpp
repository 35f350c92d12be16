/// fuse: runs pooling and residual Add in the digital pipeline of the Conv
/// that produces their input, so the Conv's output never makes a round trip
/// through the activation SRAM. ReLU and Clip need no pass: lower-to-integer
/// already turned them into the Conv's output clamp.
///
/// Requires lower-to-integer. A layer L (MaxPool, AvgPool or Add) is fused into
/// Conv C when L reads the output of C — or of a layer already fused into C —
/// and is that value's only reader, and, for Add, every other input is computed
/// before C starts (so it is in SRAM when C's post-processing runs). Fused
/// layers work channel by channel, which is how a Post instruction splits the
/// work. Concat and Reshape are never fused (they move channels).
#include "mars/passes/Passes.h"

#include <map>

namespace mars::passes {

namespace {

using quant::IntOp;

const char *statName(IntOp op) {
  switch (op) {
  case IntOp::MaxPool: return "MaxPool fused into Conv";
  case IntOp::AvgPool: return "AvgPool fused into Conv";
  default: return "Add fused into Conv";
  }
}

} // namespace

Expected<bool> runFuse(CompileState &state, const CompileContext &) {
  if (!state.net)
    return makeError("fuse needs the integer layers of lower-to-integer");
  const quant::IntegerNet &net = *state.net;
  const size_t n = net.layers.size();
  state.fusedInto.assign(n, -1);

  std::map<int, int> producer; // value id → layer index
  std::map<int, int> readers;  // value id → number of reading layers
  for (size_t i = 0; i < n; ++i) {
    producer[net.layers[i].output] = static_cast<int>(i);
    for (int in : net.layers[i].inputs)
      ++readers[in];
  }
  // The Conv whose pipeline runs layer i (itself for a Conv), or -1.
  std::vector<int> pipelineOf(n, -1);
  bool changed = false;
  for (size_t i = 0; i < n; ++i) {
    const quant::IntLayer &l = net.layers[i];
    if (l.op == IntOp::Conv) {
      pipelineOf[i] = static_cast<int>(i);
      continue;
    }
    if (l.op != IntOp::MaxPool && l.op != IntOp::AvgPool && l.op != IntOp::Add)
      continue;
    // Find the input that comes from a Conv pipeline.
    int host = -1;
    for (int in : l.inputs) {
      auto p = producer.find(in);
      if (p == producer.end() || pipelineOf[p->second] < 0)
        continue;
      if (readers[in] != 1 || in == net.output)
        continue;
      host = pipelineOf[p->second];
      break;
    }
    if (host < 0 || net.value(net.layers[host].output).isAccumulator)
      continue;
    // Every other input must be ready before the host Conv runs.
    bool ready = true;
    for (int in : l.inputs) {
      auto p = producer.find(in);
      if (p == producer.end())
        continue; // the network input
      if (pipelineOf[p->second] == host)
        continue;
      ready = ready && p->second < host;
    }
    if (!ready)
      continue;
    state.fusedInto[i] = host;
    pipelineOf[i] = host;
    state.count("fuse", statName(l.op), 1);
    changed = true;
  }
  return changed;
}

} // namespace mars::passes
