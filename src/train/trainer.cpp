#include "unlearn/train/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <sstream>

#include "unlearn/core/error.h"
#include "unlearn/train/batches.h"

namespace unlearn {

void TrainOptions::validate() const {
  UNLEARN_CHECK(epochs() >= 1, "--epochs: expected >= 1, got ", epochs());
  UNLEARN_CHECK(batch() >= 1, "--batch: expected >= 1, got ", batch());
  UNLEARN_CHECK(lr() > 0 && std::isfinite(lr()), "--lr: expected > 0, got ", lr());
  UNLEARN_CHECK(momentum() >= 0 && momentum() < 1, "--momentum: expected in [0,1), got ",
                momentum());
  UNLEARN_CHECK(weight_decay() >= 0, "--weight-decay: expected >= 0, got ", weight_decay());
  UNLEARN_CHECK(schedule() == "constant" || schedule() == "cosine" || schedule() == "step",
                "--schedule: expected constant, cosine or step, got '", schedule(), "'");
}

double scheduled_lr(const TrainOptions& options, int64_t step, int64_t total) {
  const double progress = total > 0 ? static_cast<double>(step) / total : 0.0;
  if (options.schedule() == "cosine") return options.lr() * 0.5 * (1 + std::cos(M_PI * progress));
  if (options.schedule() == "step") {
    return options.lr() * (progress < 0.5 ? 1.0 : progress < 0.75 ? 0.1 : 0.01);
  }
  return options.lr();
}

TrainReport train_model(Model& model, const torch::Tensor& inputs01, const torch::Tensor& labels,
                        const torch::Tensor& rows, const TrainOptions& options,
                        const RunContext& context, Observer& observer,
                        const Checkpointing& checkpointing) {
  options.validate();
  UNLEARN_CHECK(inputs01.size(0) == labels.size(0), "train: ", inputs01.size(0), " inputs but ",
                labels.size(0), " labels");
  const auto start = std::chrono::steady_clock::now();
  const torch::Device device = context.device();
  model.to(device);
  model.train(true);

  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(options.lr())
                                                      .momentum(options.momentum())
                                                      .weight_decay(options.weight_decay()));
  // drop_last keeps batch-norm statistics away from a tiny final batch. In a data-parallel
  // group each rank takes its share of every global batch and the gradients are averaged, so
  // all ranks hold the same parameters after every step.
  BatchStream stream(rows, options.batch(), options.seed(), /*shuffle=*/true, /*drop_last=*/true,
                     data_parallel_shard());
  UNLEARN_CHECK(checkpointing.every == 0 || !data_parallel_group(),
                "--checkpoint-every: not supported in a data-parallel run yet; run it in one "
                "process, or without checkpoints");
  const auto params = model.parameters();
  const int64_t per_epoch = stream.batches_per_pass();
  const int64_t total = per_epoch * options.epochs();

  TrainReport report;
  // The epoch's running sums travel with a checkpoint, so a resumed epoch reports the same loss.
  double loss_sum = 0;
  int64_t correct = 0, seen = 0;
  int64_t first_step = 0;
  if (auto saved = load_checkpoint(checkpointing, model, optimizer)) {
    first_step = saved->step;
    UNLEARN_CHECK(first_step >= 0 && first_step <= total, checkpointing.path, ": step ", first_step,
                  " is outside this run's ", total, " steps");
    loss_sum = saved->counters.value("loss_sum", 0.0);
    correct = saved->counters.value("correct", int64_t{0});
    seen = saved->counters.value("seen", int64_t{0});
    stream.skip(first_step);
    observer.message(detail::concat("train: resumed from ", checkpointing.path, " at step ",
                                    first_step, " of ", total));
  }
  broadcast_module(model.module());
  observer.begin("train", total);
  for (int64_t epoch = first_step / per_epoch; epoch < options.epochs(); ++epoch) {
    for (int64_t b = epoch == first_step / per_epoch ? first_step % per_epoch : 0; b < per_epoch;
         ++b) {
      const int64_t step = epoch * per_epoch + b;
      for (auto& group : optimizer.param_groups()) {
        static_cast<torch::optim::SGDOptions&>(group.options())
            .lr(scheduled_lr(options, step, total));
      }
      auto idx = stream.next();
      auto x = inputs01.index_select(0, idx).to(device, /*non_blocking=*/true);
      auto y = labels.index_select(0, idx).to(device, /*non_blocking=*/true);
      model.module().zero_grad(/*set_to_none=*/true);
      auto logits = model.logits(x, context.precision());
      auto loss = torch::nn::functional::cross_entropy(logits, y);
      const double loss_value = loss.item<double>();
      if (!std::isfinite(loss_value)) {
        throw Error(detail::concat("train: loss became ", loss_value, " at step ", step + 1,
                                   " (epoch ", epoch + 1, "); try a smaller --lr"));
      }
      loss.backward();
      average_gradients(params);
      optimizer.step();
      loss_sum += loss_value;
      correct += logits.argmax(1).eq(y).sum().item<int64_t>();
      seen += y.size(0);
      std::ostringstream note;
      note << "epoch " << epoch + 1 << "/" << options.epochs() << " loss "
           << loss_sum / static_cast<double>(b + 1);
      observer.progress(step + 1, note.str());
      if (checkpointing.due(step + 1, total)) {
        // A run resumed at an epoch's end starts the next epoch, whose sums start at zero.
        const bool epoch_done = b + 1 == per_epoch;
        save_checkpoint(checkpointing,
                        {step + 1,
                         {{"loss_sum", epoch_done ? 0.0 : loss_sum},
                          {"correct", epoch_done ? 0 : correct},
                          {"seen", epoch_done ? 0 : seen}}},
                        model, optimizer);
      }
    }
    // The epoch's figures over every rank's share (each rank's loss is a mean over its share).
    const auto sums =
        sum_over_ranks({loss_sum, static_cast<double>(correct), static_cast<double>(seen)});
    const double epoch_loss = sums[0] / (per_epoch * data_parallel_shard().size);
    TraceRecord record;
    record.step = epoch + 1;
    record.values = {{"loss", epoch_loss}, {"train_acc", 100.0 * sums[1] / std::max(1.0, sums[2])}};
    observer.trace(record);
    report.final_loss = epoch_loss;
    loss_sum = 0;
    correct = 0;
    seen = 0;
  }
  observer.end();
  model.train(false);
  report.steps = total;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace unlearn
