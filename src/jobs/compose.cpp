#include "unlearn/jobs/compose.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <tuple>

#include "diagnostics.h"
#include "evaluation.h"
#include "inputs.h"
#include "run_outputs.h"
#include "unlearn/compose/merge.h"
#include "unlearn/core/clock.h"
#include "unlearn/core/error.h"
#include "unlearn/jobs/sweep.h"
#include "unlearn/metrics/output_cache.h"
#include "unlearn/models/provenance.h"
#include "unlearn/report/result.h"
#include "unlearn/train/batchnorm.h"

namespace unlearn {

using namespace internal;  // what the jobs share (src/jobs/*.h)

namespace {

struct Loaded {
  std::vector<Model> models;  // storage; `sources` points into it
  std::vector<MergeSource> sources;
  std::optional<Model> base;
};

Loaded load_sources(const ComposeJob& job) {
  Loaded l;
  l.models.reserve(job.models.size());
  for (const auto& path : job.models) l.models.push_back(Model::load(path, job.torchscript));
  for (size_t i = 0; i < job.models.size(); ++i) l.sources.push_back({&l.models[i], job.models[i]});
  if (!job.base.empty()) l.base = Model::load(job.base, job.torchscript);
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

/// Checks the job's flags against its operator, and returns the operator.
ComposeOperator check_usage(const ComposeJob& job) {
  const auto op = find_choice<ComposeOperator>(job.op);
  UNLEARN_CHECK_AS(UsageError, op.has_value(), "compose: unknown operator '", job.op,
                   "' (expected swap, interpolate, soup, task-vector or --search)");
  const size_t n = job.models.size();
  UNLEARN_CHECK_AS(UsageError, n >= 1, "compose: give the models to merge");
  UNLEARN_CHECK_AS(UsageError, *op == ComposeOperator::task_vector || job.base.empty(),
                   "--base: only task-vector starts from a base model");
  if (*op == ComposeOperator::task_vector) {
    UNLEARN_CHECK_AS(UsageError, !job.base.empty(), "task-vector: --base MODEL is required");
  } else if (*op == ComposeOperator::interpolate) {
    UNLEARN_CHECK_AS(UsageError, n == 2, "interpolate: give exactly two models, got ", n);
  } else {
    UNLEARN_CHECK_AS(UsageError, n >= 2, job.op, ": give at least two models, got ", n);
  }
  UNLEARN_CHECK_AS(UsageError, *op == ComposeOperator::swap || job.take.empty(),
                   "--take: only for swap");
  UNLEARN_CHECK_AS(UsageError, *op == ComposeOperator::interpolate || job.group_alpha.empty(),
                   "--alpha GROUP=A: only for interpolate");
  UNLEARN_CHECK_AS(
      UsageError,
      *op == ComposeOperator::soup || *op == ComposeOperator::interpolate || job.weights.empty(),
      "--weights: only for soup and interpolate");
  UNLEARN_CHECK_AS(UsageError, *op == ComposeOperator::task_vector || job.scales.empty(),
                   "--scale: only for task-vector");
  UNLEARN_CHECK_AS(UsageError, job.validation > 0 && job.validation < 1,
                   "--validation: expected a share in (0, 1), got ", job.validation);
  UNLEARN_CHECK_AS(UsageError, job.search_rows >= 2, "--search-rows: expected >= 2, got ",
                   job.search_rows);
  job.polish.validate();
  if (*op == ComposeOperator::search) job.search.validate();
  return *op;
}

/// The operator's weights (everything but search).
Model apply_operator(const ComposeJob& job, ComposeOperator op, const Loaded& l) {
  if (op == ComposeOperator::swap) return swap_groups(l.sources, job.take);
  if (op == ComposeOperator::soup) return soup(l.sources, job.weights);
  if (op == ComposeOperator::task_vector) {
    return task_vector({&*l.base, job.base}, l.sources, job.scales);
  }
  if (!job.weights.empty()) {  // interpolate given as two weights
    UNLEARN_CHECK_AS(UsageError, job.weights.size() == 2, "--weights: interpolate takes two");
    check_sum_to_one(job.weights, "--weights");
    return interpolate(l.sources[0], l.sources[1], job.weights[1], job.group_alpha);
  }
  return interpolate(l.sources[0], l.sources[1], job.alpha, job.group_alpha);
}

nlohmann::json job_options(const ComposeJob& job, ComposeOperator op) {
  nlohmann::json o = {{"operator", job.op}, {"models", job.models}};
  if (!job.base.empty()) o["base"] = job.base;
  if (!job.take.empty()) {
    o["take"] = nlohmann::json::object();
    for (const auto& [group, i] : job.take) o["take"][group] = job.models.at(i);
  }
  if (op == ComposeOperator::interpolate) {
    o["alpha"] = job.weights.empty() ? job.alpha : job.weights[1];
    for (const auto& [group, a] : job.group_alpha) o["group_alpha"][group] = a;
  }
  if (!job.weights.empty()) o["weights"] = job.weights;
  if (!job.scales.empty()) o["scales"] = job.scales;
  o["recalibrate"] = job.polish.recalibrate();
  o["finetune_epochs"] = job.polish.finetune_epochs();
  if (job.polish.finetune_epochs() > 0) {
    o["finetune"] = {{"optimizer", choice_name(job.polish.finetune().optimizer())},
                     {"lr", job.polish.finetune().lr()},
                     {"freeze", job.polish.freeze()}};
  }
  return o;
}

}  // namespace

const std::vector<std::string>& compose_operators() {
  static const std::vector<std::string> ops = choice_names<ComposeOperator>();
  return ops;
}

int unmixed_source(const nlohmann::json& weights) {
  int source = -1;
  for (const auto& [group, w] : weights.items()) {
    int one = -1;
    for (size_t i = 0; i < w.size(); ++i) {
      const double x = w[i].get<double>();
      if (x == 1.0 && one < 0) {
        one = static_cast<int>(i);
      } else if (x != 0.0) {
        return -1;
      }
    }
    if (one < 0 || (source >= 0 && one != source)) return -1;
    source = one;
  }
  return source;
}

namespace {

/// The data and the evaluation partners of a compose run, each loaded once.
struct ComposeInputs {
  std::optional<Model> original, retrain;
  std::optional<DataBundle> bundle;  // absent when the composite needs no data
};

ComposeInputs load_inputs(const ComposeJob& job, ComposeOperator op, const Loaded& loaded,
                          Observer& observer) {
  const Model& first = loaded.models.front();
  const bool needs_data = (job.polish.recalibrate() && has_batchnorm(first)) ||
                          job.polish.finetune_epochs() > 0 || op == ComposeOperator::search ||
                          !job.selection.forget.empty() || !job.outputs.report.empty();
  UNLEARN_CHECK_AS(UsageError, !needs_data || !job.selection.forget.empty(),
                   "--forget is required: ",
                   op == ComposeOperator::search ? "the search judges candidates on it"
                                                 : "batch norm is recalibrated on the retain data "
                                                   "(--no-recalibrate skips that)");
  ComposeInputs in;
  if (!job.original.empty()) in.original = Model::load(job.original, job.torchscript);
  if (!job.retrain.empty()) in.retrain = Model::load(job.retrain, job.torchscript);
  if (needs_data) {
    in.bundle = load_job_data(job.selection.data, job.selection.data_options, observer);
    for (size_t i = 0; i < job.models.size(); ++i) {
      check_compatible(loaded.models[i], *in.bundle, job.models[i]);
    }
  }
  return in;
}

/// The search's choice among the candidates, judged on a validation split carved from the
/// training rows; `summary` receives what it tried.
Model search_composite(const ComposeJob& job, const Loaded& loaded, const ComposeInputs& in,
                       nlohmann::json& summary, const RunContext& context, Observer& observer) {
  const DataSelection& s = job.selection;
  const DataBundle carved = carve_validation(*in.bundle, job.validation, context.seed());
  const Split split = split_for(s.forget, carved, s.allow_empty, "--forget",
                                in.original ? &*in.original : nullptr, "--original MODEL");
  const auto [data, small] =
      subsample_train(make_eval_data(carved, loaded.models.front().spec().input), split,
                      job.search_rows, context.seed());
  const CompositeSearch found =
      search_composites(loaded.sources, data, small, in.retrain ? &*in.retrain : nullptr,
                        job.search, context, observer);
  summary = found.summary;
  summary["validation"] = job.validation;
  summary["search_rows"] = small.train.forget.numel() + small.train.retain.numel();
  return merge_weighted(loaded.sources, found.chosen);
}

/// The composite after the merge: batch norm recalibrated on D_r and an optional fine-tune,
/// with the split and evaluation data they used.
struct Polished {
  std::optional<Split> split;
  std::optional<EvalData> data;
  std::vector<TraceRecord> trace;
};

Polished polish(Model& composite, const InputSpec& input, const ComposeJob& job,
                const ComposeInputs& in, const RunContext& context, Observer& observer) {
  Polished out;
  if (!in.bundle) return out;
  const DataSelection& s = job.selection;
  out.split = split_for(s.forget, *in.bundle, s.allow_empty, "--forget",
                        in.original ? &*in.original : nullptr, "--original MODEL");
  out.data = make_eval_data(*in.bundle, input);
  const UnlearnData udata{out.data->train_inputs, out.data->train_labels, out.split->train.forget,
                          out.split->train.retain};
  PolishOptions options = job.polish;
  options.seed(options.seed() ^ context.seed());
  out.trace = polish_composite(composite, udata, options, context, observer);
  return out;
}

void set_provenance(Model& composite, const ComposeJob& job, const nlohmann::json& options,
                    const std::string& origin, const nlohmann::json& search_summary,
                    const RunContext& context) {
  auto& provenance = composite.spec().provenance;
  provenance = {{"command", "compose"},
                {"compose", options},
                {"threads", context.threads()},
                {"torch_version", torch_version()}};
  if (!origin.empty()) provenance["origin"] = origin;
  if (!job.selection.forget.empty()) provenance["forget"] = job.selection.forget;
  if (!search_summary.is_null()) {
    provenance["compose"]["chosen"] =
        search_summary["candidates"][search_summary["chosen"].get<size_t>()]["weights"];
  }
}

/// models.{unlearned,original,retrain}, their comparisons, diagnostics and data, into `result`.
void evaluate_composite(nlohmann::json& result, const Model& composite, const ComposeJob& job,
                        const ComposeInputs& in, const Polished& polished,
                        const RunContext& context, Observer& observer) {
  const OutputCache cache(context.output_cache_dir());
  const CacheUse cached = open_cache(job.use_cache, *in.bundle, cache);
  const CacheUse not_cached;  // the composite is new: nothing to find
  std::vector<EntryRequest> requests{
      {"unlearned", &composite, job.outputs.out, &*polished.data, not_cached}};
  std::deque<std::optional<EvalData>> own;  // a deque keeps the requests' pointers valid
  for (const auto& [role, model, path] :
       {std::tuple<std::string, const std::optional<Model>*, std::string>{"original", &in.original,
                                                                          job.original},
        {"retrain", &in.retrain, job.retrain}}) {
    if (!*model) continue;
    check_compatible(**model, *in.bundle, path);
    own.emplace_back();
    const EvalData& d = eval_data_for(**model, composite, *polished.data, *in.bundle, own.back());
    requests.push_back({role, &**model, path, &d, cached});
  }
  const Split& split = *polished.split;
  const auto models = evaluate_entries(requests, split, context, observer);
  add_comparisons(result, models, split);
  result["diagnostics"] = in.original ? diagnostics_entry(models, *polished.data, split,
                                                          *in.original, &composite, context.seed())
                                      : diagnostics_entry(models, *polished.data, split, composite,
                                                          nullptr, context.seed());
  result["data"] = data_entry(job.selection.data, split);
  result["data"]["class_names"] = in.bundle->train.class_names;
}

/// What the run's files record of it (run_outputs.h).
FinishedRun finished_run(const ComposeJob& job, const ComposeInputs& in, const Polished& polished,
                         const nlohmann::json& options) {
  FinishedRun run;
  run.command = "compose";
  for (size_t i = 0; i < job.models.size(); ++i) {
    run.inputs.push_back({"model." + std::to_string(i), job.models[i]});
    run.parents.push_back("model." + std::to_string(i));
  }
  run.inputs.push_back({"base", job.base});
  if (!job.base.empty()) run.parents.push_back("base");
  run.inputs.push_back({"original", job.original});
  run.inputs.push_back({"retrain", job.retrain});
  run.selection = &job.selection;
  run.bundle = in.bundle ? &*in.bundle : nullptr;
  run.split = polished.split ? &*polished.split : nullptr;
  run.method = "compose " + job.op;
  run.config = {{"operator", job.op}, {"options", options}};
  run.details = {{"parents", job.models}, {"options", options}};
  return run;
}

}  // namespace

nlohmann::json run_compose_job(const ComposeJob& job, const RunContext& context,
                               Observer& observer) {
  const ComposeOperator op = check_usage(job);
  check_output_files(job.outputs);
  const Loaded loaded = load_sources(job);
  std::vector<MergeSource> all = loaded.sources;
  if (loaded.base) all.insert(all.begin(), {&*loaded.base, job.base});
  check_same_shapes(all);
  const std::string origin = check_origins(job, loaded);
  const ComposeInputs in = load_inputs(job, op, loaded, observer);

  const auto start = std::chrono::steady_clock::now();
  nlohmann::json search_summary;
  Model composite = op == ComposeOperator::search
                        ? search_composite(job, loaded, in, search_summary, context, observer)
                        : apply_operator(job, op, loaded);
  const double search_seconds = seconds_since(start);
  const auto polish_start = std::chrono::steady_clock::now();
  const Polished polished =
      polish(composite, loaded.models.front().spec().input, job, in, context, observer);
  const double polish_seconds = seconds_since(polish_start);
  const nlohmann::json options = job_options(job, op);
  set_provenance(composite, job, options, origin, search_summary, context);

  nlohmann::json result;
  result["command"] = "compose";
  const auto eval_start = std::chrono::steady_clock::now();
  if (polished.split) evaluate_composite(result, composite, job, in, polished, context, observer);
  result["time_s"] = {{"unlearn", search_seconds + polish_seconds},
                      {"search", op == ComposeOperator::search ? search_seconds : 0.0},
                      {"polish", polish_seconds},
                      {"evaluate", seconds_since(eval_start)}};
  result["method"] = {{"name", "compose"}, {"options", options}};
  if (!search_summary.is_null()) result["search"] = search_summary;
  result["env"] = env_entry(context.threads(), context.seed(), context.device().str(),
                            precision_name(context.precision()), context.command_line());
  result["trace"] = trace_entry(polished.trace);
  write_run_outputs(job.outputs, finished_run(job, in, polished, options), composite, result,
                    context);
  return result;
}

}  // namespace unlearn
