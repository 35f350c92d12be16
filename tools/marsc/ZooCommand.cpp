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

struct ZooOptions {
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

Status runZoo(ZooOptions &options) {
  if (options.list) {
    printList(options.json);
    return Status::success();
  }
  zoo::ModelOptions &model = options.model;
  if (options.channelsOpt->count())
    model.channels = options.channels;
  if (options.heightOpt->count())
    model.height = options.height;
  if (options.widthOpt->count())
    model.width = options.width;
  if (options.classesOpt->count())
    model.classes = options.classes;
  auto graph = zoo::buildModel(options.name, model);
  if (!graph)
    return graph.error();
  MARS_TRY(onnx::exportModelFile(*graph, options.output));
  ir::GraphCost cost = ir::graphCost(*graph);
  if (options.json) {
    nlohmann::ordered_json j = {
        {"output", options.output},
        {"model", options.name},
        {"input", graph->value(graph->inputs[0]).type.shape},
        {"params", cost.params},
        {"macs", cost.macs}};
    std::cout << j.dump(2) << "\n";
    return Status::success();
  }
  std::printf("wrote %s: %s, input %s, %lld params, %lld MACs\n",
              options.output.c_str(), options.name.c_str(),
              graph->value(graph->inputs[0]).type.toString().c_str(),
              static_cast<long long>(cost.params),
              static_cast<long long>(cost.macs));
  return Status::success();
}

} // namespace

Command addZooCommand(CLI::App &parent) {
  auto options = std::make_shared<ZooOptions>();
  CLI::App *app = parent.add_subcommand(
      "zoo", "Write a standard CNN with freshly initialised, seeded weights.");
  app->footer("Models keep Conv (no bias) -> BatchNormalization -> Relu and "
              "are initialised like PyTorch (Kaiming-uniform), with seeded "
              "non-trivial BatchNormalization statistics. The same options "
              "and seed always give a byte-identical model. 'marsc zoo "
              "--list' shows the models and their default input sizes.");
  CLI::Option *name =
      app->add_option("name", options->name, "Model name (see --list)");
  CLI::Option *output = app->add_option(
      "-o,--output", options->output, "Output ONNX file (written atomically)");
  CLI::Option *list =
      app->add_flag("--list", options->list, "List the models and exit")
          ->excludes(name)
          ->excludes(output);
  options->channelsOpt = app->add_option("--channels", options->channels,
                                         "Input channels (model default)");
  options->heightOpt = app->add_option("--height", options->height,
                                       "Input height (model default)");
  options->widthOpt =
      app->add_option("--width", options->width, "Input width (model default)");
  options->classesOpt = app->add_option("--classes", options->classes,
                                        "Number of classes (default 10)");
  app->add_option("--batch", options->model.batch, "Batch size (default 1)");
  app->add_option("--width-multiplier", options->model.widthMultiplier,
                  "Scale every hidden layer's width (default 1)");
  app->add_option("--seed", options->model.seed,
                  "Seed for the weights (default 0)");
  app->add_flag("--json", options->json,
                "Print the model list, or what was written, as JSON");
  app->parse_complete_callback([name, output, list] {
    if (list->count())
      return;
    if (!name->count())
      throw CLI::RequiredError("name (or --list)");
    if (!output->count())
      throw CLI::RequiredError("-o,--output");
  });
  return {app, [options] { return runZoo(*options); }};
}

} // namespace mars::cli
