// unlearn inspect: what a data source or a model file holds.

#include <cstdio>

#include "common.h"
#include "unlearn/jobs/inspect.h"

namespace unlearn::cli {

void register_inspect(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "inspect", "summarise a data source (counts, classes, metadata values) or a model file");
  auto target = std::make_shared<std::string>();
  auto options = std::make_shared<DataOptions>();
  auto common = std::make_shared<CommonOptions>();
  auto json = std::make_shared<bool>(false);
  sub->add_option("target", *target, "a data source as --data takes it, or a model file")
      ->required();
  sub->add_flag("--json", *json, "print JSON instead of text");
  add_data_options(sub, *options);
  add_common_options(sub, *common);
  sub->callback([=] {
    common->apply();
    const auto info = run_inspect_job(*target, *options, common->torchscript());
    std::printf("%s", *json ? (info.dump(2) + "\n").c_str() : inspect_text(info).c_str());
  });
}

}  // namespace unlearn::cli
