#pragma once
// What the jobs that evaluate models share: the split of a --forget expression, cached model
// outputs, result entries per model role and the comparisons between them. Internal to jobs/.

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "unlearn/core/context.h"
#include "unlearn/core/observer.h"
#include "unlearn/data/dataset.h"
#include "unlearn/metrics/evaluator.h"
#include "unlearn/metrics/output_cache.h"
#include "unlearn/models/model.h"
#include "unlearn/registry/run_registry.h"
#include "unlearn/select/selection.h"

namespace unlearn::job_support {

/// Adds `run` to the registry file `registry` (nothing when empty), after its model was
/// written: fills the model's digest and the time. Throws IoError saying the model exists but
/// the run could not be recorded.
void record_run(const std::string& registry, RunRecord run);

/// The training time the registry `registry` recorded for the model file `path` (a `train` run
/// that wrote a file with its digest), or nullopt when there is none or it cannot be read. Model
/// files hold no times, so equal runs give equal bytes.
std::optional<double> recorded_train_seconds(const std::string& registry, const std::string& path);

double seconds_since(std::chrono::steady_clock::time_point start);
std::string utc_now();
std::string device_name(const RunContext& context);

/// Checks that a model can be applied to a data source.
void check_compatible(const Model& model, const DataBundle& bundle, const std::string& path);

/// The split of `expression` (given with `flag`); `reference` ranks samples for outliers() and
/// `reference_flag` names where it comes from.
Split split_for(const std::string& expression, const DataBundle& bundle, bool allow_empty,
                const char* flag, const Model* reference, const char* reference_flag);

/// Where a job looks for and keeps model outputs; `cache` is null when caching is off.
struct CacheUse {
  const OutputCache* cache = nullptr;
  std::string data_key;
};
CacheUse open_cache(bool enabled, const DataBundle& bundle, const OutputCache& cache);

/// A model's result entry and the outputs it was computed from.
struct Evaluated {
  nlohmann::json entry;
  ModelOutputs outputs;
};

/// One model to evaluate: `model`, read from `path`, on `data` (both outlive the call). With
/// `cached` set, its outputs and entry may come from the cache; with `known`, these are its
/// outputs (a data-parallel run computed them across the ranks).
struct EntryRequest {
  std::string role;
  const Model* model = nullptr;
  std::string path;
  const EvalData* data = nullptr;
  CacheUse cached;
  const ModelOutputs* known = nullptr;
};

/// The entries of several models, by role. The outputs are computed one model at a time, and
/// the metrics of all models side by side (their MIA fit is single-threaded).
std::map<std::string, Evaluated> evaluate_entries(const std::vector<EntryRequest>& requests,
                                                  const Split& split, const RunContext& context,
                                                  Observer& observer);

/// Metrics of `model`. With `cached` set, `path` is a model file whose outputs may be reused;
/// with `known`, these are its outputs (a data-parallel run computed them across the ranks).
Evaluated evaluate_entry(const Model& model, const std::string& path, const EvalData& data,
                         const Split& split, const RunContext& context, Observer& observer,
                         const CacheUse& cached = {}, const ModelOutputs* known = nullptr);

/// Writes into `result` what needs every model's outputs: each model's output divergence from
/// the retrain (when there is one), the Avg-gaps and the two goals.
void add_comparisons(nlohmann::json& result, const std::map<std::string, Evaluated>& models,
                     const Split& split);

/// Writes the HTML report of a forget or compose run to `html` (nothing when empty), labelled by
/// the stem of its result file, or of its model file when there is none.
void write_run_html(const std::string& html, const std::string& report, const std::string& out,
                    const nlohmann::json& result, bool force);

/// Eval data in `model`'s input format, reusing `shared` when the input specs agree.
const EvalData& eval_data_for(const Model& model, const Model& reference, const EvalData& shared,
                              const DataBundle& bundle, std::optional<EvalData>& storage);

}  // namespace unlearn::job_support
