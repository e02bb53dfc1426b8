#include "unlearn/jobs/compose.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <tuple>

#include "diagnostics.h"
#include "job_support.h"
#include "manifest.h"
#include "unlearn/compose/merge.h"
#include "unlearn/core/atomic_file.h"
#include "unlearn/core/error.h"
#include "unlearn/core/json_text.h"
#include "unlearn/core/sha256.h"
#include "unlearn/jobs/sweep.h"
#include "unlearn/metrics/output_cache.h"
#include "unlearn/models/provenance.h"
#include "unlearn/report/result.h"
#include "unlearn/train/batchnorm.h"

namespace unlearn {

using namespace job_support;  // what forget, eval and compose share

namespace {

struct Loaded {
  std::vector<Model> models;  // storage; `sources` points into it
  std::vector<MergeSource> sources;
  std::optional<Model> base;
};

Loaded load_sources(const ComposeJob& job) {
  Loaded l;
  l.models.reserve(job.models.size());
  for (const auto& path : job.models) l.models.push_back(Model::load(path));
  for (size_t i = 0; i < job.models.size(); ++i) l.sources.push_back({&l.models[i], job.models[i]});
  if (!job.base.empty()) l.base = Model::load(job.base);
  return l;
}

/// Refuses runs of different originals unless --allow-mixed-origin; returns the shared origin.
std::string check_origins(const ComposeJob& job, const Loaded& l) {
  std::vector<std::pair<std::string, std::string>> origins;  // path, origin
  for (size_t i = 0; i < l.models.size(); ++i) {
    origins.emplace_back(job.models[i], model_origin(l.models[i], job.models[i]));
  }
  if (l.base) origins.emplace_back(job.base, model_origin(*l.base, job.base));
  bool same = true;
  for (const auto& [path, origin] : origins) same = same && origin == origins.front().second;
  if (same && !origins.front().second.empty()) return origins.front().second;
  if (job.allow_mixed_origin) return "";
  for (const auto& [path, origin] : origins) {
    UNLEARN_CHECK(!origin.empty(), path,
                  ": cannot tell which original it was unlearned from (no provenance origin, and "
                  "its parent file is gone); --allow-mixed-origin composes it anyway");
  }
  for (const auto& [path, origin] : origins) {
    UNLEARN_CHECK(origin == origins.front().second, path, " comes from original ",
                  origin.substr(0, 12), "… but ", origins.front().first, " from ",
                  origins.front().second.substr(0, 12),
                  "…; runs of different originals do not compose (--allow-mixed-origin to force)");
  }
  return "";
}

void check_usage(const ComposeJob& job) {
  const auto& ops = compose_operators();
  UNLEARN_CHECK_AS(UsageError, std::find(ops.begin(), ops.end(), job.op) != ops.end(),
                   "compose: unknown operator '", job.op,
                   "' (expected swap, interpolate, soup, task-vector or --search)");
  const size_t n = job.models.size();
  UNLEARN_CHECK_AS(UsageError, n >= 1, "compose: give the models to merge");
  UNLEARN_CHECK_AS(UsageError, job.op == "task-vector" || job.base.empty(),
                   "--base: only task-vector starts from a base model");
  if (job.op == "task-vector") {
    UNLEARN_CHECK_AS(UsageError, !job.base.empty(), "task-vector: --base MODEL is required");
  } else if (job.op == "interpolate") {
    UNLEARN_CHECK_AS(UsageError, n == 2, "interpolate: give exactly two models, got ", n);
  } else {
    UNLEARN_CHECK_AS(UsageError, n >= 2, job.op, ": give at least two models, got ", n);
  }
  UNLEARN_CHECK_AS(UsageError, job.op == "swap" || job.take.empty(), "--take: only for swap");
  UNLEARN_CHECK_AS(UsageError, job.op == "interpolate" || job.group_alpha.empty(),
                   "--alpha GROUP=A: only for interpolate");
  UNLEARN_CHECK_AS(UsageError, job.op == "soup" || job.op == "interpolate" || job.weights.empty(),
                   "--weights: only for soup and interpolate");
  UNLEARN_CHECK_AS(UsageError, job.op == "task-vector" || job.scales.empty(),
                   "--scale: only for task-vector");
  UNLEARN_CHECK_AS(UsageError, job.validation > 0 && job.validation < 1,
                   "--validation: expected a share in (0, 1), got ", job.validation);
  UNLEARN_CHECK_AS(UsageError, job.search_rows >= 2, "--search-rows: expected >= 2, got ",
                   job.search_rows);
  job.polish.validate();
  if (job.op == "search") job.search.validate();
}

/// The operator's weights (everything but search).
Model apply_operator(const ComposeJob& job, const Loaded& l) {
  if (job.op == "swap") return swap_groups(l.sources, job.take);
  if (job.op == "soup") return soup(l.sources, job.weights);
  if (job.op == "task-vector") return task_vector({&*l.base, job.base}, l.sources, job.scales);
  if (!job.weights.empty()) {  // interpolate given as two weights
    UNLEARN_CHECK_AS(UsageError, job.weights.size() == 2, "--weights: interpolate takes two");
    check_sum_to_one(job.weights, "--weights");
    return interpolate(l.sources[0], l.sources[1], job.weights[1], job.group_alpha);
  }
  return interpolate(l.sources[0], l.sources[1], job.alpha, job.group_alpha);
}

nlohmann::json job_options(const ComposeJob& job) {
  nlohmann::json o = {{"operator", job.op}, {"models", job.models}};
  if (!job.base.empty()) o["base"] = job.base;
  if (!job.take.empty()) {
    o["take"] = nlohmann::json::object();
    for (const auto& [group, i] : job.take) o["take"][group] = job.models.at(i);
  }
  if (job.op == "interpolate") {
    o["alpha"] = job.weights.empty() ? job.alpha : job.weights[1];
    for (const auto& [group, a] : job.group_alpha) o["group_alpha"][group] = a;
  }
  if (!job.weights.empty()) o["weights"] = job.weights;
  if (!job.scales.empty()) o["scales"] = job.scales;
  o["recalibrate"] = job.polish.recalibrate();
  o["finetune_epochs"] = job.polish.finetune_epochs();
  if (job.polish.finetune_epochs() > 0) {
    o["finetune"] = {{"optimizer", job.polish.finetune().optimizer()},
                     {"lr", job.polish.finetune().lr()},
                     {"freeze", job.polish.freeze()}};
  }
  return o;
}

}  // namespace

const std::vector<std::string>& compose_operators() {
  static const std::vector<std::string> ops = {"swap", "interpolate", "soup", "task-vector",
                                               "search"};
  return ops;
}

nlohmann::json run_compose_job(const ComposeJob& job, const RunContext& context,
                               Observer& observer) {
  check_usage(job);
  check_output_path(job.out, job.force, "--out");
  if (!job.report.empty()) check_output_path(job.report, job.force, "--report");
  if (job.manifest) check_output_path(manifest::path_for(job.out), job.force, "--out (manifest)");
  if (!job.html.empty()) check_output_path(job.html, job.force, "--html");
  const Loaded loaded = load_sources(job);
  std::vector<MergeSource> all = loaded.sources;
  if (loaded.base) all.insert(all.begin(), {&*loaded.base, job.base});
  check_same_shapes(all);
  const std::string origin = check_origins(job, loaded);
  const Model& first = loaded.models.front();

  const bool needs_data = (job.polish.recalibrate() && has_batchnorm(first)) ||
                          job.polish.finetune_epochs() > 0 || job.op == "search" ||
                          !job.forget.empty() || !job.report.empty();
  UNLEARN_CHECK_AS(UsageError, !needs_data || !job.forget.empty(), "--forget is required: ",
                   job.op == "search" ? "the search judges candidates on it"
                                      : "batch norm is recalibrated on the retain data "
                                        "(--no-recalibrate skips that)");
  std::optional<Model> original, retrain;
  if (!job.original.empty()) original = Model::load(job.original);
  if (!job.retrain.empty()) retrain = Model::load(job.retrain);

  nlohmann::json result;
  result["command"] = "compose";
  std::optional<DataBundle> bundle;
  if (needs_data) {
    bundle = load_data(job.data, job.data_options);
    for (size_t i = 0; i < job.models.size(); ++i) {
      check_compatible(loaded.models[i], *bundle, job.models[i]);
    }
  }
  const Model* reference = original ? &*original : nullptr;

  const auto start = std::chrono::steady_clock::now();
  std::optional<Model> composite;
  nlohmann::json search_summary;
  if (job.op == "search") {
    const DataBundle carved = carve_validation(*bundle, job.validation, context.seed());
    const Split split =
        split_for(job.forget, carved, job.allow_empty, "--forget", reference, "--original MODEL");
    const auto [data, small] = subsample_train(make_eval_data(carved, first.spec().input), split,
                                               job.search_rows, context.seed());
    const CompositeSearch found = search_composites(
        loaded.sources, data, small, retrain ? &*retrain : nullptr, job.search, context, observer);
    search_summary = found.summary;
    search_summary["validation"] = job.validation;
    search_summary["search_rows"] = small.train.forget.numel() + small.train.retain.numel();
    composite = merge_weighted(loaded.sources, found.chosen);
  } else {
    composite = apply_operator(job, loaded);
  }
  const double search_seconds = seconds_since(start);

  std::optional<Split> split;
  std::optional<EvalData> data;
  std::vector<TraceRecord> trace;
  const auto polish_start = std::chrono::steady_clock::now();
  if (bundle) {
    split =
        split_for(job.forget, *bundle, job.allow_empty, "--forget", reference, "--original MODEL");
    data = make_eval_data(*bundle, first.spec().input);
    const UnlearnData udata{data->train_inputs, data->train_labels, split->train.forget,
                            split->train.retain};
    PolishOptions polish = job.polish;
    polish.seed(polish.seed() ^ context.seed());
    trace = polish_composite(*composite, udata, polish, context, observer);
  }
  const double polish_seconds = seconds_since(polish_start);

  const nlohmann::json options = job_options(job);
  composite->spec().provenance = {{"command", "compose"},
                                  {"compose", options},
                                  {"threads", context.threads()},
                                  {"torch_version", torch_version()}};
  if (!origin.empty()) composite->spec().provenance["origin"] = origin;
  if (!job.forget.empty()) composite->spec().provenance["forget"] = job.forget;
  if (!search_summary.is_null()) {
    composite->spec().provenance["compose"]["chosen"] =
        search_summary["candidates"][search_summary["chosen"].get<size_t>()]["weights"];
  }

  const auto eval_start = std::chrono::steady_clock::now();
  if (split) {
    const OutputCache cache(output_cache_dir());
    const CacheUse cached = open_cache(job.use_cache, *bundle, cache);
    const CacheUse not_cached;  // the composite is new: nothing to find
    std::vector<EntryRequest> requests{{"unlearned", &*composite, job.out, &*data, not_cached}};
    std::deque<std::optional<EvalData>> own;  // a deque keeps the requests' pointers valid
    for (const auto& [role, model, path] :
         {std::tuple<std::string, const std::optional<Model>*, std::string>{"original", &original,
                                                                            job.original},
          {"retrain", &retrain, job.retrain}}) {
      if (!*model) continue;
      check_compatible(**model, *bundle, path);
      own.emplace_back();
      const EvalData& d = eval_data_for(**model, *composite, *data, *bundle, own.back());
      requests.push_back({role, &**model, path, &d, cached});
    }
    std::map<std::string, Evaluated> models = evaluate_entries(requests, *split, context, observer);
    add_comparisons(result, models, *split);
    if (original) {
      result["diagnostics"] =
          diagnostics_entry(models, *data, *split, *original, &*composite, context.seed());
    } else {
      result["diagnostics"] =
          diagnostics_entry(models, *data, *split, *composite, nullptr, context.seed());
    }
    result["data"] = data_entry(job.data, *split);
    result["data"]["class_names"] = bundle->train.class_names;
  }
  result["time_s"] = {{"unlearn", search_seconds + polish_seconds},
                      {"search", job.op == "search" ? search_seconds : 0.0},
                      {"polish", polish_seconds},
                      {"evaluate", seconds_since(eval_start)}};
  result["method"] = {{"name", "compose"}, {"options", options}};
  if (!search_summary.is_null()) result["search"] = search_summary;
  result["env"] = env_entry(context.threads(), context.seed(), device_name(context),
                            precision_name(context.precision()), context.command_line());
  result["trace"] = trace_entry(trace);

  // Inputs are hashed before the output is written: with --force, --out may replace one.
  std::vector<std::pair<std::string, std::string>> inputs;
  for (size_t i = 0; i < job.models.size(); ++i) {
    inputs.push_back({"model." + std::to_string(i), job.models[i]});
  }
  inputs.push_back({"base", job.base});
  inputs.push_back({"original", job.original});
  inputs.push_back({"retrain", job.retrain});
  const auto input_digests = job.manifest || !job.registry.empty()
                                 ? manifest::digest_files(inputs)
                                 : std::map<std::string, std::string>{};
  composite->save(job.out, job.force, "--out");
  if (!job.report.empty()) {
    write_text_atomically(job.report, json_text(result, 2) + "\n", job.force, "--report");
  }
  if (job.manifest) {
    manifest::RunFacts facts;
    facts.command = "compose";
    facts.files = inputs;
    facts.files.push_back({"output", job.out});
    facts.digests = input_digests;
    facts.files.push_back({"report", job.report});
    facts.data_source = job.data;
    facts.data_options = job.data_options;
    facts.bundle = bundle ? &*bundle : nullptr;
    facts.forget = job.forget;
    facts.split = split ? &*split : nullptr;
    facts.include_ids = job.manifest_ids;
    facts.config = {{"operator", job.op}, {"options", options}};
    facts.result = result;
    manifest::write(facts, job.out, job.force, context);
  }
  if (result.contains("models")) write_run_html(job.html, job.report, job.out, result, job.force);
  if (!job.registry.empty()) {
    RunRecord run;
    run.command = "compose";
    run.model_path = job.out;
    for (size_t i = 0; i < job.models.size(); ++i) {
      run.parent_sha256.push_back(input_digests.at("model." + std::to_string(i)));
    }
    if (!job.base.empty()) run.parent_sha256.push_back(input_digests.at("base"));
    run.data = split ? job.data : "";
    run.selection = job.forget;
    run.n_forget = split ? split->train.forget.numel() : 0;
    run.method = "compose " + job.op;
    if (result.contains("models") && result["models"].contains("unlearned")) {
      run.metrics = result["models"]["unlearned"]["metrics"];
    }
    if (result.contains("avg_gap")) run.metrics["avg_gap"] = result["avg_gap"];
    run.details = {{"parents", job.models},
                   {"report", job.report},
                   {"manifest", job.manifest ? manifest::path_for(job.out) : ""},
                   {"options", options},
                   {"env", result["env"]}};
    record_run(job.registry, std::move(run));
  }
  return result;
}

}  // namespace unlearn
