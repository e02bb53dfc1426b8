#pragma once
// Judging models on a split, shared by forget, eval, compose and verify: each model's result
// entry (from cached outputs where allowed), the comparisons between the models, relearn time.
// Internal to jobs/.

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "unlearn/core/context.h"
#include "unlearn/core/observer.h"
#include "unlearn/data/dataset.h"
#include "unlearn/metrics/evaluator.h"
#include "unlearn/metrics/output_cache.h"
#include "unlearn/models/model.h"
#include "unlearn/select/selection.h"

namespace unlearn::internal {

/// Where a job looks for and keeps model outputs; `cache` is null when caching is off.
struct CacheUse {
  const OutputCache* cache = nullptr;
  std::string data_key;
};
/// `cache` for `bundle` when `enabled` and the cache has a folder; else no caching.
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

/// Metrics of `model`. With `cached` set, `path` is a model file whose outputs may be reused.
Evaluated evaluate_entry(const Model& model, const std::string& path, const EvalData& data,
                         const Split& split, const RunContext& context, Observer& observer,
                         const CacheUse& cached = {});

/// Writes into `result` what needs every model's outputs: each model's output divergence from
/// the retrain (when there is one), the Avg-gaps and the two goals.
void add_comparisons(nlohmann::json& result, const std::map<std::string, Evaluated>& models,
                     const Split& split);

/// With `enabled`, the SGD steps on D_f that bring `model` back to the original's Acc(D_f), under
/// models.<role>.relearn (the target is `role`'s own Acc(D_f) when there is no original).
void add_relearn(bool enabled, nlohmann::json& result, const std::string& role, const Model& model,
                 const EvalData& data, const Split& split, const RunContext& context);

/// The depth audits (metrics/depth_audit.h) of `model` under models.<role>.audits (nothing for
/// an empty forget set); the few-shot target is the original's Acc(D_f) (`role`'s own when there
/// is no original). With `cached` set, `path` is a model file whose audits on this split and
/// seed may be reused (the original's and the retrain's, in every bench cell).
void add_audits(nlohmann::json& result, const std::string& role, const Model& model,
                const std::string& path, const EvalData& data, const Split& split,
                const RunContext& context, Observer& observer, const CacheUse& cached = {});

}  // namespace unlearn::internal
