/// program.bin: the header and section table around the sections of
/// Layout.h; parsing checks every offset, length and count before use, then
/// hands the result to validateProgram.
#include "Layout.h"
#include "mars/program/ProgramFile.h"
#include "mars/support/AtomicFile.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace mars::program {

using namespace detail;

namespace {

void putU32(std::vector<uint8_t> &b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    b[at + i] = uint8_t(v >> (8 * i));
}
void putU64(std::vector<uint8_t> &b, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    b[at + i] = uint8_t(v >> (8 * i));
}
uint64_t getLe(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i)
    v |= uint64_t(p[i]) << (8 * i);
  return v;
}
size_t align8(size_t n) { return (n + 7) & ~size_t(7); }

/// Files larger than this are rejected before reading (a program of the
/// largest model the chip could run is a few tens of MiB).
constexpr uint64_t kMaxFileBytes = uint64_t(1) << 31;

} // namespace

uint64_t programChecksum(const uint8_t *data, size_t size) {
  // FNV-1a over the file with the checksum field read as zeros. The loops
  // around the field keep the per-byte test out of the long one.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](uint8_t b) { h = (h ^ b) * 1099511628211ull; };
  const size_t fieldEnd = std::min(size, kChecksumOffset + 8);
  size_t i = 0;
  for (; i < std::min(size, kChecksumOffset); ++i)
    mix(data[i]);
  for (; i < fieldEnd; ++i)
    mix(0);
  for (; i < size; ++i)
    mix(data[i]);
  return h;
}

void resealChecksum(std::vector<uint8_t> &bytes) {
  if (bytes.size() < kHeaderBytes)
    return;
  putU64(bytes, kChecksumOffset, programChecksum(bytes.data(), bytes.size()));
}

std::vector<uint8_t> serializeProgram(const Program &program) {
  // Layout.h's templates take non-const references because the Decoder
  // fills them; SizeCounter and Encoder only read, so no copy of the
  // program (its weights are most of it) is needed.
  Program &p = const_cast<Program &>(program);
  const std::string arch = arch::archToJson(p.arch);
  // The sections' sizes first, so that the output is allocated once and
  // written in place (a large model's program is tens of MiB).
  std::vector<size_t> sizes = {arch.size()};
  for (uint32_t kind = kInfo; kind <= kSectionCount; ++kind) {
    SizeCounter counter;
    ioSection(counter, kind, p);
    sizes.push_back(counter.size);
  }
  size_t offset = align8(kHeaderBytes + kSectionCount * kSectionEntryBytes);
  std::vector<size_t> offsets;
  for (size_t size : sizes) {
    offsets.push_back(offset);
    offset = align8(offset + size);
  }
  std::vector<uint8_t> out;
  out.reserve(offset);
  out.resize(offsets[0], 0);
  out.insert(out.end(), arch.begin(), arch.end());
  Encoder encoder(out);
  for (uint32_t kind = kInfo; kind <= kSectionCount; ++kind) {
    out.resize(offsets[kind - kArch], 0); // the padding before the section
    ioSection(encoder, kind, p);
    MARS_CHECK(out.size() == offsets[kind - kArch] + sizes[kind - kArch],
               "SizeCounter and Encoder disagree on a section's size");
  }
  out.resize(offset, 0);
  std::memcpy(out.data(), kMagic, 8);
  putU32(out, 8, kFormatVersion);
  putU32(out, 12, 0);
  putU64(out, 16, out.size());
  putU32(out, 32, kSectionCount);
  for (uint32_t i = 0; i < kSectionCount; ++i) {
    size_t entry = kHeaderBytes + i * kSectionEntryBytes;
    putU32(out, entry, kArch + i);
    putU64(out, entry + 8, offsets[i]);
    putU64(out, entry + 16, sizes[i]);
  }
  resealChecksum(out);
  return out;
}

Status writeProgramFile(const Program &program, const std::string &path) {
  std::vector<uint8_t> bytes = serializeProgram(program);
  return writeFileAtomic(path, std::string(bytes.begin(), bytes.end()));
}

Expected<Program> parseProgram(const uint8_t *data, size_t size,
                               const std::string &source,
                               const ReadOptions &options) {
  auto bad = [&](const auto &...parts) {
    return makeError(source, ": ", parts...);
  };
  if (size < kHeaderBytes)
    return bad("not a marsc program (", size, " bytes, shorter than the ",
               kHeaderBytes, "-byte header)");
  if (std::memcmp(data, kMagic, 8) != 0)
    return bad("not a marsc program (bad magic; expected \"MARSPRG\")");
  const uint32_t version = uint32_t(getLe(data + 8, 4));
  if (version < kOldestReadableVersion || version > kFormatVersion)
    return bad("format version ", version,
               " is not supported (this marsc "
               "reads versions ",
               kOldestReadableVersion, " to ", kFormatVersion,
               "; recompile the model)");
  if (getLe(data + 12, 4) != 0)
    return bad("header flags must be 0");
  const uint64_t declared = getLe(data + 16, 8);
  if (declared != size)
    return bad("file is ", size, " bytes but its header says ", declared,
               " (truncated or padded)");
  if (options.verifyChecksum &&
      getLe(data + kChecksumOffset, 8) != programChecksum(data, size))
    return bad("checksum mismatch: the file is corrupted");
  const uint32_t count = uint32_t(getLe(data + 32, 4));
  if (count != kSectionCount)
    return bad("section count ", count, ", expected ", kSectionCount);
  for (size_t i = 36; i < kHeaderBytes; ++i)
    if (data[i] != 0)
      return bad("reserved header byte ", i, " is not zero");
  const size_t tableEnd = kHeaderBytes + kSectionCount * kSectionEntryBytes;
  if (size < tableEnd)
    return bad("truncated section table");

  Program p;
  size_t previousEnd = tableEnd;
  for (uint32_t i = 0; i < kSectionCount; ++i) {
    const uint8_t *entry = data + kHeaderBytes + i * kSectionEntryBytes;
    const uint32_t kind = uint32_t(getLe(entry, 4));
    const uint64_t offset = getLe(entry + 8, 8), length = getLe(entry + 16, 8);
    const uint32_t expected = kArch + i;
    if (kind != expected)
      return bad("section ", i, " has kind ", kind, ", expected ", expected,
                 " (", sectionName(expected), ")");
    const char *name = sectionName(kind);
    if (getLe(entry + 4, 4) != 0)
      return bad("section '", name, "': reserved field is not zero");
    if (offset < previousEnd || offset % 8 != 0 || offset > size ||
        length > size - offset)
      return bad("section '", name, "': offset ", offset, " length ", length,
                 " out of bounds, misaligned or overlapping (file ", size,
                 " bytes)");
    previousEnd = offset + length;
    if (kind == kArch) {
      auto spec = arch::parseArchJson(
          std::string(reinterpret_cast<const char *>(data + offset), length),
          source + ": arch section");
      if (!spec)
        return spec.error();
      p.arch = spec.take();
      continue;
    }
    Decoder d(data + offset, length, std::string(name));
    ioSection(d, kind, p);
    if (d.ok() && d.remaining() != 0)
      d.fail(std::to_string(d.remaining()) + " unread bytes at the end");
    if (!d.ok())
      return bad(d.error());
  }
  std::vector<std::string> problems = validateProgram(p);
  if (!problems.empty()) {
    std::string text = problems[0];
    if (problems.size() > 1)
      text += " (and " + std::to_string(problems.size() - 1) + " more)";
    return bad(text);
  }
  return p;
}

Expected<Program> readProgramFile(const std::string &path,
                                  const ReadOptions &options) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in)
    return makeError(path, ": cannot open program file");
  const std::streamoff size = in.tellg();
  if (size < 0 || uint64_t(size) > kMaxFileBytes)
    return makeError(path, ": not a readable program file (size ", size, ")");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (!in.read(reinterpret_cast<char *>(bytes.data()), size))
    return makeError(path, ": read error");
  return parseProgram(bytes.data(), bytes.size(), path, options);
}

} // namespace mars::program
