// The Chrome trace-event file (Perfetto, chrome://tracing).
#include "mars/runtime/Report.h"
#include "mars/support/AtomicFile.h"

#include <nlohmann/json.hpp>

namespace mars::runtime {

namespace {

using nlohmann::ordered_json;

/// Thread ids: macros keep their index, the other lanes follow them.
int32_t threadId(const arch::ArchSpec &arch, const TimedEvent &ev) {
  const int32_t macros = arch.chip.macrosPerCore;
  switch (ev.lane) {
  case Lane::Macro: return ev.macro;
  case Lane::Dma: return macros;
  case Lane::Digital: return macros + 1;
  case Lane::Sync: return macros + 2;
  case Lane::Io: return 0;
  }
  return 0;
}

ordered_json nameEvent(const char *what, int32_t pid, int32_t tid,
                       const std::string &name) {
  ordered_json ev = {{"ph", "M"}, {"name", what}, {"pid", pid}};
  if (tid >= 0)
    ev["tid"] = tid;
  ev["args"] = {{"name", name}};
  return ev;
}

} // namespace

std::string chromeTraceJson(const program::Program &program,
                            const TimingResult &timing) {
  const arch::ArchSpec &arch = program.arch;
  const int32_t cores = arch.chip.cores, macros = arch.chip.macrosPerCore;
  const int32_t chipPid = cores; // The image transfers.
  ordered_json events = ordered_json::array();
  for (int32_t c = 0; c < cores; ++c) {
    events.push_back(
        nameEvent("process_name", c, -1, "core " + std::to_string(c)));
    for (int32_t m = 0; m < macros; ++m)
      events.push_back(
          nameEvent("thread_name", c, m, "macro " + std::to_string(m)));
    events.push_back(nameEvent("thread_name", c, macros, "DMA"));
    events.push_back(nameEvent("thread_name", c, macros + 1, "digital"));
    events.push_back(nameEvent("thread_name", c, macros + 2, "sync"));
  }
  events.push_back(nameEvent("process_name", chipPid, -1, "chip"));
  events.push_back(nameEvent("thread_name", chipPid, 0, "DRAM"));

  const double usPerCycle = 1.0 / timing.clockMhz;
  for (const TimedEvent &ev : timing.events) {
    const bool io = ev.core < 0;
    ordered_json args = {{"issue_cycle", ev.issue},
                         {"start_cycle", ev.start},
                         {"end_cycle", ev.end}};
    if (!io)
      args["instruction"] = ev.instr;
    if (ev.counters.activations)
      args["activations"] = ev.counters.activations;
    if (ev.counters.rowWrites)
      args["row_writes"] = ev.counters.rowWrites;
    if (ev.counters.sramBytes)
      args["sram_bytes"] = ev.counters.sramBytes;
    if (ev.counters.dramBytes)
      args["dram_bytes"] = ev.counters.dramBytes;
    events.push_back({{"name", ev.name},
                      {"cat", io ? "io" : program::opcodeName(ev.op)},
                      {"ph", "X"},
                      {"ts", double(ev.start) * usPerCycle},
                      {"dur", double(ev.end - ev.start) * usPerCycle},
                      {"pid", io ? chipPid : ev.core},
                      {"tid", io ? 0 : threadId(arch, ev)},
                      {"args", std::move(args)}});
  }
  ordered_json doc = {{"traceEvents", std::move(events)},
                      {"displayTimeUnit", "ns"},
                      {"otherData",
                       {{"model", program.info.model},
                        {"cycles", timing.cycles},
                        {"clock_mhz", timing.clockMhz}}}};
  return doc.dump() + "\n";
}

Status writeChromeTrace(const std::string &path,
                        const program::Program &program,
                        const TimingResult &timing) {
  return writeFileAtomic(path, chromeTraceJson(program, timing));
}

} // namespace mars::runtime
