// unlearn train: train a classifier; with --exclude, the retrain gold standard.

#include <cstdio>

#include "common.h"
#include "console.h"
#include "distributed.h"
#include "unlearn/core/data_parallel.h"
#include "unlearn/jobs/jobs.h"
#include "unlearn/models/model.h"

namespace unlearn::cli {

void register_train(CLI::App& app) {
  auto* sub =
      app.add_subcommand("train", "train a classifier (with --exclude: the retrain gold standard)");
  auto job = std::make_shared<TrainJob>();
  auto common = std::make_shared<CommonOptions>();
  auto epochs = std::make_shared<int64_t>(job->recipe.epochs());
  auto batch = std::make_shared<int64_t>(job->recipe.batch());
  auto lr = std::make_shared<double>(job->recipe.lr());
  auto momentum = std::make_shared<double>(job->recipe.momentum());
  auto wd = std::make_shared<double>(job->recipe.weight_decay());
  auto schedule = std::make_shared<std::string>(choice_name(job->recipe.schedule()));

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
  sub->add_option("--epochs", *epochs, "training epochs")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--batch", *batch, "batch size")->capture_default_str();
  sub->add_option("--lr", *lr, "peak learning rate")->capture_default_str();
  sub->add_option("--momentum", *momentum, "SGD momentum")->capture_default_str();
  sub->add_option("--weight-decay", *wd, "weight decay")->capture_default_str();
  sub->add_option("--schedule", *schedule, "learning-rate schedule")
      ->check(CLI::IsMember(choice_names<LrSchedule>()))
      ->capture_default_str();
  sub->add_option("--exclude", job->exclude, "selection to leave out (the retrain gold standard)");
  sub->add_flag("--allow-empty", job->allow_empty,
                "accept a selection matching nothing or everything");
  sub->add_option("--out", job->out, "model file to write")->required();
  sub->add_flag("--force", job->force, "overwrite an existing --out");
  sub->add_option("--checkpoint-every", job->checkpoint_every,
                  "save the training state to OUT.ckpt every N steps (removed when done)")
      ->check(CLI::NonNegativeNumber);
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
                  job->recipe.epochs(*epochs)
                      .batch(*batch)
                      .lr(*lr)
                      .momentum(*momentum)
                      .weight_decay(*wd)
                      .schedule(parse_choice<LrSchedule>(*schedule, "schedule"))
                      .seed(common->seed);
                  ConsoleObserver observer(common->quiet);
                  check_export(*export_format, job->out, job->force);
                  auto summary = run_train_job(*job, context, observer);
                  if (!is_writing_rank(context.group()))
                    return;  // rank 0 writes a data-parallel run's model
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
