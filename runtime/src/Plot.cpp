// The per-layer SVG plot: two panels over one x axis of layers, each bar
// stacked by category. Top: a layer's core-cycles by where the time goes
// (TimeBreakdown: its parts sum to cores × the layer's span, so the bar is
// in core-cycles, not cycles). Bottom: its energy by component
// (EnergyBreakdown). Each panel has its own legend; the figure title sits on
// its own line above both.
//
// Layout, top to bottom: title | panel title, legend rows, plot area | gap |
// panel title, legend rows, plot area | rotated layer names, "layer". The
// bars share the plot width: step = (width − left − right margins) / layers,
// each bar 70% of its step, so 3 layers fill the width as 60 do.
#include "mars/runtime/Report.h"
#include "mars/support/AtomicFile.h"
#include "mars/support/SvgText.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace mars::runtime {

namespace {

/// A tick label: round values with a k or M suffix instead of an exponent.
std::string tickLabel(double v) {
  char buf[64];
  if (std::fabs(v) >= 1e6)
    std::snprintf(buf, sizeof buf, "%gM", v / 1e6);
  else if (std::fabs(v) >= 1e4)
    std::snprintf(buf, sizeof buf, "%gk", v / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

/// The smallest 1, 2 or 5 × 10^k at or above `v`, so ticks are round.
double niceCeil(double v) {
  if (v <= 0)
    return 1;
  const double p = std::pow(10.0, std::floor(std::log10(v)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= v * (1 - 1e-12))
      return m * p;
  return 10 * p;
}

/// One stacked category: its legend name and colour.
struct Series {
  std::string name, colour;
};

/// A panel: values[layer][series], stacked bottom-up in series order.
struct Panel {
  std::string title, unit;
  std::vector<Series> series;
  std::vector<std::vector<double>> values;
};

// Pixels. The plot is at least kMinWidth wide and gives each layer at least
// kMinStep.
constexpr double kMinWidth = 760, kMinStep = 14, kLeft = 80, kRight = 20,
                 kTitleRoom = 34, kPanelTitleRoom = 20, kLegendRow = 16,
                 kPlotHeight = 200, kPanelGap = 28, kLabelRoom = 110,
                 kBarFill = 0.7;

/// Legend entries flow left to right and wrap at the plot width; returns
/// the rows they take.
int legendRows(const Panel &panel, double width) {
  double x = kLeft;
  int rows = 1;
  for (const Series &s : panel.series) {
    const double w = 18 + 6.3 * double(s.name.size()) + 16;
    if (x + w > width - kRight && x > kLeft) {
      ++rows;
      x = kLeft;
    }
    x += w;
  }
  return rows;
}

/// Draws `panel` from y = `top`; returns the y of its x axis.
double drawPanel(std::string &svg, const Panel &panel, double top, double width,
                 const std::vector<std::string> &names) {
  svg += "<text x=\"" + svgNumber(kLeft) + "\" y=\"" + svgNumber(top + 14) +
         "\" font-size=\"13\" font-weight=\"bold\">" + escapeXml(panel.title) +
         "</text>\n";
  // The legend: a colour box and the name of every series, zero or not.
  double x = kLeft, y = top + kPanelTitleRoom;
  for (const Series &s : panel.series) {
    const double w = 18 + 6.3 * double(s.name.size()) + 16;
    if (x + w > width - kRight && x > kLeft) {
      x = kLeft;
      y += kLegendRow;
    }
    svg += "<rect class=\"legend\" x=\"" + svgNumber(x) + "\" y=\"" +
           svgNumber(y + 2) + "\" width=\"12\" height=\"12\" fill=\"" +
           s.colour + "\"/>\n<text class=\"legend\" x=\"" + svgNumber(x + 16) +
           "\" y=\"" + svgNumber(y + 12) + "\" font-size=\"11\">" +
           escapeXml(s.name) + "</text>\n";
    x += w;
  }
  const double plotTop =
      top + kPanelTitleRoom + kLegendRow * legendRows(panel, width) + 12;
  const double bottom = plotTop + kPlotHeight;

  // Y axis: round ticks (1, 2 or 5 × 10^k apart) up to the tallest stack.
  double vmax = 0;
  for (const std::vector<double> &v : panel.values) {
    double sum = 0;
    for (double part : v)
      sum += part;
    vmax = std::max(vmax, sum);
  }
  const double tick = niceCeil(vmax / 5);
  const int ticks = std::max(1, int(std::ceil(vmax / tick - 1e-9)));
  const double topValue = tick * ticks;
  for (int i = 0; i <= ticks; ++i) {
    const double ty = bottom - kPlotHeight * i / ticks;
    svg += "<line x1=\"" + svgNumber(kLeft - 4) + "\" y1=\"" + svgNumber(ty) +
           "\" x2=\"" + svgNumber(width - kRight) + "\" y2=\"" + svgNumber(ty) +
           "\" stroke=\"#ddd\"/>\n<text x=\"" + svgNumber(kLeft - 6) +
           "\" y=\"" + svgNumber(ty + 4) +
           "\" font-size=\"10\" text-anchor=\"end\">" + tickLabel(tick * i) +
           "</text>\n";
  }
  svg += "<text transform=\"translate(16," +
         svgNumber(plotTop + kPlotHeight / 2) +
         ") rotate(-90)\" font-size=\"11\" text-anchor=\"middle\">" +
         escapeXml(panel.unit) + "</text>\n";

  // The stacked bars: one rect per non-zero part, each with a tooltip.
  const double step = (width - kLeft - kRight) / double(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    const double bx = kLeft + step * (double(i) + (1 - kBarFill) / 2);
    double base = bottom;
    for (size_t k = 0; k < panel.series.size(); ++k) {
      const double v = panel.values[i][k];
      if (v <= 0)
        continue;
      const double h = kPlotHeight * v / topValue;
      svg += "<rect class=\"bar\" x=\"" + svgNumber(bx) + "\" y=\"" +
             svgNumber(base - h) + "\" width=\"" + svgNumber(step * kBarFill) +
             "\" height=\"" + svgNumber(h) + "\" fill=\"" +
             panel.series[k].colour + "\"><title>" + escapeXml(names[i]) +
             ": " + escapeXml(panel.series[k].name) + " " + svgNumber(v) + " " +
             escapeXml(panel.unit) + "</title></rect>\n";
      base -= h;
    }
  }
  svg += "<line x1=\"" + svgNumber(kLeft) + "\" y1=\"" + svgNumber(bottom) +
         "\" x2=\"" + svgNumber(width - kRight) + "\" y2=\"" +
         svgNumber(bottom) + "\" stroke=\"black\"/>\n<line x1=\"" +
         svgNumber(kLeft) + "\" y1=\"" + svgNumber(plotTop) + "\" x2=\"" +
         svgNumber(kLeft) + "\" y2=\"" + svgNumber(bottom) +
         "\" stroke=\"black\"/>\n";
  return bottom;
}

} // namespace

std::string svgPlot(const program::Program &program, const TimingResult &timing,
                    const EnergyResult &energy) {
  // Time: TimeBreakdown's categories (Timing.h), named plainly.
  Panel time{"Where the time goes, per layer",
             "core-cycles (cores x layer span)",
             {{"compute", "#4e79a7"},
              {"digital post-processing", "#59a14f"},
              {"weight reload", "#f28e2b"},
              {"memory wait (SRAM/DRAM)", "#e15759"},
              {"barrier stall", "#b07aa1"},
              {"idle", "#bab0ac"}},
             {}};
  // Energy: EnergyBreakdown's components (Energy.h).
  Panel nj{"Energy per layer, by component",
           "energy (nJ)",
           {{"macro", "#4e79a7"},
            {"ADC", "#76b7b2"},
            {"shift-add", "#9c755f"},
            {"digital", "#59a14f"},
            {"SRAM", "#edc948"},
            {"reload", "#f28e2b"},
            {"DRAM", "#e15759"},
            {"static", "#bab0ac"}},
           {}};
  std::vector<std::string> names;
  for (const LayerTiming &lt : timing.layers) {
    if (!lt.hasInstructions)
      continue; // Fused layers are timed and priced in their producer.
    names.push_back(lt.name);
    const TimeBreakdown &t = lt.breakdown;
    time.values.push_back({double(t.compute), double(t.digital),
                           double(t.reload), double(t.memory), double(t.stall),
                           double(t.idle)});
    const EnergyBreakdown &e = energy.layers[lt.layer];
    nj.values.push_back({e.macroPj * 1e-3, e.adcPj * 1e-3, e.shiftAddPj * 1e-3,
                         e.digitalPj * 1e-3, e.sramPj * 1e-3, e.reloadPj * 1e-3,
                         e.dramPj * 1e-3, e.staticPj * 1e-3});
  }
  if (names.empty()) {
    names.push_back("(no layers)");
    time.values.emplace_back(time.series.size(), 0.0);
    nj.values.emplace_back(nj.series.size(), 0.0);
  }
  const double width =
      std::max(kMinWidth, kLeft + kRight + kMinStep * double(names.size()));
  auto panelHeight = [&](const Panel &p) {
    return kPanelTitleRoom + kLegendRow * legendRows(p, width) + 12 +
           kPlotHeight;
  };
  const double energyTop = kTitleRoom + panelHeight(time) + kPanelGap;
  const double height = energyTop + panelHeight(nj) + kLabelRoom;

  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                    svgNumber(width) + "\" height=\"" + svgNumber(height) +
                    "\" viewBox=\"0 0 " + svgNumber(width) + " " +
                    svgNumber(height) + "\" font-family=\"sans-serif\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg +=
      "<text x=\"" + svgNumber(width / 2) +
      "\" y=\"20\" font-size=\"15\" text-anchor=\"middle\">" +
      escapeXml(program.info.model.empty() ? "program" : program.info.model) +
      ": " + svgNumber(timing.latencyUs) + " us, " +
      svgNumber(energy.energyPerImageUj()) + " uJ per image</text>\n";
  drawPanel(svg, time, kTitleRoom, width, names);
  const double bottom = drawPanel(svg, nj, energyTop, width, names);
  const double step = (width - kLeft - kRight) / double(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    const double x = kLeft + step * (double(i) + 0.5);
    svg += "<text transform=\"translate(" + svgNumber(x) + "," +
           svgNumber(bottom + 12) +
           ") rotate(-45)\" font-size=\"10\" text-anchor=\"end\">" +
           escapeXml(names[i]) + "</text>\n";
  }
  svg += "<text x=\"" + svgNumber(width / 2) + "\" y=\"" +
         svgNumber(height - 6) +
         "\" font-size=\"11\" text-anchor=\"middle\">layer</text>\n";
  svg += "</svg>\n";
  return svg;
}

Status writeSvgPlot(const std::string &path, const program::Program &program,
                    const TimingResult &timing, const EnergyResult &energy) {
  return writeFileAtomic(path, svgPlot(program, timing, energy));
}

} // namespace mars::runtime
