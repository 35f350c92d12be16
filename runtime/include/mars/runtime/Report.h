#pragma once
/// \file
/// Reports of the timing and energy models: a human table, machine-readable
/// JSON, a Chrome trace (opens in Perfetto or chrome://tracing) and an SVG
/// bar plot. All outputs are deterministic; files are written atomically.

#include "mars/program/Program.h"
#include "mars/runtime/Energy.h"
#include "mars/runtime/Timing.h"
#include "mars/support/Error.h"

#include <string>

namespace mars::runtime {

/// A fixed-width table: per layer cycles, % of the image's cycles (layers
/// may overlap, so the column need not sum to 100), partition activations,
/// macro utilisation and energy in nJ (macro + ADC + shift-add, the rest of the chip,
/// DRAM, total); then latency, FPS, energy per image and TOPS/W (effective
/// and executed) for the three scopes of Energy.h (the macros, the chip
/// without DRAM, with DRAM), and the time and energy breakdowns in %.
std::string formatTimingTable(const program::Program &program,
                              const TimingResult &timing,
                              const EnergyResult &energy);

/// Everything in the timing and energy results as pretty-printed JSON text
/// (per-layer entries under "layers", totals, breakdowns, per-core busy).
std::string reportJson(const program::Program &program,
                       const TimingResult &timing, const EnergyResult &energy);

/// The Chrome trace-event JSON text: one "X" (complete) event per
/// instruction, ts and dur in µs, pid = core, tid = macro, or the core's
/// "DMA", "digital" and "sync" lanes; the image transfers are on a "chip"
/// process. Metadata events name processes and threads.
std::string chromeTraceJson(const program::Program &program,
                            const TimingResult &timing);
/// Writes chromeTraceJson to `path` atomically.
Status writeChromeTrace(const std::string &path,
                        const program::Program &program,
                        const TimingResult &timing);

/// A self-contained SVG: per-layer stacked bars of core-cycles by where the
/// time goes (top) and of energy in nJ by component (bottom), each panel
/// with a legend and round y ticks, under a title line, over rotated layer
/// names. Every bar segment is a <rect class="bar"> with a <title> tooltip
/// naming the layer, the category and the value; zero parts are not drawn.
std::string svgPlot(const program::Program &program, const TimingResult &timing,
                    const EnergyResult &energy);
/// Writes svgPlot to `path` atomically.
Status writeSvgPlot(const std::string &path, const program::Program &program,
                    const TimingResult &timing, const EnergyResult &energy);

} // namespace mars::runtime
