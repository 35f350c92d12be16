// `marsc collect`: merges the JSON results of a design-space sweep into one
// table (lib/dse), marks its Pareto front and plots it.
#include "Commands.h"

#include "mars/dse/FrontPlot.h"
#include "mars/dse/Join.h"
#include "mars/dse/Pareto.h"
#include "mars/dse/Table.h"
#include "mars/support/AtomicFile.h"

#include <cstdio>
#include <memory>

namespace mars::cli {

namespace {

struct CollectCli {
  std::vector<std::string> results;
  std::string output;
  std::string pareto;
  std::string plot;
  bool markdown = false;
  bool json = false;
};

Status runCollect(const CollectCli &cli) {
  std::vector<std::string> warnings;
  auto collected = dse::collectResults(cli.results, warnings);
  if (!collected)
    return collected.error();
  dse::Table table = collected.take();
  if (!cli.pareto.empty()) {
    auto metrics = dse::parseParetoSpec(cli.pareto);
    if (!metrics)
      return metrics.error();
    dse::markPareto(table, *metrics);
  } else if (!cli.plot.empty()) {
    dse::markPareto(table, dse::defaultPlotPareto(table));
  }

  // Both files are prepared before either is published: all or nothing.
  AtomicFileSet outputs;
  MARS_TRY(outputs.add(cli.output, dse::formatCsv(table)));
  if (!cli.plot.empty()) {
    auto svg = dse::frontPlotSvg(table);
    if (!svg)
      return svg.error();
    MARS_TRY(outputs.add(cli.plot, *svg));
  }
  MARS_TRY(outputs.commit());

  // Warnings only after success: a failure is one error line (main.cpp).
  for (const std::string &warning : warnings)
    std::fprintf(stderr, "marsc: warning: %s\n", warning.c_str());

  size_t optimal = 0;
  for (const dse::Row &row : table.rows)
    optimal += row.optimal ? 1 : 0;
  std::fprintf(stderr, "collected %zu results into %zu rows",
               cli.results.size(), table.rows.size());
  if (!table.pareto.empty())
    std::fprintf(stderr, ", %zu Pareto-optimal", optimal);
  std::fprintf(stderr, "; wrote %s%s%s\n", cli.output.c_str(),
               cli.plot.empty() ? "" : " and ", cli.plot.c_str());
  if (cli.json)
    std::printf("%s", dse::formatJson(table).c_str());
  else if (cli.markdown)
    std::printf("%s", dse::formatMarkdown(table).c_str());
  else
    std::printf("%s", dse::formatText(table).c_str());
  return Status::success();
}

std::string metricList() {
  std::string text;
  for (const dse::MetricInfo &m : dse::metricCatalogue())
    text += std::string("\n  ") + m.name + " (" + dse::kindName(m.kind) + ": " +
            m.source +
            (m.direction == dse::Direction::Maximise   ? ", maximise)"
             : m.direction == dse::Direction::Minimise ? ", minimise)"
                                                       : ")");
  return text;
}

} // namespace

Command addCollectCommand(CLI::App &parent) {
  auto cli = std::make_shared<CollectCli>();
  CLI::App *app = parent.add_subcommand(
      "collect", "Merge the JSON results of a design-space sweep (train, "
                 "compile --report, run) into one table with a Pareto front.");
  app->footer(
      "Each file's kind is told by its content; its design point by its "
      "name: model-lenet5_sparsity-0.5_adcbits-3.run.json is {model: lenet5, "
      "sparsity: 0.5, adcbits: 3} (.run/.compile/.report/.train and .json are "
      "dropped; other names are their own point). Rows are the most "
      "downstream results (run, else compile, else train); each takes the "
      "metrics of the most specific file of every kind whose point is part "
      "of its own. The same files in any order give the same bytes.\n"
      "Metric columns:" +
      metricList());
  app->add_option("results", cli->results,
                  "Result JSON files (marsc train --json / .report.json, "
                  "compile --report --json, run --json)")
      ->required();
  app->add_option("-o,--output", cli->output,
                  "The table as CSV (written atomically)")
      ->required();
  CLI::Option *markdown =
      app->add_flag("--markdown", cli->markdown,
                    "Print a GitHub Markdown table instead of aligned text");
  app->add_flag("--json", cli->json,
                "Print {columns, rows, pareto} as JSON instead")
      ->excludes(markdown);
  app->add_option("--pareto", cli->pareto,
                  "Metrics of the Pareto front, separated by ':' or ',', "
                  "e.g. acc:energy_per_image,fps; adds a pareto column (1/0)");
  app->add_option("--plot", cli->plot,
                  "SVG of accuracy vs energy per image (and vs frames per "
                  "second); front acc:energy_per_image[,fps] unless --pareto");
  return {app, [cli] { return runCollect(*cli); }};
}

} // namespace mars::cli
