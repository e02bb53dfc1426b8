// unlearn report: a side-by-side table of result files, and with --out, the HTML report.

#include <cstdio>

#include "common.h"
#include "unlearn/core/atomic_file.h"
#include "unlearn/report/html_report.h"
#include "unlearn/report/result.h"

namespace unlearn::cli {

void register_report(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "report", "side-by-side table of result files; with --out, a self-contained HTML report");
  auto files = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  auto quiet = std::make_shared<bool>(false);
  sub->add_option("results", *files,
                  "result JSON files (forget/compose --report, eval --json), or sweep/bench "
                  "output folders")
      ->required()
      ->check(CLI::ExistingPath);
  sub->add_option("--out", *out, "HTML report to write");
  sub->add_flag("--force", *force, "overwrite an existing --out");
  sub->add_flag("--quiet", *quiet, "print no table");
  sub->callback([=] {
    if (!out->empty()) check_output_path(*out, *force, "--out");
    const auto sources = load_report_sources(*files);
    if (!*quiet) {
      std::vector<nlohmann::json> results;
      std::vector<std::string> labels;
      for (const auto& s : sources) {
        results.push_back(s.result);
        labels.push_back(s.label);
      }
      std::printf("%s", format_table(results, labels).c_str());
    }
    if (!out->empty()) {
      write_html_report(*out, sources, *force, "--out");
      if (!*quiet) std::printf("report -> %s\n", out->c_str());
    }
  });
}

}  // namespace unlearn::cli
