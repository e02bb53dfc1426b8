// unlearn history: the lineage of a model file from the run registry.

#include <cstdio>
#include <filesystem>

#include "common.h"
#include "unlearn/core/error.h"
#include "unlearn/core/json_text.h"
#include "unlearn/core/paths.h"
#include "unlearn/core/sha256.h"
#include "unlearn/registry/run_registry.h"

namespace unlearn::cli {

void register_history(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "history", "the runs that led to a model file (train, forget, compose), from the registry");
  auto model = std::make_shared<std::string>();
  auto registry = std::make_shared<std::string>(default_registry_path());
  auto json = std::make_shared<bool>(false);
  sub->add_option("model", *model, "model file")->required()->check(CLI::ExistingFile);
  sub->add_option("--registry", *registry, "run registry file")->capture_default_str();
  sub->add_flag("--json", *json, "print JSON instead of text");
  sub->callback([=] {
    UNLEARN_CHECK(std::filesystem::exists(*registry), "--registry: ", *registry,
                  " does not exist (no train, forget or compose run has been recorded there)");
    const std::string digest = sha256_file(*model);
    const auto chain = Registry(*registry).lineage(digest);
    if (chain.empty()) {
      throw Error(detail::concat("history: no run in ", *registry, " made ", *model, " (sha256 ",
                                 digest, ")"));
    }
    if (*json) {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& r : chain) out.push_back(run_json(r));
      std::printf("%s\n", json_text(out, 2).c_str());
    } else {
      std::printf("%s", format_lineage(chain).c_str());
    }
  });
}

}  // namespace unlearn::cli
