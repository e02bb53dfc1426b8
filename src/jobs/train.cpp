// `unlearn train`: a classifier trained on a data source, minus an optional --exclude selection
// (the retrain gold standard), with checkpoints and a registry row.

#include <torch/torch.h>

#include <optional>

#include "inputs.h"
#include "manifest.h"
#include "run_records.h"
#include "unlearn/core/atomic_file.h"
#include "unlearn/core/data_parallel.h"
#include "unlearn/core/error.h"
#include "unlearn/core/parse.h"
#include "unlearn/data/source.h"
#include "unlearn/jobs/jobs.h"
#include "unlearn/report/result.h"

namespace unlearn {

using namespace internal;  // what the jobs share (src/jobs/*.h)

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
          {"schedule", choice_name(r.schedule())},
          {"seed", r.seed()}};
}

/// The training rows: all of them, or those --exclude leaves; `selection` describes the cut.
torch::Tensor rows_to_train(const TrainJob& job, const DataBundle& bundle,
                            nlohmann::json& selection) {
  if (job.exclude.empty()) {
    selection = nullptr;
    return torch::arange(bundle.train.size(), torch::kInt64);
  }
  std::optional<Model> reference;
  if (!job.reference.empty()) reference = Model::load(job.reference, job.torchscript);
  Split split = split_for(job.exclude, bundle, job.allow_empty, "--exclude",
                          reference ? &*reference : nullptr, "--reference MODEL");
  selection = {{"exclude", job.exclude}, {"n_excluded", split.train.forget.numel()}};
  return split.train.retain;
}

ModelSpec spec_for(const TrainJob& job, const DataBundle& bundle, const torch::Tensor& rows) {
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
  return spec;
}

Checkpointing checkpointing_for(const TrainJob& job, const ModelSpec& spec, int64_t n_train,
                                const RunContext& context) {
  Checkpointing checkpointing;
  if (job.checkpoint_every == 0 && !job.resume) return checkpointing;
  checkpointing.path = checkpoint_path_for(job.out);
  checkpointing.every = job.checkpoint_every;
  checkpointing.resume = job.resume;
  // Everything that decides the result except the thread count, which may change on resume.
  checkpointing.config = {{"command", "train"},
                          {"data", job.data},
                          {"data_options", manifest::data_options_json(job.data_options)},
                          {"exclude", job.exclude},
                          {"n_train", n_train},
                          {"spec", spec.to_json()},
                          {"recipe", recipe_json(job.recipe)},
                          {"precision", precision_name(context.precision())}};
  return checkpointing;
}

nlohmann::json train_provenance(const TrainJob& job, const nlohmann::json& selection,
                                int64_t n_train, const TrainReport& report,
                                const RunContext& context) {
  nlohmann::json provenance = {{"command", "train"},
                               {"data", job.data},
                               {"selection", selection},
                               {"n_train", n_train},
                               {"recipe", recipe_json(job.recipe)},
                               {"normalize", job.normalize},
                               {"final_loss", report.final_loss},
                               {"threads", context.threads()},
                               {"precision", precision_name(context.precision())},
                               {"torch_version", torch_version()}};
  if (const Shard shard = shard_of(context.group()); shard.size > 1) {
    provenance["processes"] = shard.size;  // data-parallel ranks
  }
  return provenance;
}

}  // namespace

std::string checkpoint_path_for(const std::string& out) { return out + ".ckpt"; }

nlohmann::json run_train_job(const TrainJob& job, const RunContext& context, Observer& observer) {
  check_output_path(job.out, job.force, "--out");
  job.recipe.validate();
  return run_train_job(job, load_job_data(job.data, job.data_options, observer), context, observer);
}

nlohmann::json run_train_job(const TrainJob& job, const DataBundle& bundle,
                             const RunContext& context, Observer& observer) {
  check_output_path(job.out, job.force, "--out");
  job.recipe.validate();
  nlohmann::json selection;
  const torch::Tensor rows = rows_to_train(job, bundle, selection);
  UNLEARN_CHECK(rows.numel() > 0, "train: no training samples left after --exclude");
  const ModelSpec spec = spec_for(job, bundle, rows);

  seed_everything(job.recipe.seed());
  Model model = Model::create(spec);
  const auto inputs = to_model_input(bundle.train.images, spec.input);
  const Checkpointing checkpointing = checkpointing_for(job, spec, rows.numel(), context);
  const TrainReport report = train_model(model, inputs, bundle.train.labels, rows, job.recipe,
                                         context, observer, checkpointing);
  model.spec().provenance = train_provenance(job, selection, rows.numel(), report, context);
  // In a data-parallel run every rank holds the same model; rank 0 alone writes it.
  if (is_writing_rank(context.group())) {
    model.save(job.out, job.force, "--out");
    remove_checkpoint(checkpointing);
    RunRecord run = run_record("train", job.out, job.data, job.exclude,
                               selection.is_null() ? 0 : selection["n_excluded"].get<int64_t>());
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

}  // namespace unlearn
