// `marsc inspect`: what a model is, layer by layer, and what it costs.
#include "Commands.h"

#include "mars/ir/Cost.h"
#include "mars/ir/Printer.h"
#include "mars/onnx/Import.h"
#include "mars/passes/ModelReport.h"

#include <cstdio>
#include <iostream>
#include <memory>

namespace mars::cli {

namespace {

struct InspectCli {
  std::string model;
  std::string archPath;
  int64_t batch = 1;
  bool json = false;
  bool printIr = false;
};

Status runInspect(const InspectCli &cli) {
  onnx::ImportOptions importOptions;
  importOptions.batchSize = cli.batch;
  auto graph = onnx::importModelFile(cli.model, importOptions);
  if (!graph)
    return graph.error();
  auto spec = arch::loadArchOrDefault(cli.archPath);
  if (!spec)
    return spec.error();
  ir::GraphCost cost = ir::graphCost(*graph);
  std::vector<passes::LayerRow> rows = passes::layerRows(*graph, cost, *spec);
  if (cli.json) {
    std::cout << passes::layerTableJson(cli.model, *graph, rows, cost) << "\n";
    return Status::success();
  }
  if (cli.printIr)
    std::printf("%s\n", ir::printGraph(*graph).c_str());
  std::fputs(passes::formatLayerTable(cli.model, *graph, rows, cost).c_str(),
             stdout);
  return Status::success();
}

} // namespace

Command addInspectCommand(CLI::App &parent) {
  auto cli = std::make_shared<InspectCli>();
  CLI::App *app = parent.add_subcommand(
      "inspect", "Show a model's layers with shapes, parameters and MACs.");
  app->footer(
      "Imports the ONNX model (shape inference included) and prints one row "
      "per node: index, op, name, the shapes of its non-constant inputs, its "
      "output shape, its parameters (elements of constant inputs) and its "
      "multiply-accumulates, then totals for parameters, MACs and parameter "
      "storage in bytes. 'bits' shows weight (w) and activation (a) "
      "quantization bits when the model carries them; 'zero groups' "
      "counts the all-zero CIM groups (wl_on rows x one partition's output "
      "channels of --arch) of Conv/Gemm layers with integer weights, as "
      "marsc train writes them.");
  app->add_option("--arch", cli->archPath,
                  "Arch JSON defining the CIM groups (default: built-in)");
  app->add_option("model", cli->model, "ONNX model file (.onnx)")->required();
  app->add_option("--batch", cli->batch,
                  "Size given to symbolic batch dimensions (default 1)")
      ->check(CLI::PositiveNumber);
  CLI::Option *json = app->add_flag(
      "--json", cli->json, "Print the same information as JSON on stdout");
  app->add_flag("--print-ir", cli->printIr,
                "Print the imported IR (ir::printGraph) before the table")
      ->excludes(json);
  return {app, [cli] { return runInspect(*cli); }};
}

} // namespace mars::cli
