#include "run_outputs.h"

#include <filesystem>

#include "manifest.h"
#include "run_records.h"
#include "unlearn/core/atomic_file.h"
#include "unlearn/core/json_text.h"
#include "unlearn/report/html_report.h"

namespace unlearn::internal {

namespace {

/// The HTML report, labelled by the stem of the result file, or of the model file without one.
void write_run_html(const OutputFiles& files, const nlohmann::json& result) {
  if (files.html.empty() || !result.contains("models")) return;
  const std::string label =
      std::filesystem::path(files.report.empty() ? files.out : files.report).stem().string();
  write_html_report(files.html, {{label, result}}, files.force, "--html");
}

void write_manifest(const OutputFiles& files, const FinishedRun& run,
                    const std::map<std::string, std::string>& digests, const nlohmann::json& result,
                    const RunContext& context) {
  manifest::RunFacts facts;
  facts.command = run.command;
  facts.files = run.inputs;
  facts.files.push_back({"output", files.out});
  facts.files.push_back({"report", files.report});
  facts.digests = digests;
  facts.data_source = run.selection->data;
  facts.data_options = run.selection->data_options;
  facts.bundle = run.bundle;
  facts.forget = run.selection->forget;
  facts.split = run.split;
  facts.include_ids = files.manifest_ids;
  facts.config = run.config;
  facts.result = result;
  manifest::write(facts, files.out, files.force, context);
}

void record(const OutputFiles& files, const FinishedRun& run,
            const std::map<std::string, std::string>& digests, const nlohmann::json& result) {
  RunRecord row =
      run_record(run.command, files.out, run.split ? run.selection->data : "",
                 run.selection->forget, run.split ? run.split->train.forget.numel() : 0);
  for (const auto& role : run.parents) row.parent_sha256.push_back(digests.at(role));
  row.method = run.method;
  if (result.contains("models") && result["models"].contains("unlearned")) {
    row.metrics = result["models"]["unlearned"]["metrics"];
  }
  if (result.contains("avg_gap")) row.metrics["avg_gap"] = result["avg_gap"];
  row.details = run.details;
  row.details["report"] = files.report;
  row.details["manifest"] = files.manifest ? manifest::path_for(files.out) : "";
  row.details["env"] = result["env"];
  record_run(files.registry, std::move(row));
}

}  // namespace

void check_output_files(const OutputFiles& files) {
  check_output_path(files.out, files.force, "--out");
  if (!files.report.empty()) check_output_path(files.report, files.force, "--report");
  if (files.manifest) {
    check_output_path(manifest::path_for(files.out), files.force, "--out (manifest)");
  }
  if (!files.html.empty()) check_output_path(files.html, files.force, "--html");
}

void write_run_outputs(const OutputFiles& files, const FinishedRun& run, const Model& model,
                       const nlohmann::json& result, const RunContext& context) {
  const auto digests = files.manifest || !files.registry.empty()
                           ? manifest::digest_files(run.inputs)
                           : std::map<std::string, std::string>{};
  model.save(files.out, files.force, "--out");
  if (!files.report.empty()) {
    write_text_atomically(files.report, json_text(result, 2) + "\n", files.force, "--report");
  }
  if (files.manifest) write_manifest(files, run, digests, result, context);
  write_run_html(files, result);
  if (!files.registry.empty()) record(files, run, digests, result);
}

}  // namespace unlearn::internal
