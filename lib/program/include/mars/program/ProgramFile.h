#pragma once
/// \file
/// `program.bin`: serialisation, parsing with full validation, and the
/// disassembler (DESIGN.md §4).
///
/// Layout (all integers little-endian):
///   header (64 bytes): magic "MARSPRG\0", u32 format version, u32 flags (0),
///     u64 file size, u64 checksum (FNV-1a 64 over the whole file with these
///     8 bytes taken as zero), u32 section count, reserved zeros to 64 bytes;
///   section table: per section u32 kind, u32 reserved (0), u64 offset,
///     u64 length;
///   sections, each 8-byte aligned, in the order of the table: Arch (JSON
///     text), Info, Buffers, Layers, Matrices, Images, Streams.
/// The same Program always gives the same bytes.

#include "mars/program/Program.h"
#include "mars/support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mars::program {

/// The file image of `program` (deterministic).
std::vector<uint8_t> serializeProgram(const Program &program);

/// Writes the file image atomically (temporary file, then rename): on failure
/// nothing is left at `path`.
Status writeProgramFile(const Program &program, const std::string &path);

struct ReadOptions {
  /// Reject a file whose checksum does not match. Tests turn this off to
  /// check that field validation alone stops corrupted files.
  bool verifyChecksum = true;
};

/// Parses and validates a file image. Every offset, length, count and index
/// is checked before use; a bad image is an Error naming the section and
/// field ("program.bin: layers[3] 'conv2': input buffer 17 out of range (12
/// buffers)"), never a crash.
Expected<Program> parseProgram(const uint8_t *data, size_t size,
                               const std::string &source,
                               const ReadOptions &options = {});
/// Reads and parses a file.
Expected<Program> readProgramFile(const std::string &path,
                                  const ReadOptions &options = {});

/// Every semantic problem with an in-memory program (indices, shapes,
/// parameter ranges, instruction operands), one message each; empty when the
/// runtime can execute it safely. parseProgram calls it; the compiler calls
/// it after each pass in Debug builds.
std::vector<std::string> validateProgram(const Program &program);

/// Recomputes and stores the checksum of a file image (a test hook, used to
/// re-seal deliberately corrupted files).
void resealChecksum(std::vector<uint8_t> &bytes);

/// FNV-1a 64 of `bytes` with the checksum field treated as zero.
uint64_t programChecksum(const uint8_t *data, size_t size);

/// The whole program as readable text: header, arch, buffers, layers with
/// quantization parameters, weight matrices with their groups and weights,
/// weight images with index codes, instruction streams. Deterministic (golden
/// tests diff it).
std::string disassemble(const Program &program);

} // namespace mars::program
