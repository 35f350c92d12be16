// The per-layer SVG bar plot: cycles on top, energy below, shared x axis.
#include "mars/runtime/Report.h"
#include "mars/support/AtomicFile.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace mars::runtime {

namespace {

std::string escapeXml(const std::string &s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '&': out += "&amp;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&apos;"; break;
    default: out += c;
    }
  }
  return out;
}

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g", v);
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

struct Panel {
  std::string title, unit, colour;
  std::vector<double> values;
};

constexpr double kLeft = 80, kBarStep = 36, kPanelHeight = 180, kTop = 40,
                 kGap = 60, kLabelRoom = 110;

void drawPanel(std::string &svg, const Panel &panel, double top, double width,
               const std::vector<std::string> &names) {
  const double vmax = niceCeil(
      *std::max_element(panel.values.begin(), panel.values.end()));
  const double bottom = top + kPanelHeight;
  svg += "<text x=\"" + num(kLeft) + "\" y=\"" + num(top - 10) +
         "\" font-size=\"13\" font-weight=\"bold\">" + escapeXml(panel.title) +
         "</text>\n";
  // Y axis with five ticks and its label.
  for (int i = 0; i <= 5; ++i) {
    const double y = bottom - kPanelHeight * i / 5;
    svg += "<line x1=\"" + num(kLeft - 4) + "\" y1=\"" + num(y) + "\" x2=\"" +
           num(width - 10) + "\" y2=\"" + num(y) +
           "\" stroke=\"#ddd\"/>\n<text x=\"" + num(kLeft - 6) + "\" y=\"" +
           num(y + 4) + "\" font-size=\"10\" text-anchor=\"end\">" +
           num(vmax * i / 5) + "</text>\n";
  }
  svg += "<text transform=\"translate(16," + num(top + kPanelHeight / 2) +
         ") rotate(-90)\" font-size=\"11\" text-anchor=\"middle\">" +
         escapeXml(panel.unit) + "</text>\n";
  for (size_t i = 0; i < panel.values.size(); ++i) {
    const double h = kPanelHeight * panel.values[i] / vmax;
    const double x = kLeft + kBarStep * double(i) + 6;
    svg += "<rect x=\"" + num(x) + "\" y=\"" + num(bottom - h) +
           "\" width=\"" + num(kBarStep - 12) + "\" height=\"" + num(h) +
           "\" fill=\"" + panel.colour + "\"><title>" + escapeXml(names[i]) +
           ": " + num(panel.values[i]) + " " + escapeXml(panel.unit) +
           "</title></rect>\n";
  }
  svg += "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(bottom) + "\" x2=\"" +
         num(width - 10) + "\" y2=\"" + num(bottom) +
         "\" stroke=\"black\"/>\n<line x1=\"" + num(kLeft) + "\" y1=\"" +
         num(top) + "\" x2=\"" + num(kLeft) + "\" y2=\"" + num(bottom) +
         "\" stroke=\"black\"/>\n";
}

} // namespace

std::string svgPlot(const program::Program &program, const TimingResult &timing,
                    const EnergyResult &energy) {
  std::vector<std::string> names;
  Panel cycles{"Cycles per layer", "cycles", "#4e79a7", {}};
  Panel nj{"Energy per layer", "energy (nJ)", "#f28e2b", {}};
  for (const LayerTiming &lt : timing.layers) {
    if (!lt.hasInstructions)
      continue; // Fused layers are timed and priced in their producer.
    names.push_back(lt.name);
    cycles.values.push_back(double(lt.cycles()));
    nj.values.push_back(energy.layers[lt.layer].totalPj() * 1e-3);
  }
  if (names.empty()) {
    names.push_back("(no layers)");
    cycles.values.push_back(0);
    nj.values.push_back(0);
  }
  const double width =
      std::max(480.0, kLeft + kBarStep * double(names.size()) + 20);
  const double energyTop = kTop + kPanelHeight + kGap;
  const double height = energyTop + kPanelHeight + kLabelRoom;
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                    num(width) + "\" height=\"" + num(height) +
                    "\" viewBox=\"0 0 " + num(width) + " " + num(height) +
                    "\" font-family=\"sans-serif\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + num(width / 2) +
         "\" y=\"18\" font-size=\"14\" text-anchor=\"middle\">" +
         escapeXml(program.info.model.empty() ? "program" : program.info.model) +
         ": " + num(timing.latencyUs) + " us, " +
         num(energy.energyPerImageUj()) + " uJ per image</text>\n";
  drawPanel(svg, cycles, kTop, width, names);
  drawPanel(svg, nj, energyTop, width, names);
  const double labelY = energyTop + kPanelHeight + 12;
  for (size_t i = 0; i < names.size(); ++i) {
    const double x = kLeft + kBarStep * (double(i) + 0.5);
    svg += "<text transform=\"translate(" + num(x) + "," + num(labelY) +
           ") rotate(-45)\" font-size=\"10\" text-anchor=\"end\">" +
           escapeXml(names[i]) + "</text>\n";
  }
  svg += "<text x=\"" + num(width / 2) + "\" y=\"" + num(height - 6) +
         "\" font-size=\"11\" text-anchor=\"middle\">layer</text>\n";
  svg += "</svg>\n";
  return svg;
}

Status writeSvgPlot(const std::string &path, const program::Program &program,
                    const TimingResult &timing, const EnergyResult &energy) {
  return writeFileAtomic(path, svgPlot(program, timing, energy));
}

} // namespace mars::runtime
