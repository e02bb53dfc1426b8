#include "evaluation.h"

#include <functional>
#include <future>
#include <optional>

#include "unlearn/core/sha256.h"
#include "unlearn/metrics/depth_audit.h"
#include "unlearn/metrics/divergence.h"
#include "unlearn/metrics/relearn.h"
#include "unlearn/report/result.h"

namespace unlearn::internal {

CacheUse open_cache(bool enabled, const DataBundle& bundle, const OutputCache& cache) {
  if (!enabled || !cache.enabled()) return {};
  return {&cache, data_digest(bundle)};
}

namespace {

// The split's rows and the evaluation seed decide the metrics; the expression decides which
// metadata columns get a per-group table (the same rows can come from two expressions).
std::string split_cache_key(const Split& split, const RunContext& context) {
  Sha256 h;
  h.update(split.train.forget);
  h.update(split.test.forget);
  h.update(std::to_string(context.seed()));
  h.update(split.expression);
  return h.hex();
}

// An entry whose outputs are known and whose metrics are still to be computed.
struct PendingEntry {
  const EntryRequest* request;
  ModelOutputs outputs;
};

}  // namespace

std::map<std::string, Evaluated> evaluate_entries(const std::vector<EntryRequest>& requests,
                                                  const Split& split, const RunContext& context,
                                                  Observer& observer) {
  std::map<std::string, Evaluated> done;
  std::vector<PendingEntry> pending;
  std::string split_key;  // the same for every model: hashed once, when a cache needs it
  // First every model's outputs, one model at a time: each forward pass uses all the cores.
  for (const EntryRequest& r : requests) {
    const CacheUse& cached = r.cached;
    std::optional<ModelOutputs> found;
    if (r.known) found = *r.known;
    if (cached.cache) {
      if (!found) found = cached.cache->find(r.path, cached.data_key);
      if (split_key.empty()) split_key = split_cache_key(split, context);
    }
    if (!found) {
      found = compute_outputs(*r.model, *r.data, 128, &observer);
      if (cached.cache) cached.cache->store(r.path, cached.data_key, *found);
    } else if (cached.cache && !r.known) {
      observer.message("evaluate: reusing cached outputs of " + r.path);
      if (auto entry = cached.cache->find_entry(r.path, cached.data_key, split_key)) {
        (*entry)["path"] = r.path;
        done[r.role] = {std::move(*entry), std::move(*found)};
        continue;
      }
    }
    pending.push_back({&r, std::move(*found)});
  }
  // Then the metrics of all models side by side, one thread each: they are mostly the MIA's
  // libsvm fit, which is single-threaded (about 5 s per model on Fashion-MNIST).
  const auto metrics_of = [&](const PendingEntry& p) {
    return evaluate(p.outputs, *p.request->data, split, EvalOptions().seed(context.seed()));
  };
  std::vector<std::future<ModelMetrics>> others;
  for (size_t i = 1; i < pending.size(); ++i) {
    others.push_back(std::async(std::launch::async, metrics_of, std::cref(pending[i])));
  }
  std::vector<ModelMetrics> metrics;
  if (!pending.empty()) metrics.push_back(metrics_of(pending[0]));
  for (auto& f : others) metrics.push_back(f.get());
  for (size_t i = 0; i < pending.size(); ++i) {
    const EntryRequest& r = *pending[i].request;
    nlohmann::json entry = model_entry(r.path, *r.model, metrics[i]);
    if (r.cached.cache) {
      r.cached.cache->store_entry(r.path, r.cached.data_key, split_key, entry);
    }
    done[r.role] = {std::move(entry), std::move(pending[i].outputs)};
  }
  return done;
}

Evaluated evaluate_entry(const Model& model, const std::string& path, const EvalData& data,
                         const Split& split, const RunContext& context, Observer& observer,
                         const CacheUse& cached) {
  const std::vector<EntryRequest> one{{"model", &model, path, &data, cached}};
  return std::move(evaluate_entries(one, split, context, observer).at("model"));
}

void add_comparisons(nlohmann::json& result, const std::map<std::string, Evaluated>& models,
                     const Split& split) {
  for (const auto& [role, evaluated] : models) result["models"][role] = evaluated.entry;
  if (auto re = models.find("retrain"); re != models.end()) {
    for (const auto& [role, evaluated] : models) {
      if (role == "retrain") continue;
      result["models"][role]["output_divergence"] =
          output_divergence(evaluated.outputs, re->second.outputs, split);
    }
  }
  add_avg_gaps(result);
  result["goals"] = goal_entry(result);
}

void add_relearn(bool enabled, nlohmann::json& result, const std::string& role, const Model& model,
                 const EvalData& data, const Split& split, const RunContext& context) {
  if (!enabled || split.train.forget.numel() == 0) return;
  const auto& original =
      result["models"].contains("original") ? result["models"]["original"] : result["models"][role];
  const double target = 100.0 - original["metrics"].value("UA", 0.0);
  const auto r = relearn_steps(model, data.train_inputs, data.train_labels, split.train.forget,
                               target, RelearnOptions().seed(context.seed()));
  result["models"][role]["relearn"] = {
      {"steps", r.steps}, {"reached", r.reached}, {"accuracy", r.accuracy}, {"target", target}};
}

void add_audits(nlohmann::json& result, const std::string& role, const Model& model,
                const std::string& path, const EvalData& data, const Split& split,
                const RunContext& context, Observer& observer, const CacheUse& cached) {
  if (split.train.forget.numel() == 0) return;
  const auto& original =
      result["models"].contains("original") ? result["models"]["original"] : result["models"][role];
  const double target = 100.0 - original["metrics"].value("UA", 0.0);
  // The audits' budgets are fixed (docs/metrics.md); the key names their version, so a change
  // of budget must change it. The few-shot target is part of it.
  const std::string key =
      cached.cache ? split_cache_key(split, context) + "-depth-audits-v4-" + std::to_string(target)
                   : "";
  if (cached.cache) {
    if (auto found = cached.cache->find_entry(path, cached.data_key, key)) {
      observer.message("audit: reusing the cached depth audits of " + path);
      result["models"][role]["audits"] = std::move(*found);
      return;
    }
  }
  observer.message("audit: depth audits of the " + role + " model");
  const DepthAudit audit =
      audit_depth(model, data, split, target, DepthAuditOptions().seed(context.seed()), &observer);
  nlohmann::json entry = audit_entry(audit);
  if (cached.cache) cached.cache->store_entry(path, cached.data_key, key, entry);
  result["models"][role]["audits"] = std::move(entry);
}

}  // namespace unlearn::internal
