#include "run_records.h"

#include <filesystem>

#include "unlearn/core/clock.h"
#include "unlearn/core/error.h"
#include "unlearn/core/sha256.h"
#include "unlearn/models/torchscript.h"

namespace unlearn::internal {

RunRecord run_record(const std::string& command, const std::string& out, const std::string& data,
                     const std::string& selection, int64_t n_forget) {
  RunRecord run;
  run.command = command;
  run.model_path = out;
  run.data = data;
  run.selection = selection;
  run.n_forget = n_forget;
  return run;
}

void record_run(const std::string& registry, RunRecord run) {
  if (registry.empty()) return;
  try {
    run.model_sha256 = sha256_file(run.model_path);
    if (run.created.empty()) run.created = utc_now();
    Registry(registry).add(run);
  } catch (const Error& e) {
    // Adds what the user must know: the model file itself was written.
    throw IoError(detail::concat(run.model_path, " was written, but the run registry could not ",
                                 "record the run (use --no-registry to skip it): ", e.what()));
  }
}

std::optional<double> recorded_train_seconds(const std::string& registry, const std::string& path) {
  if (registry.empty() || !std::filesystem::exists(registry)) return std::nullopt;
  try {
    for (const RunRecord& run :
         Registry(registry).runs_making(sha256_file(model_file_path(path)))) {
      if (run.command == "train" && run.metrics.contains("time_s")) {
        return run.metrics["time_s"].get<double>();
      }
    }
  } catch (const std::exception&) {
    // Only an annotation of the result: an unreadable registry (or a malformed row, which the
    // JSON reader reports) does not fail the run.
  }
  return std::nullopt;
}

}  // namespace unlearn::internal
