// `marsc zoo`: writes a freshly initialised standard model as ONNX.
#include "Commands.h"

#include "mars/ir/Cost.h"
#include "mars/onnx/Export.h"
#include "mars/zoo/Zoo.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>

namespace mars::cli {

namespace {

struct ZooCli {
  std::string name;
  std::string output;
  bool list = false;
  bool json = false;
  int64_t channels = 0, height = 0, width = 0, classes = 0;
  zoo::ModelOptions model;
  /// The optional overrides, applied only when given on the command line.
  CLI::Option *channelsOpt, *heightOpt, *widthOpt, *classesOpt;
};

void printList(bool json) {
  if (json) {
    nlohmann::ordered_json j = nlohmann::ordered_json::array();
    for (const zoo::ModelInfo &m : zoo::listModels())
      j.push_back({{"name", m.name},
                   {"description", m.description},
                   {"input", {m.channels, m.height, m.width}},
                   {"classes", m.classes}});
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::printf("%-10s %-9s %-7s %s\n", "name", "input", "classes",
              "description");
  for (const zoo::ModelInfo &m : zoo::listModels()) {
    std::string input = std::to_string(m.channels) + "x" +
                        std::to_string(m.height) + "x" +
                        std::to_string(m.width);
    std::printf("%-10s %-9s %-7lld %s\n", m.name.c_str(), input.c_str(),
                static_cast<long long>(m.classes), m.description.c_str());
  }
}

Status runZoo(ZooCli &cli) {
  if (cli.list) {
    printList(cli.json);
    return Status::success();
  }
  zoo::ModelOptions &model = cli.model;
  if (cli.channelsOpt->count())
    model.channels = cli.channels;
  if (cli.heightOpt->count())
    model.height = cli.height;
  if (cli.widthOpt->count())
    model.width = cli.width;
  if (cli.classesOpt->count())
    model.classes = cli.classes;
  auto graph = zoo::buildModel(cli.name, model);
  if (!graph)
    return graph.error();
  MARS_TRY(onnx::exportModelFile(*graph, cli.output));
  ir::GraphCost cost = ir::graphCost(*graph);
  if (cli.json) {
    nlohmann::ordered_json j = {
        {"output", cli.output},
        {"model", cli.name},
        {"input", graph->value(graph->inputs[0]).type.shape},
        {"params", cost.params},
        {"macs", cost.macs}};
    std::cout << j.dump(2) << "\n";
    return Status::success();
  }
  std::printf(
      "wrote %s: %s, input %s, %lld params, %lld MACs\n", cli.output.c_str(),
      cli.name.c_str(), graph->value(graph->inputs[0]).type.toString().c_str(),
      static_cast<long long>(cost.params), static_cast<long long>(cost.macs));
  return Status::success();
}

} // namespace

Command addZooCommand(CLI::App &parent) {
  auto cli = std::make_shared<ZooCli>();
  CLI::App *app = parent.add_subcommand(
      "zoo", "Write a standard CNN with freshly initialised, seeded weights.");
  app->footer("Models keep Conv (no bias) -> BatchNormalization -> Relu and "
              "are initialised like PyTorch (Kaiming-uniform), with seeded "
              "non-trivial BatchNormalization statistics. The same options "
              "and seed always give a byte-identical model. 'marsc zoo "
              "--list' shows the models and their default input sizes.");
  CLI::Option *name =
      app->add_option("name", cli->name, "Model name (see --list)");
  CLI::Option *output = app->add_option(
      "-o,--output", cli->output, "Output ONNX file (written atomically)");
  CLI::Option *list =
      app->add_flag("--list", cli->list, "List the models and exit")
          ->excludes(name)
          ->excludes(output);
  cli->channelsOpt = app->add_option("--channels", cli->channels,
                                     "Input channels (model default)");
  cli->heightOpt =
      app->add_option("--height", cli->height, "Input height (model default)");
  cli->widthOpt =
      app->add_option("--width", cli->width, "Input width (model default)");
  cli->classesOpt = app->add_option("--classes", cli->classes,
                                    "Number of classes (default 10)");
  app->add_option("--batch", cli->model.batch, "Batch size (default 1)");
  app->add_option("--width-multiplier", cli->model.widthMultiplier,
                  "Scale every hidden layer's width (default 1)");
  app->add_option("--seed", cli->model.seed,
                  "Seed for the weights (default 0)");
  app->add_flag("--json", cli->json,
                "Print the model list, or what was written, as JSON");
  app->parse_complete_callback([name, output, list] {
    if (list->count())
      return;
    if (!name->count())
      throw CLI::RequiredError("name (or --list)");
    if (!output->count())
      throw CLI::RequiredError("-o,--output");
  });
  return {app, [cli] { return runZoo(*cli); }};
}

} // namespace mars::cli
