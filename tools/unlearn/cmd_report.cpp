// unlearn report: a side-by-side table of result files.

#include <cstdio>
#include <filesystem>

#include "common.h"
#include "unlearn/report/result.h"

namespace unlearn::cli {

void register_report(CLI::App& app) {
  auto* sub = app.add_subcommand("report", "side-by-side table of result JSON files");
  auto files = std::make_shared<std::vector<std::string>>();
  sub->add_option("results", *files, "result JSON files (forget --report, eval --json)")
      ->required()
      ->check(CLI::ExistingFile);
  sub->callback([=] {
    std::vector<nlohmann::json> results;
    std::vector<std::string> labels;
    for (const auto& f : *files) {
      results.push_back(read_result(f));
      labels.push_back(std::filesystem::path(f).stem().string());
    }
    std::printf("%s", format_table(results, labels).c_str());
  });
}

}  // namespace unlearn::cli
