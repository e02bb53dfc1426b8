#pragma once
// The run registry as the jobs use it: the row a run adds, and the training times it recorded.
// Internal to jobs/.

#include <cstdint>
#include <optional>
#include <string>

#include "unlearn/registry/run_registry.h"

namespace unlearn::internal {

/// The row of a `command` run that wrote the model file `out` from the data source `data`,
/// selecting `n_forget` training rows with `selection`. The caller adds parents, method,
/// metrics and details; record_run fills the digest and the time.
RunRecord run_record(const std::string& command, const std::string& out, const std::string& data,
                     const std::string& selection, int64_t n_forget);

/// Adds `run` to the registry file `registry` (nothing when empty), after its model was
/// written: fills the model's digest and the time. Throws IoError saying the model exists but
/// the run could not be recorded.
void record_run(const std::string& registry, RunRecord run);

/// The training time the registry `registry` recorded for the model file `path` (a `train` run
/// that wrote a file with its digest), or nullopt when there is none or it cannot be read. Model
/// files hold no times, so equal runs give equal bytes.
std::optional<double> recorded_train_seconds(const std::string& registry, const std::string& path);

}  // namespace unlearn::internal
