// Operand checks for the timing model: the program may come from an
// untrusted file, so every index an instruction uses is checked before the
// simulator touches it.
#include "TimingInternal.h"

namespace mars::runtime::detail {

namespace {

using program::LayerKind;
using program::Opcode;

bool validBuffer(const program::Program &p, int32_t id) {
  return id >= 0 && id < static_cast<int32_t>(p.buffers.size());
}

Status checkLayerBuffers(const program::Program &p, int32_t layer) {
  const program::Layer &l = p.layers[layer];
  if (!validBuffer(p, l.output))
    return makeError("layer '", l.name, "': output buffer ", l.output,
                     " out of range");
  for (int32_t in : l.inputs)
    if (!validBuffer(p, in))
      return makeError("layer '", l.name, "': input buffer ", in,
                       " out of range");
  if (l.inputs.empty())
    return makeError("layer '", l.name, "' has no input");
  return Status::success();
}

Status checkImage(const program::Program &p, int core, int32_t image) {
  if (image < 0 || image >= static_cast<int32_t>(p.images.size()))
    return makeError("image ", image, " out of range (", p.images.size(),
                     " images)");
  const program::WeightImage &im = p.images[image];
  if (im.core != core)
    return makeError("image ", image, " belongs to core ", im.core);
  if (im.macro < 0 || im.macro >= p.arch.chip.macrosPerCore)
    return makeError("image ", image, ": macro ", im.macro,
                     " out of range (macros_per_core ",
                     p.arch.chip.macrosPerCore, ")");
  if (im.layer < 0 || im.layer >= static_cast<int32_t>(p.layers.size()))
    return makeError("image ", image, ": layer ", im.layer, " out of range");
  if (p.layers[im.layer].kind != LayerKind::Conv)
    return makeError("image ", image, ": layer '", p.layers[im.layer].name,
                     "' is not a Conv");
  for (const program::PartitionImage &part : im.partitions)
    if (part.matrix < -1 ||
        part.matrix >= static_cast<int32_t>(p.matrices.size()))
      return makeError("image ", image, ": partition matrix ", part.matrix,
                       " out of range");
  return checkLayerBuffers(p, im.layer);
}

Status checkLayerRange(const program::Program &p, const program::Instr &in,
                       bool conv) {
  if (in.a < 0 || in.a >= static_cast<int32_t>(p.layers.size()))
    return makeError("layer ", in.a, " out of range (", p.layers.size(),
                     " layers)");
  const program::Layer &l = p.layers[in.a];
  if ((l.kind == LayerKind::Conv) != conv)
    return makeError("layer '", l.name, "' (", program::layerKindName(l.kind),
                     ") cannot be the operand of ", program::opcodeName(in.op));
  MARS_TRY(checkLayerBuffers(p, in.a));
  const int64_t channels = p.buffers[l.output].channels;
  if (in.b < 0 || in.b > in.c || in.c > channels)
    return makeError("channels [", in.b, ",", in.c, ") outside [0,", channels,
                     ") of layer '", l.name, "'");
  if (!conv)
    return Status::success();
  for (size_t j = in.a + 1; j < p.layers.size(); ++j)
    if (p.layers[j].fusedInto == in.a)
      MARS_TRY(checkLayerBuffers(p, static_cast<int32_t>(j)));
  return Status::success();
}

} // namespace

Status checkInstr(const program::Program &p, int core, size_t index) {
  const program::Instr &in = p.streams[core][index];
  Status status = Status::success();
  switch (in.op) {
  case Opcode::LoadImage:
    status = checkImage(p, core, in.a);
    if (status && in.b != 0)
      status = checkImage(p, core, program::loadSource(in)); // Its bytes.
    break;
  case Opcode::FetchImage: status = checkImage(p, core, in.a); break;
  case Opcode::Compute: {
    status = checkImage(p, core, in.a);
    if (!status)
      break;
    const program::Layer &l = p.layers[p.images[in.a].layer];
    const program::Buffer &out = p.buffers[l.output];
    const int64_t pixels = int64_t(out.height) * out.width;
    if (in.b < 0 || in.b > in.c || in.c > pixels)
      status = makeError("pixels [", in.b, ",", in.c, ") outside [0,", pixels,
                         ") of layer '", l.name, "'");
    break;
  }
  case Opcode::Post: status = checkLayerRange(p, in, /*conv=*/true); break;
  case Opcode::Digital: status = checkLayerRange(p, in, /*conv=*/false); break;
  case Opcode::Sync:
    if (in.a < 0)
      status = makeError("negative barrier ", in.a);
    break;
  default: status = makeError("unknown opcode ", static_cast<int>(in.op));
  }
  if (!status)
    return status.error().withContext("timing: core " + std::to_string(core) +
                                      " instruction " + std::to_string(index));
  return Status::success();
}

} // namespace mars::runtime::detail
