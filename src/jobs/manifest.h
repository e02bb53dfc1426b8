#pragma once
// The audit manifest written beside every forget and compose output (see
// include/unlearn/jobs/verify.h for what it proves). Internal to jobs/.

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "unlearn/core/context.h"
#include "unlearn/data/dataset.h"
#include "unlearn/data/source.h"
#include "unlearn/select/selection.h"

namespace unlearn::manifest {

/// `OUT.manifest.json` for an output model file OUT.
std::string path_for(const std::string& out);

/// What a run hands to the manifest.
struct RunFacts {
  std::string command;  // forget | compose
  /// (role, path) of every model file involved: "model" (or "model.0", ... for compose),
  /// "retrain", "original", "output"; and "report" for the result JSON when written.
  std::vector<std::pair<std::string, std::string>> files;
  /// Digests already taken, by role: the inputs are hashed before the output is written,
  /// since with --force the output may replace one of them.
  std::map<std::string, std::string> digests;
  std::string data_source;
  DataOptions data_options;
  const DataBundle* bundle = nullptr;  // null when the run used no data
  std::string forget;                  // the selection expression
  const Split* split = nullptr;        // its rows; null when the run used no data
  bool include_ids = false;            // --manifest-ids
  nlohmann::json config;               // method, options, flags
  nlohmann::json result;               // the run's result JSON (metrics, env, goals)
};

/// role -> SHA-256 of each named file (empty paths skipped).
std::map<std::string, std::string> digest_files(
    const std::vector<std::pair<std::string, std::string>>& files);

/// The manifest: digests of every file and of the decoded data, the forgotten ids (digest and
/// count; the list with include_ids), configuration, seeds, versions, threads and metrics.
nlohmann::json make(const RunFacts& facts, const RunContext& context);

/// Writes make(facts, context) to path_for(out), atomically (never over an existing file
/// without `force`).
void write(const RunFacts& facts, const std::string& out, bool force, const RunContext& context);

/// SHA-256 of the sorted ids of `rows` in `data` ("\n"-terminated, UTF-8 as stored).
std::string ids_digest(const Dataset& data, const torch::Tensor& rows,
                       std::vector<std::string>* sorted_ids = nullptr);

nlohmann::json data_options_json(const DataOptions& options);
DataOptions data_options_from(const nlohmann::json& j);

}  // namespace unlearn::manifest
