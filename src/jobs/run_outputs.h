#pragma once
// What forget and compose leave behind, checked before any work and written in one order:
// the input digests, the model, the result JSON, the audit manifest, the HTML report and the
// registry row. Internal to jobs/.

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "unlearn/core/context.h"
#include "unlearn/data/dataset.h"
#include "unlearn/jobs/jobs.h"
#include "unlearn/models/model.h"
#include "unlearn/select/selection.h"

namespace unlearn::internal {

/// Throws (before any work) when an output exists and `files.force` is off, or cannot be made.
void check_output_files(const OutputFiles& files);

/// The facts of a finished run that its files record.
struct FinishedRun {
  std::string command;  // forget | compose
  /// (role, path) of every input model ("model", or "model.0", ... for compose; "base",
  /// "original", "retrain"); empty paths are skipped.
  std::vector<std::pair<std::string, std::string>> inputs;
  /// The roles among `inputs` the output descends from, in order (the registry's parents).
  std::vector<std::string> parents;
  const DataSelection* selection = nullptr;
  const DataBundle* bundle = nullptr;  // null when the run used no data
  const Split* split = nullptr;        // null when the run used no data
  std::string method;                  // the registry's method label
  nlohmann::json config;   // the manifest's configuration: method or operator, options, flags
  nlohmann::json details;  // the registry row's own details (besides report, manifest, env)
};

/// Writes `model` to files.out, then the result JSON, the manifest, the HTML report and the
/// registry row that `files` asks for. The inputs are hashed first: with --force the output may
/// replace one of them.
void write_run_outputs(const OutputFiles& files, const FinishedRun& run, const Model& model,
                       const nlohmann::json& result, const RunContext& context);

}  // namespace unlearn::internal
