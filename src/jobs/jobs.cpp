#include "unlearn/jobs/jobs.h"

#include <torch/torch.h>

#include <chrono>
#include <ctime>
#include <deque>
#include <map>

#include "diagnostics.h"
#include "job_support.h"
#include "manifest.h"
#include "unlearn/core/atomic_file.h"
#include "unlearn/core/data_parallel.h"
#include "unlearn/core/error.h"
#include "unlearn/core/json_text.h"
#include "unlearn/core/parse.h"
#include "unlearn/core/sha256.h"
#include "unlearn/data/source.h"
#include "unlearn/jobs/reference_scorer.h"
#include "unlearn/methods/registry.h"
#include "unlearn/metrics/divergence.h"
#include "unlearn/metrics/evaluator.h"
#include "unlearn/metrics/output_cache.h"
#include "unlearn/metrics/relearn.h"
#include "unlearn/models/model.h"
#include "unlearn/models/provenance.h"
#include "unlearn/report/result.h"
#include "unlearn/select/selection.h"

namespace unlearn {

using namespace job_support;  // what forget, eval and compose share

namespace {

/// Per-channel mean and standard deviation of uint8 images, scaled to [0,1].
void data_statistics(const torch::Tensor& images, InputSpec& spec) {
  auto x = images.to(torch::kFloat32).div_(255.0);
  spec.mean.clear();
  spec.std.clear();
  for (int64_t c = 0; c < spec.channels; ++c) {
    auto channel = x.select(1, std::min<int64_t>(c, x.size(1) - 1));
    spec.mean.push_back(channel.mean().item<double>());
    spec.std.push_back(std::max(channel.std().item<double>(), 1e-6));
  }
}

/// "MEAN,STD" applied to every channel; throws UsageError naming --normalize otherwise.
void fixed_statistics(const std::string& text, InputSpec& spec) {
  const auto comma = text.find(',');
  const auto mean = parse_real(text.substr(0, comma));
  const auto std = comma == std::string::npos ? std::nullopt : parse_real(text.substr(comma + 1));
  if (!mean || !std || !(*std > 0)) {
    throw UsageError(
        detail::concat("--normalize: expected 'data' or MEAN,STD with STD > 0, got '", text, "'"));
  }
  spec.mean.assign(spec.channels, *mean);
  spec.std.assign(spec.channels, *std);
}

nlohmann::json recipe_json(const TrainOptions& r) {
  return {{"epochs", r.epochs()},
          {"batch", r.batch()},
          {"lr", r.lr()},
          {"momentum", r.momentum()},
          {"weight_decay", r.weight_decay()},
          {"schedule", r.schedule()},
          {"seed", r.seed()}};
}

/// With `enabled`, the SGD steps on D_f that bring `model` back to the original's Acc(D_f),
/// under models.<role>.relearn.
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

}  // namespace

std::string checkpoint_path_for(const std::string& out) { return out + ".ckpt"; }

nlohmann::json run_train_job(const TrainJob& job, const RunContext& context, Observer& observer) {
  check_output_path(job.out, job.force, "--out");
  job.recipe.validate();
  return run_train_job(job, load_data(job.data, job.data_options), context, observer);
}

nlohmann::json run_train_job(const TrainJob& job, const DataBundle& bundle,
                             const RunContext& context, Observer& observer) {
  check_output_path(job.out, job.force, "--out");
  job.recipe.validate();
  const int64_t n = bundle.train.size();
  torch::Tensor rows = torch::arange(n, torch::kInt64);
  nlohmann::json selection = nullptr;
  if (!job.exclude.empty()) {
    std::optional<Model> reference;
    if (!job.reference.empty()) reference = Model::load(job.reference);
    Split split = split_for(job.exclude, bundle, job.allow_empty, "--exclude",
                            reference ? &*reference : nullptr, "--reference MODEL");
    rows = split.train.retain;
    selection = {{"exclude", job.exclude}, {"n_excluded", split.train.forget.numel()}};
  }
  UNLEARN_CHECK(rows.numel() > 0, "train: no training samples left after --exclude");

  ModelSpec spec;
  spec.arch = job.arch;
  spec.input.channels = bundle.train.channels();
  spec.input.size = job.input_size > 0 ? job.input_size : bundle.train.height();
  if (job.normalize == "data") {
    data_statistics(bundle.train.images.index_select(0, rows), spec.input);
  } else {
    fixed_statistics(job.normalize, spec.input);
  }
  spec.options = ArchOptions(bundle.train.num_classes())
                     .in_channels(spec.input.channels)
                     .width(job.width)
                     .input_size(spec.input.size);
  spec.class_names = bundle.train.class_names;

  seed_everything(job.recipe.seed());
  Model model = Model::create(spec);
  auto inputs = to_model_input(bundle.train.images, spec.input);
  Checkpointing checkpointing;
  if (job.checkpoint_every > 0 || job.resume) {
    checkpointing.path = checkpoint_path_for(job.out);
    checkpointing.every = job.checkpoint_every;
    checkpointing.resume = job.resume;
    // Everything that decides the result except the thread count, which may change on resume.
    checkpointing.config = {{"command", "train"},
                            {"data", job.data},
                            {"data_options", manifest::data_options_json(job.data_options)},
                            {"exclude", job.exclude},
                            {"n_train", rows.numel()},
                            {"spec", spec.to_json()},
                            {"recipe", recipe_json(job.recipe)},
                            {"precision", precision_name(context.precision())}};
  }
  TrainReport report = train_model(model, inputs, bundle.train.labels, rows, job.recipe, context,
                                   observer, checkpointing);

  model.spec().provenance = {{"command", "train"},
                             {"data", job.data},
                             {"selection", selection},
                             {"n_train", rows.numel()},
                             {"recipe", recipe_json(job.recipe)},
                             {"normalize", job.normalize},
                             {"final_loss", report.final_loss},
                             {"threads", context.threads()},
                             {"precision", precision_name(context.precision())},
                             {"torch_version", torch_version()}};
  if (const Shard shard = data_parallel_shard(); shard.size > 1) {
    model.spec().provenance["processes"] = shard.size;  // data-parallel ranks
  }
  // In a data-parallel run every rank holds the same model; rank 0 alone writes it.
  if (is_writing_rank()) {
    model.save(job.out, job.force, "--out");
    remove_checkpoint(checkpointing);
    RunRecord run;
    run.command = "train";
    run.model_path = job.out;
    run.data = job.data;
    run.selection = job.exclude;
    run.n_forget = selection.is_null() ? 0 : selection["n_excluded"].get<int64_t>();
    run.metrics = {{"final_loss", report.final_loss}, {"time_s", report.seconds}};
    run.details = model.spec().provenance;
    record_run(job.registry, std::move(run));
  }
  return {{"out", job.out},
          {"arch", job.arch},
          {"n_train", rows.numel()},
          {"time_s", report.seconds},
          {"final_loss", report.final_loss}};
}

nlohmann::json run_forget_job(const ForgetJob& job, const RunContext& context, Observer& observer) {
  check_output_path(job.out, job.force, "--out");
  if (!job.report.empty()) check_output_path(job.report, job.force, "--report");
  if (job.manifest) check_output_path(manifest::path_for(job.out), job.force, "--out (manifest)");
  if (!job.html.empty()) check_output_path(job.html, job.force, "--html");
  make_method(job.method, job.method_options);  // bad options fail before any work
  Model::load(job.model);                       // so does an unreadable model
  return run_forget_job(job, load_data(job.data, job.data_options), context, observer);
}

nlohmann::json run_forget_job(const ForgetJob& job, const DataBundle& bundle,
                              const RunContext& context, Observer& observer) {
  check_output_path(job.out, job.force, "--out");
  if (!job.report.empty()) check_output_path(job.report, job.force, "--report");
  if (job.manifest) check_output_path(manifest::path_for(job.out), job.force, "--out (manifest)");
  if (!job.html.empty()) check_output_path(job.html, job.force, "--html");
  auto method = make_method(job.method, job.method_options);

  Model original = Model::load(job.model);
  std::optional<Model> retrain;
  if (!job.retrain.empty()) retrain = Model::load(job.retrain);
  check_compatible(original, bundle, job.model);
  if (retrain) check_compatible(*retrain, bundle, job.retrain);
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
  Split split = split_for(job.forget, bundle, job.allow_empty, "--forget", &original, "--model");

  EvalData data = make_eval_data(bundle, original.spec().input);
  UnlearnData udata{data.train_inputs, data.train_labels, split.train.forget,
                    subsample_rows(split.train.retain, job.retain_share, context.seed())};

  seed_everything(context.seed());
  const auto start = std::chrono::steady_clock::now();
  MethodResult unlearned = method->run(original, udata, context, observer);
  const double unlearn_seconds = seconds_since(start);

  unlearned.model.spec().provenance = {{"command", "forget"},
                                       {"parent", job.model},
                                       {"origin", model_origin(original, job.model)},
                                       {"data", job.data},
                                       {"forget", job.forget},
                                       {"method", method->name()},
                                       {"method_options", method->options_json()},
                                       {"threads", context.threads()},
                                       {"precision", precision_name(context.precision())},
                                       {"torch_version", torch_version()}};

  const auto eval_start = std::chrono::steady_clock::now();
  std::optional<EvalData> own;
  const EvalData* rdata = retrain ? &eval_data_for(*retrain, original, data, bundle, own) : nullptr;
  // A data-parallel run: every rank predicts its block of rows for each model, and rank 0
  // alone turns the gathered logits into metrics and writes the files. The disk cache is
  // skipped so that every rank takes part in the same collectives.
  std::map<std::string, ModelOutputs> gathered;
  if (data_parallel_group()) {
    gathered["original"] = compute_outputs_across_ranks(original, data, 128, &observer);
    gathered["unlearned"] = compute_outputs_across_ranks(unlearned.model, data, 128, &observer);
    if (retrain)
      gathered["retrain"] = compute_outputs_across_ranks(*retrain, *rdata, 128, &observer);
    if (!is_writing_rank()) return nlohmann::json::object();
  }
  const auto known = [&](const char* role) -> const ModelOutputs* {
    const auto it = gathered.find(role);
    return it == gathered.end() ? nullptr : &it->second;
  };
  const OutputCache cache(output_cache_dir());
  const CacheUse cached = gathered.empty() ? open_cache(job.use_cache, bundle, cache) : CacheUse{};
  nlohmann::json result;
  result["command"] = "forget";
  const CacheUse not_cached;  // the unlearned model is new: nothing to find
  std::vector<EntryRequest> requests{
      {"original", &original, job.model, &data, cached, known("original")},
      {"unlearned", &unlearned.model, job.out, &data, not_cached, known("unlearned")}};
  if (retrain)
    requests.push_back({"retrain", &*retrain, job.retrain, rdata, cached, known("retrain")});
  std::map<std::string, Evaluated> models = evaluate_entries(requests, split, context, observer);
  for (const auto& [role, path] :
       {std::pair<std::string, std::string>{"original", job.model}, {"retrain", job.retrain}}) {
    if (!models.count(role)) continue;
    if (auto seconds = recorded_train_seconds(job.registry, path)) {
      models[role].entry["time_s"] = *seconds;
    }
  }
  add_comparisons(result, models, split);
  result["diagnostics"] =
      diagnostics_entry(models, data, split, original, &unlearned.model, context.seed());
  add_relearn(job.relearn, result, "unlearned", unlearned.model, data, split, context);
  if (retrain) add_relearn(job.relearn, result, "retrain", *retrain, data, split, context);
  result["time_s"] = {{"unlearn", unlearn_seconds}, {"evaluate", seconds_since(eval_start)}};
  result["method"] = {{"name", method->name()},
                      {"options", method->options_json()},
                      {"summary", unlearned.summary}};
  result["data"] = data_entry(job.data, split);
  result["data"]["class_names"] = bundle.train.class_names;
  if (job.retain_share < 1) result["data"]["n_retain_used"] = udata.retain.numel();
  result["env"] = env_entry(context.threads(), context.seed(), device_name(context),
                            precision_name(context.precision()), context.command_line());
  if (const Shard shard = data_parallel_shard(); shard.size > 1) {
    result["env"]["processes"] = shard.size;  // data-parallel ranks
  }
  result["trace"] = trace_entry(unlearned.trace);

  // Inputs are hashed before the output is written: with --force, --out may replace one.
  const std::vector<std::pair<std::string, std::string>> inputs{{"model", job.model},
                                                                {"retrain", job.retrain}};
  const auto input_digests = job.manifest || !job.registry.empty()
                                 ? manifest::digest_files(inputs)
                                 : std::map<std::string, std::string>{};
  unlearned.model.save(job.out, job.force, "--out");
  if (!job.report.empty()) {
    write_text_atomically(job.report, json_text(result, 2) + "\n", job.force, "--report");
  }
  if (job.manifest) {
    manifest::RunFacts facts;
    facts.command = "forget";
    facts.files = {{"model", job.model},
                   {"retrain", job.retrain},
                   {"output", job.out},
                   {"report", job.report}};
    facts.digests = input_digests;
    facts.data_source = job.data;
    facts.data_options = job.data_options;
    facts.bundle = &bundle;
    facts.forget = job.forget;
    facts.split = &split;
    facts.include_ids = job.manifest_ids;
    facts.config = {{"method", method->name()},
                    {"options", method->options_json()},
                    {"retain_share", job.retain_share},
                    {"allow_empty", job.allow_empty}};
    facts.result = result;
    manifest::write(facts, job.out, job.force, context);
  }
  write_run_html(job.html, job.report, job.out, result, job.force);
  if (!job.registry.empty()) {
    RunRecord run;
    run.command = "forget";
    run.model_path = job.out;
    run.parent_sha256 = {input_digests.at("model")};
    run.data = job.data;
    run.selection = job.forget;
    run.n_forget = split.train.forget.numel();
    run.method = method->name();
    run.metrics = result["models"]["unlearned"]["metrics"];
    if (result.contains("avg_gap")) run.metrics["avg_gap"] = result["avg_gap"];
    run.details = {{"parent", job.model},
                   {"report", job.report},
                   {"manifest", job.manifest ? manifest::path_for(job.out) : ""},
                   {"method_options", method->options_json()},
                   {"env", result["env"]},
                   {"time_s", result["time_s"]}};
    record_run(job.registry, std::move(run));
  }
  return result;
}

nlohmann::json run_eval_job(const EvalJob& job, const RunContext& context, Observer& observer) {
  Model model = Model::load(job.model);
  DataBundle bundle = load_data(job.data, job.data_options);
  check_compatible(model, bundle, job.model);
  // outliers() must pick the samples forget picked: those the original model ranks highest.
  std::optional<Model> reference;
  if (!job.original.empty()) reference = Model::load(job.original);
  Split split = split_for(job.forget, bundle, job.allow_empty, "--forget",
                          reference ? &*reference : nullptr, "--original MODEL");
  EvalData data = make_eval_data(bundle, model.spec().input);
  const OutputCache cache(output_cache_dir());
  const CacheUse cached = open_cache(job.use_cache, bundle, cache);

  nlohmann::json result;
  result["command"] = "eval";
  std::vector<EntryRequest> requests{{"model", &model, job.model, &data, cached}};
  std::deque<Model> others;  // a deque keeps the requests' pointers valid as it grows
  std::deque<std::optional<EvalData>> own;
  for (const auto& [role, path] :
       {std::pair<std::string, std::string>{"original", job.original}, {"retrain", job.retrain}}) {
    if (path.empty()) continue;
    // The original was already loaded to rank outliers(): reuse it rather than read it again.
    others.push_back(role == "original" && reference ? *reference : Model::load(path));
    check_compatible(others.back(), bundle, path);
    own.emplace_back();
    const EvalData& odata = eval_data_for(others.back(), model, data, bundle, own.back());
    requests.push_back({role, &others.back(), path, &odata, cached});
  }
  std::map<std::string, Evaluated> models = evaluate_entries(requests, split, context, observer);
  add_comparisons(result, models, split);
  add_relearn(job.relearn, result, "model", model, data, split, context);
  result["data"] = data_entry(job.data, split);
  result["data"]["class_names"] = bundle.train.class_names;
  result["env"] = env_entry(context.threads(), context.seed(), device_name(context),
                            precision_name(context.precision()));
  return result;
}

}  // namespace unlearn
