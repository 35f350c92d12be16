// `marsc disasm program.bin`: the whole program as readable text.
#include "Commands.h"

#include "mars/program/ProgramFile.h"

#include <cstdio>
#include <memory>

namespace mars::cli {

namespace {
struct DisasmCli {
  std::string path;
};
} // namespace

Command addDisasmCommand(CLI::App &parent) {
  auto cli = std::make_shared<DisasmCli>();
  CLI::App *app = parent.add_subcommand(
      "disasm", "Print a program file readably: header, arch, buffers, "
                "layers with quantization parameters, weight images with "
                "index codes, instruction streams.");
  app->footer(
      "The file is validated first (checksum, every offset, count and index),\n"
      "so a corrupted program is reported, not printed. The output is\n"
      "deterministic: diff two disassemblies to see what a compile option\n"
      "changed. Index codes are bitmaps over a matrix's row groups (LSB\n"
      "first); the k-th set bit is the row group in the partition's k-th slot.\n"
      "Example: marsc disasm program.bin | less");
  app->add_option("program", cli->path, "program.bin from marsc compile")
      ->required();
  return {app, [cli]() -> Status {
            Expected<program::Program> p = program::readProgramFile(cli->path);
            if (!p)
              return p.error();
            std::fputs(program::disassemble(*p).c_str(), stdout);
            return Status::success();
          }};
}

} // namespace mars::cli
