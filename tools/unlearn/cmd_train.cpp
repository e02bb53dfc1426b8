// unlearn train: train a classifier; with --exclude, the retrain gold standard.

#include <cstdio>

#include "common.h"
#include "console.h"
#include "distributed.h"
#include "unlearn/core/data_parallel.h"
#include "unlearn/jobs/jobs.h"
#include "unlearn/models/model.h"

namespace unlearn::cli {

namespace {

/// --epochs, --batch, --lr, --momentum, --weight-decay and --schedule, into `recipe`.
void declare_recipe(CLI::App* sub, TrainOptions& recipe) {
  sub->add_option("--epochs", recipe.epochs(), "training epochs")
      ->check(positive())
      ->capture_default_str();
  sub->add_option("--batch", recipe.batch(), "batch size")->capture_default_str();
  sub->add_option("--lr", recipe.lr(), "peak learning rate")->capture_default_str();
  sub->add_option("--momentum", recipe.momentum(), "SGD momentum")->capture_default_str();
  sub->add_option("--weight-decay", recipe.weight_decay(), "weight decay")->capture_default_str();
  sub->add_option_function<std::string>(
         "--schedule",
         [&recipe](const std::string& v) {
           recipe.schedule(parse_choice<LrSchedule>(v, "schedule"));
         },
         "learning-rate schedule")
      ->check(CLI::IsMember(choice_names<LrSchedule>()))
      ->default_str(choice_name(recipe.schedule()));
}

}  // namespace

void register_train(CLI::App& app) {
  auto* sub =
      app.add_subcommand("train", "train a classifier (with --exclude: the retrain gold standard)");
  auto job = std::make_shared<TrainJob>();
  auto common = std::make_shared<CommonOptions>();

  sub->add_option("--data", job->data,
                  "data source (fashion-mnist, idx:, npz:, cifar10:, folder:, dicom:, or a path)")
      ->capture_default_str();
  sub->add_option("--model", job->arch, "architecture")
      ->check(CLI::IsMember(architecture_names()))
      ->capture_default_str();
  sub->add_option("--width", job->width, "width multiplier")->capture_default_str();
  sub->add_option("--input-size", job->input_size, "input side in pixels (default: the data's)");
  sub->add_option("--normalize", job->normalize,
                  "input normalisation: data (the training images' statistics) or MEAN,STD")
      ->capture_default_str();
  declare_recipe(sub, job->recipe);
  sub->add_option("--exclude", job->exclude, "selection to leave out (the retrain gold standard)");
  sub->add_flag("--allow-empty", job->allow_empty,
                "accept a selection matching nothing or everything");
  sub->add_option("--out", job->out, "model file to write")->required();
  sub->add_flag("--force", job->force, "overwrite an existing --out");
  sub->add_option("--checkpoint-every", job->checkpoint_every,
                  "save the training state to OUT.ckpt every N steps (removed when done)")
      ->check(non_negative());
  sub->add_flag("--resume", job->resume,
                "continue from OUT.ckpt when it exists (a killed run); the result is "
                "bit-identical to an unbroken run at the same thread count");
  add_data_options(sub, job->data_options);
  sub->add_option("--reference", job->reference,
                  "model whose features rank samples for outliers() in --exclude (the original)");
  add_common_options(sub, *common);
  add_registry_options(sub, job->registry);
  auto export_format = std::make_shared<std::string>();
  add_export_option(sub, *export_format);

  auto dist_options = std::make_shared<dist::DistOptions>();
  add_dist_options(sub, *dist_options, /*sync_bn=*/true);
  sub->callback([=] {
    run_as_rank(*dist_options, *common, /*data_parallel=*/true,
                [&](const RunContext& context, auto*) {
                  job->torchscript = common->torchscript();
                  job->recipe.seed(common->seed);
                  ConsoleObserver observer(common->quiet);
                  check_export(*export_format, job->out, job->force);
                  auto summary = run_train_job(*job, context, observer);
                  // Rank 0 alone writes a data-parallel run's model.
                  if (!is_writing_rank(context.group())) return;
                  const std::string exported = write_export(*export_format, job->out, job->force);
                  if (!exported.empty() && !common->quiet)
                    std::printf("TorchScript -> %s\n", exported.c_str());
                  if (!common->quiet) {
                    std::printf("trained %s on %lld samples in %.1f s (final loss %.4f) -> %s\n",
                                job->arch.c_str(),
                                static_cast<long long>(summary["n_train"].get<int64_t>()),
                                summary["time_s"].get<double>(),
                                summary["final_loss"].get<double>(), job->out.c_str());
                  }
                });
  });
}

}  // namespace unlearn::cli
