#include "job_support.h"

#include <ctime>
#include <filesystem>
#include <functional>
#include <future>
#include <optional>

#include "unlearn/core/error.h"
#include "unlearn/core/sha256.h"
#include "unlearn/jobs/reference_scorer.h"
#include "unlearn/metrics/divergence.h"
#include "unlearn/models/torchscript.h"
#include "unlearn/report/html_report.h"
#include "unlearn/report/result.h"

namespace unlearn::job_support {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

void record_run(const std::string& registry, RunRecord run) {
  if (registry.empty()) return;
  try {
    run.model_sha256 = sha256_file(run.model_path);
    if (run.created.empty()) run.created = utc_now();
    Registry(registry).add(run);
  } catch (const Error& e) {
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
    // Only an annotation of the result: an unreadable registry does not fail the run.
  }
  return std::nullopt;
}

std::string device_name(const RunContext& context) { return context.device().str(); }

/// Checks that a model can be applied to a data source.
void check_compatible(const Model& model, const DataBundle& bundle, const std::string& path) {
  const int64_t k = bundle.train.num_classes();
  UNLEARN_CHECK(model.num_classes() == k, path, ": model has ", model.num_classes(),
                " classes but data '", bundle.source, "' has ", k);
}

/// `reference` ranks samples for outliers(); `reference_flag` names where it comes from.
Split split_for(const std::string& expression, const DataBundle& bundle, bool allow_empty,
                const char* flag, const Model* reference, const char* reference_flag) {
  UNLEARN_CHECK_AS(UsageError, !expression.empty(), flag, " is required");
  const Selection selection = Selection::parse(expression);
  UNLEARN_CHECK_AS(UsageError, reference != nullptr || !selection.uses_outliers(), flag,
                   ": outliers() ranks samples with a reference model; give ", reference_flag);
  std::optional<ModelOutlierScorer> scorer;
  if (reference != nullptr) scorer.emplace(*reference);
  return make_split(selection, bundle,
                    SplitOptions().allow_empty(allow_empty).scorer(scorer ? &*scorer : nullptr));
}

CacheUse open_cache(bool enabled, const DataBundle& bundle, const OutputCache& cache) {
  if (!enabled || output_cache_dir().empty()) return {};
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
                         const CacheUse& cached, const ModelOutputs* known) {
  const std::vector<EntryRequest> one{{"model", &model, path, &data, cached, known}};
  return std::move(evaluate_entries(one, split, context, observer).at("model"));
}

/// Writes into `result` what needs every model's outputs: each model's output divergence from
/// the retrain (when there is one), the Avg-gaps and the two goals.
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

void write_run_html(const std::string& html, const std::string& report, const std::string& out,
                    const nlohmann::json& result, bool force) {
  if (html.empty()) return;
  const std::string label = std::filesystem::path(report.empty() ? out : report).stem().string();
  write_html_report(html, {{label, result}}, force, "--html");
}

/// Eval data in `model`'s input format, reusing `shared` when the input specs agree.
const EvalData& eval_data_for(const Model& model, const Model& reference, const EvalData& shared,
                              const DataBundle& bundle, std::optional<EvalData>& storage) {
  const auto& a = model.spec().input;
  const auto& b = reference.spec().input;
  if (a.channels == b.channels && a.size == b.size && a.mean == b.mean && a.std == b.std) {
    return shared;
  }
  storage = make_eval_data(bundle, a);
  return *storage;
}

}  // namespace unlearn::job_support
