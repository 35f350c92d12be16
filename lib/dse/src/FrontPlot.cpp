// The front plot: one scatter panel per x metric (energy per image, and
// frames per second when present), accuracy in % on y. Optimal points are
// filled, joined by the staircase that bounds the region they dominate, and
// labelled; dominated points are hollow. Same table, same bytes.
#include "mars/dse/FrontPlot.h"
#include "mars/support/SvgText.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace mars::dse {

namespace {

/// A tick value: the multiple of `step` nearest `v`, in full ("105000",
/// "0.45", "0").
std::string tick(double v, double step) {
  v = std::round(v / step) * step;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v == 0 ? 0.0 : v);
  return buf;
}

/// A linear axis from `lo` to `hi` with ticks every `step` (1, 2 or 5 ×
/// 10^k, about five of them), covering the data.
struct Axis {
  double lo, hi, step;
};

Axis niceAxis(double lo, double hi) {
  // 5% room on each side, so no marker sits on the frame.
  const double pad =
      hi > lo ? (hi - lo) * 0.05 : (lo == 0 ? 1 : std::fabs(lo) * 0.1);
  lo -= pad;
  hi += pad;
  const double raw = (hi - lo) / 5;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * p;
  for (double m : {1.0, 2.0, 5.0})
    if (m * p >= raw * (1 - 1e-12)) {
      step = m * p;
      break;
    }
  return {std::floor(lo / step) * step, std::ceil(hi / step) * step, step};
}

constexpr double kLeft = 80, kPlotWidth = 400, kPlotHeight = 300,
                 kPanelGap = 110, kTop = 64, kRight = 30;
constexpr const char *kOptimalColour = "#d62728", *kDominatedColour = "#7f7f7f";

struct PanelSpec {
  std::string metric, title, label;
  bool minimise;
};

struct Dot {
  double x, y;
  const Row *row;
};

/// "sparsity 0.5, adcbits 3": the row's values of the axes that vary.
std::string pointLabel(const Row &row, const std::vector<std::string> &axes) {
  std::string label;
  for (const std::string &key : axes) {
    const std::string *value = row.axis(key);
    if (!value)
      continue;
    label += (label.empty() ? "" : ", ") + key + " " + *value;
  }
  return label;
}

/// One panel's plot area: its axes and the mapping of data to SVG
/// coordinates.
struct Frame {
  Axis ax, ay;
  double left, bottom, right;
  double px(double x) const {
    return left + kPlotWidth * (x - ax.lo) / (ax.hi - ax.lo);
  }
  double py(double y) const {
    return bottom - kPlotHeight * (y - ay.lo) / (ay.hi - ay.lo);
  }
};

/// The panel's title, grid lines with tick numbers on both axes, frame and
/// axis labels.
void drawFrame(std::string &svg, const PanelSpec &spec, const Frame &f) {
  const Axis &ax = f.ax, &ay = f.ay;
  const double left = f.left, bottom = f.bottom, right = f.right;
  svg += "<text x=\"" + svgNumber(left + kPlotWidth / 2) + "\" y=\"" +
         svgNumber(kTop - 10) +
         "\" font-size=\"13\" font-weight=\"bold\" text-anchor=\"middle\">" +
         escapeXml(spec.title) + "</text>\n";
  // Grid lines with tick numbers on both axes.
  for (double v = ax.lo; v <= ax.hi + ax.step * 1e-9; v += ax.step) {
    const double x = f.px(v);
    svg += "<line x1=\"" + svgNumber(x) + "\" y1=\"" + svgNumber(kTop) +
           "\" x2=\"" + svgNumber(x) + "\" y2=\"" + svgNumber(bottom + 4) +
           "\" stroke=\"#e5e5e5\"/>\n<text x=\"" + svgNumber(x) + "\" y=\"" +
           svgNumber(bottom + 16) +
           "\" font-size=\"10\" text-anchor=\"middle\">" + tick(v, ax.step) +
           "</text>\n";
  }
  for (double v = ay.lo; v <= ay.hi + ay.step * 1e-9; v += ay.step) {
    const double y = f.py(v);
    svg += "<line x1=\"" + svgNumber(left - 4) + "\" y1=\"" + svgNumber(y) +
           "\" x2=\"" + svgNumber(right) + "\" y2=\"" + svgNumber(y) +
           "\" stroke=\"#e5e5e5\"/>\n<text x=\"" + svgNumber(left - 6) +
           "\" y=\"" + svgNumber(y + 4) +
           "\" font-size=\"10\" text-anchor=\"end\">" + tick(v, ay.step) +
           "</text>\n";
  }
  svg += "<rect x=\"" + svgNumber(left) + "\" y=\"" + svgNumber(kTop) +
         "\" width=\"" + svgNumber(kPlotWidth) + "\" height=\"" +
         svgNumber(kPlotHeight) + "\" fill=\"none\" stroke=\"black\"/>\n";
  svg += "<text x=\"" + svgNumber(left + kPlotWidth / 2) + "\" y=\"" +
         svgNumber(bottom + 36) +
         "\" font-size=\"11\" text-anchor=\"middle\">" + escapeXml(spec.label) +
         "</text>\n";
  svg += "<text transform=\"translate(" + svgNumber(left - 48) + "," +
         svgNumber(kTop + kPlotHeight / 2) +
         ") rotate(-90)\" font-size=\"11\" text-anchor=\"middle\">test "
         "accuracy (%)</text>\n";
}

/// The staircase through the optimal points: between two neighbours (by
/// x) it turns at the worse x and the worse accuracy of the two, which is
/// the edge of the region the front dominates.
void drawFront(std::string &svg, const PanelSpec &spec,
               const std::vector<Dot> &dots, const Frame &f) {
  std::vector<Dot> front;
  for (const Dot &d : dots)
    if (d.row->optimal)
      front.push_back(d);
  std::stable_sort(front.begin(), front.end(), [](const Dot &a, const Dot &b) {
    return a.x < b.x || (a.x == b.x && a.y < b.y);
  });
  if (front.size() < 2)
    return;
  std::string points;
  for (size_t i = 0; i < front.size(); ++i) {
    if (i > 0) {
      const double cornerX = spec.minimise ? front[i].x : front[i - 1].x;
      const double cornerY = std::min(front[i - 1].y, front[i].y);
      points += svgNumber(f.px(cornerX)) + "," + svgNumber(f.py(cornerY)) + " ";
    }
    points += svgNumber(f.px(front[i].x)) + "," + svgNumber(f.py(front[i].y)) +
              (i + 1 < front.size() ? " " : "");
  }
  svg += "<polyline class=\"front\" points=\"" + points +
         "\" fill=\"none\" stroke=\"" + kOptimalColour +
         "\" stroke-width=\"1.5\"/>\n";
}

/// The points, dominated ones first so that optimal ones are drawn on top;
/// optimal points are labelled with the axes that vary.
void drawDots(std::string &svg, const PanelSpec &spec,
              const std::vector<Dot> &dots, const Frame &f,
              const std::vector<std::string> &varying) {
  for (bool optimal : {false, true})
    for (const Dot &d : dots) {
      if (d.row->optimal != optimal)
        continue;
      const std::string label = pointLabel(*d.row, varying);
      const char *colour = optimal ? kOptimalColour : kDominatedColour;
      svg += std::string("<circle class=\"point ") +
             (optimal ? "optimal" : "dominated") + "\" cx=\"" +
             svgNumber(f.px(d.x)) + "\" cy=\"" + svgNumber(f.py(d.y)) +
             "\" r=\"4\" fill=\"" + (optimal ? colour : "white") +
             "\" stroke=\"" + colour + "\" stroke-width=\"1.5\"><title>" +
             escapeXml((label.empty() ? d.row->point.stem : label) + ": " +
                       svgNumber(d.y) + " %, " + svgNumber(d.x) + " " +
                       spec.metric) +
             "</title></circle>\n";
      if (!optimal || label.empty())
        continue;
      const bool flip = f.px(d.x) > f.left + kPlotWidth * 0.65;
      svg += "<text x=\"" + svgNumber(f.px(d.x) + (flip ? -7 : 7)) + "\" y=\"" +
             svgNumber(f.py(d.y) - 6) + "\" font-size=\"9\" text-anchor=\"" +
             (flip ? "end" : "start") + "\">" + escapeXml(label) + "</text>\n";
    }
}

void drawPanel(std::string &svg, const Table &table, const PanelSpec &spec,
               double left, const std::vector<std::string> &varying) {
  std::vector<Dot> dots;
  for (const Row &row : table.rows) {
    auto x = row.metric(spec.metric), y = row.metric("acc");
    if (x && y)
      dots.push_back({*x, *y * 100, &row});
  }
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (const Dot &d : dots) {
    xlo = std::min(xlo, d.x), xhi = std::max(xhi, d.x);
    ylo = std::min(ylo, d.y), yhi = std::max(yhi, d.y);
  }
  if (dots.empty())
    xlo = ylo = 0, xhi = yhi = 1;
  const double bottom = kTop + kPlotHeight, right = left + kPlotWidth;
  const Frame frame{niceAxis(xlo, xhi), niceAxis(ylo, yhi), left, bottom,
                    right};

  svg += "<g class=\"panel\" id=\"" + escapeXml(spec.metric) + "\">\n";
  drawFrame(svg, spec, frame);
  drawFront(svg, spec, dots, frame);
  drawDots(svg, spec, dots, frame, varying);
  svg += "</g>\n";
}

} // namespace

Expected<std::string> frontPlotSvg(const Table &table) {
  bool plottable = false;
  bool hasFps = false;
  for (const Row &row : table.rows) {
    plottable =
        plottable || (row.metric("acc") && row.metric("energy_per_image"));
    hasFps = hasFps || (row.metric("acc") && row.metric("fps"));
  }
  if (!plottable)
    return makeError("--plot: no result has both acc and energy_per_image "
                     "(the plot needs marsc run results with a test set, "
                     "e.g. run --data)");
  std::vector<PanelSpec> panels = {{"energy_per_image", "accuracy vs energy",
                                    "energy per image (\u00b5J)",
                                    /*minimise=*/true}};
  if (hasFps)
    panels.push_back({"fps", "accuracy vs frame rate", "frames per second",
                      /*minimise=*/false});

  // Label points with the axes whose values differ between rows.
  std::vector<std::string> varying;
  for (const std::string &key : table.axes) {
    const std::string *first = table.rows.front().axis(key);
    for (const Row &row : table.rows) {
      const std::string *value = row.axis(key);
      if (!value != !first || (value && *value != *first)) {
        varying.push_back(key);
        break;
      }
    }
  }

  size_t optimal = 0;
  for (const Row &row : table.rows)
    optimal += row.optimal ? 1 : 0;
  const double width = kLeft + double(panels.size()) * kPlotWidth +
                       double(panels.size() - 1) * kPanelGap + kRight;
  const double legendY = kTop + kPlotHeight + 62;
  const double height = legendY + 22;
  std::string svg = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                    svgNumber(width) + "\" height=\"" + svgNumber(height) +
                    "\" viewBox=\"0 0 " + svgNumber(width) + " " +
                    svgNumber(height) + "\" font-family=\"sans-serif\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  std::string title =
      "Design-space front: " + std::to_string(table.rows.size()) + " points, " +
      std::to_string(optimal) + " Pareto-optimal";
  if (!table.pareto.empty()) {
    title += " in ";
    for (size_t i = 0; i < table.pareto.size(); ++i)
      title += (i ? ", " : "") + table.pareto[i];
  }
  svg += "<text x=\"" + svgNumber(width / 2) +
         "\" y=\"22\" font-size=\"15\" text-anchor=\"middle\">" +
         escapeXml(title) + "</text>\n";
  for (size_t p = 0; p < panels.size(); ++p)
    drawPanel(svg, table, panels[p],
              kLeft + double(p) * (kPlotWidth + kPanelGap), varying);

  // Legend under the panels.
  const double lx = kLeft;
  svg += "<g class=\"legend\">\n";
  svg += "<circle class=\"legend\" cx=\"" + svgNumber(lx + 6) + "\" cy=\"" +
         svgNumber(legendY) + "\" r=\"4\" fill=\"" + kOptimalColour +
         "\" stroke=\"" + kOptimalColour + "\" stroke-width=\"1.5\"/>\n";
  svg += "<text x=\"" + svgNumber(lx + 16) + "\" y=\"" +
         svgNumber(legendY + 4) + "\" font-size=\"11\">Pareto-optimal</text>\n";
  svg += "<circle class=\"legend\" cx=\"" + svgNumber(lx + 136) + "\" cy=\"" +
         svgNumber(legendY) + "\" r=\"4\" fill=\"white\" stroke=\"" +
         kDominatedColour + "\" stroke-width=\"1.5\"/>\n";
  svg += "<text x=\"" + svgNumber(lx + 146) + "\" y=\"" +
         svgNumber(legendY + 4) + "\" font-size=\"11\">dominated</text>\n";
  svg += "</g>\n</svg>\n";
  return svg;
}

} // namespace mars::dse
