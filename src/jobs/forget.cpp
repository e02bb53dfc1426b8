// `unlearn forget`, the one forget pipeline: the outputs are checked, the method is built and the
// model loaded once each, the selection is split, the method runs, the original, unlearned and
// retrained models are evaluated side by side, and the run's files are written. Bench cells and
// sweep trials come through here too, on data already loaded.

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <map>
#include <optional>

#include "diagnostics.h"
#include "evaluation.h"
#include "inputs.h"
#include "run_outputs.h"
#include "run_records.h"
#include "unlearn/core/clock.h"
#include "unlearn/core/data_parallel.h"
#include "unlearn/core/error.h"
#include "unlearn/data/source.h"
#include "unlearn/jobs/jobs.h"
#include "unlearn/methods/registry.h"
#include "unlearn/metrics/evaluator.h"
#include "unlearn/metrics/output_cache.h"
#include "unlearn/models/provenance.h"
#include "unlearn/report/result.h"
#include "unlearn/select/selection.h"

namespace unlearn {

using namespace internal;  // what the jobs share (src/jobs/*.h)

namespace {

/// What a forget run works on, each loaded or made once.
struct ForgetInputs {
  Model original;
  std::optional<Model> retrain;
  Split split;
  EvalData data;                // every row in the original's input format
  std::optional<EvalData> own;  // the retrain's, when its input format differs
  UnlearnData method_data;      // what the method sees (a share of D_r with --retain-share)
};

void check_options(const ForgetJob& job, const Model& original) {
  if (job.input_size > 0 && job.input_size != original.spec().input.size) {
    throw UsageError(detail::concat("--input-size ", job.input_size, ": ", job.model, " takes ",
                                    original.spec().input.size, "x", original.spec().input.size,
                                    " inputs; the size is set when training (unlearn train "
                                    "--input-size)"));
  }
  if (!(job.retain_share > 0 && job.retain_share <= 1)) {
    throw UsageError(
        detail::concat("--retain-share: expected a share in (0,1], got ", job.retain_share));
  }
  if (!(job.time_budget_s >= 0) || !std::isfinite(job.time_budget_s)) {
    throw UsageError(
        detail::concat("--time-budget: expected seconds >= 0 (0: none), got ", job.time_budget_s));
  }
}

/// The method's context: under a time budget, its deadline. Data-parallel ranks would each fit
/// their own step count and then wait for one another in the gradient average, so a budget
/// there is refused.
RunContext method_context(const ForgetJob& job, const RunContext& context) {
  if (job.time_budget_s <= 0) return context;
  if (context.group()) {
    throw UsageError(
        "--time-budget: not available in a data-parallel run (each rank would fit "
        "a different number of steps)");
  }
  return RunContext(context).deadline(deadline_after(job.time_budget_s));
}

/// result.time_budget: the budget, the time used and whether the run kept to it.
nlohmann::json budget_entry(double budget_s, double unlearn_s, const MethodResult& unlearned) {
  nlohmann::json entry = {{"seconds", budget_s},
                          {"used_s", unlearn_s},
                          {"within", unlearn_s <= budget_s * (1 + kBudgetTolerance)}};
  const auto& summary = unlearned.summary;
  if (summary.contains("planned_steps")) entry["planned_steps"] = summary["planned_steps"];
  if (summary.contains("steps")) entry["steps"] = summary["steps"];
  return entry;
}

ForgetInputs prepare(const ForgetJob& job, Model original, const DataBundle& bundle,
                     const RunContext& context) {
  std::optional<Model> retrain;
  if (!job.retrain.empty()) retrain = Model::load(job.retrain, job.torchscript);
  check_compatible(original, bundle, job.model);
  if (retrain) check_compatible(*retrain, bundle, job.retrain);
  check_options(job, original);
  const DataSelection& s = job.selection;
  Split split = split_for(s.forget, bundle, s.allow_empty, "--forget", &original, "--model");
  EvalData data = make_eval_data(bundle, original.spec().input);
  UnlearnData method_data{data.train_inputs, data.train_labels, split.train.forget,
                          subsample_rows(split.train.retain, job.retain_share, context.seed())};
  return {std::move(original), std::move(retrain), std::move(split),
          std::move(data),     std::nullopt,       std::move(method_data)};
}

void set_provenance(Model& unlearned, const ForgetJob& job, const Method& method,
                    const Model& original, const RunContext& context) {
  unlearned.spec().provenance = {{"command", "forget"},
                                 {"parent", job.model},
                                 {"origin", model_origin(original, job.model)},
                                 {"data", job.selection.data},
                                 {"forget", job.selection.forget},
                                 {"method", method.name()},
                                 {"method_options", method.options_json()},
                                 {"threads", context.threads()},
                                 {"precision", precision_name(context.precision())},
                                 {"torch_version", torch_version()}};
}

/// Where the original's and the retrain's outputs, entries and audits are looked for: nowhere in
/// a data-parallel run, so that every rank takes part in the same collectives.
CacheUse reference_cache(const ForgetJob& job, const DataBundle& bundle, const OutputCache& cache,
                         const RunContext& context) {
  return context.group() ? CacheUse{} : open_cache(job.use_cache, bundle, cache);
}

/// models.{original,unlearned,retrain}: in a data-parallel run every rank predicts its block of
/// rows for each model, and rank 0 alone turns the gathered logits into metrics (the disk cache
/// is skipped so that every rank takes part in the same collectives). Empty on other ranks.
std::map<std::string, Evaluated> evaluate_models(const ForgetJob& job, ForgetInputs& in,
                                                 const Model& unlearned, const DataBundle& bundle,
                                                 const RunContext& context, Observer& observer) {
  const EvalData* retrain_data =
      in.retrain ? &eval_data_for(*in.retrain, in.original, in.data, bundle, in.own) : nullptr;
  std::map<std::string, ModelOutputs> gathered;
  if (DataParallelGroup* group = context.group()) {
    gathered["original"] =
        compute_outputs_across_ranks(group, in.original, in.data, 128, &observer);
    gathered["unlearned"] = compute_outputs_across_ranks(group, unlearned, in.data, 128, &observer);
    if (in.retrain) {
      gathered["retrain"] =
          compute_outputs_across_ranks(group, *in.retrain, *retrain_data, 128, &observer);
    }
    if (!is_writing_rank(group)) return {};
  }
  const auto known = [&](const char* role) -> const ModelOutputs* {
    const auto it = gathered.find(role);
    return it == gathered.end() ? nullptr : &it->second;
  };
  const OutputCache cache(context.output_cache_dir());
  const CacheUse cached = reference_cache(job, bundle, cache, context);
  const CacheUse not_cached;  // the unlearned model is new: nothing to find
  std::vector<EntryRequest> requests{
      {"original", &in.original, job.model, &in.data, cached, known("original")},
      {"unlearned", &unlearned, job.outputs.out, &in.data, not_cached, known("unlearned")}};
  if (in.retrain) {
    requests.push_back(
        {"retrain", &*in.retrain, job.retrain, retrain_data, cached, known("retrain")});
  }
  auto models = evaluate_entries(requests, in.split, context, observer);
  for (const auto& [role, path] :
       {std::pair<std::string, std::string>{"original", job.model}, {"retrain", job.retrain}}) {
    if (!models.count(role)) continue;
    if (auto seconds = recorded_train_seconds(job.outputs.registry, path)) {
      models[role].entry["time_s"] = *seconds;
    }
  }
  return models;
}

/// The result JSON of a run whose models were evaluated (README, "Result JSON").
nlohmann::json result_of(const ForgetJob& job, const Method& method, const MethodResult& unlearned,
                         const std::map<std::string, Evaluated>& models, const ForgetInputs& in,
                         const DataBundle& bundle, const RunContext& context) {
  nlohmann::json result;
  result["command"] = "forget";
  add_comparisons(result, models, in.split);
  result["diagnostics"] =
      diagnostics_entry(models, in.data, in.split, in.original, &unlearned.model, context.seed());
  add_relearn(job.relearn, result, "unlearned", unlearned.model, in.data, in.split, context);
  if (in.retrain) {
    add_relearn(job.relearn, result, "retrain", *in.retrain, in.data, in.split, context);
  }
  result["method"] = {
      {"name", method.name()}, {"options", method.options_json()}, {"summary", unlearned.summary}};
  result["data"] = data_entry(job.selection.data, in.split);
  result["data"]["class_names"] = bundle.train.class_names;
  if (job.retain_share < 1) result["data"]["n_retain_used"] = in.method_data.retain.numel();
  result["env"] = env_entry(context.threads(), context.seed(), context.device().str(),
                            precision_name(context.precision()), context.command_line());
  if (const Shard shard = shard_of(context.group()); shard.size > 1) {
    result["env"]["processes"] = shard.size;  // data-parallel ranks
  }
  result["trace"] = trace_entry(unlearned.trace);
  return result;
}

nlohmann::json run_forget(const ForgetJob& job, const Method& method, Model original,
                          const DataBundle& bundle, const RunContext& context, Observer& observer) {
  ForgetInputs in = prepare(job, std::move(original), bundle, context);
  seed_everything(context.seed());
  const auto start = std::chrono::steady_clock::now();
  MethodResult unlearned =
      method.run(in.original, in.method_data, method_context(job, context), observer);
  const double unlearn_seconds = seconds_since(start);
  set_provenance(unlearned.model, job, method, in.original, context);

  const auto eval_start = std::chrono::steady_clock::now();
  const auto models = evaluate_models(job, in, unlearned.model, bundle, context, observer);
  if (!is_writing_rank(context.group())) return nlohmann::json::object();
  nlohmann::json result = result_of(job, method, unlearned, models, in, bundle, context);
  result["time_s"] = {{"unlearn", unlearn_seconds}, {"evaluate", seconds_since(eval_start)}};
  if (job.time_budget_s > 0) {
    result["time_budget"] = budget_entry(job.time_budget_s, unlearn_seconds, unlearned);
  }
  if (job.audit) {
    const auto audit_start = std::chrono::steady_clock::now();
    const OutputCache cache(context.output_cache_dir());
    const CacheUse cached = reference_cache(job, bundle, cache, context);
    add_audits(result, "original", in.original, job.model, in.data, in.split, context, observer,
               cached);
    add_audits(result, "unlearned", unlearned.model, job.outputs.out, in.data, in.split, context,
               observer);
    if (in.retrain) {
      add_audits(result, "retrain", *in.retrain, job.retrain, in.own ? *in.own : in.data, in.split,
                 context, observer, cached);
    }
    add_depth_gaps(result);
    result["time_s"]["audit"] = seconds_since(audit_start);
  }

  FinishedRun run;
  run.command = "forget";
  run.inputs = {{"model", job.model}, {"retrain", job.retrain}};
  run.parents = {"model"};
  run.selection = &job.selection;
  run.bundle = &bundle;
  run.split = &in.split;
  run.method = method.name();
  run.config = {{"method", method.name()},
                {"options", method.options_json()},
                {"retain_share", job.retain_share},
                {"time_budget_s", job.time_budget_s},
                {"allow_empty", job.selection.allow_empty}};
  run.details = {{"parent", job.model},
                 {"method_options", method.options_json()},
                 {"time_s", result["time_s"]}};
  write_run_outputs(job.outputs, run, unlearned.model, result, context);
  return result;
}

}  // namespace

nlohmann::json run_forget_job(const ForgetJob& job, const RunContext& context, Observer& observer) {
  check_output_files(job.outputs);
  // Bad options and an unreadable model fail before the data are read.
  const auto method = make_method(job.method, job.method_options);
  Model original = Model::load(job.model, job.torchscript);
  const DataBundle bundle = load_job_data(job.selection.data, job.selection.data_options, observer);
  return run_forget(job, *method, std::move(original), bundle, context, observer);
}

nlohmann::json run_forget_job(const ForgetJob& job, const DataBundle& bundle,
                              const RunContext& context, Observer& observer) {
  check_output_files(job.outputs);
  const auto method = make_method(job.method, job.method_options);
  return run_forget(job, *method, Model::load(job.model, job.torchscript), bundle, context,
                    observer);
}

}  // namespace unlearn
