#include "unlearn/train/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <sstream>

#include "unlearn/core/data_parallel.h"
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
}

double scheduled_lr(const TrainOptions& options, int64_t step, int64_t total) {
  const double progress = total > 0 ? static_cast<double>(step) / total : 0.0;
  switch (options.schedule()) {
    case LrSchedule::cosine:
      return options.lr() * 0.5 * (1 + std::cos(M_PI * progress));
    case LrSchedule::step:
      return options.lr() * (progress < 0.5 ? 1.0 : progress < 0.75 ? 0.1 : 0.01);
    case LrSchedule::constant:
      break;
  }
  return options.lr();
}

namespace {

// The epoch's running sums. They travel with a checkpoint, so a resumed epoch reports the same
// loss.
struct EpochSums {
  double loss = 0;
  int64_t correct = 0, seen = 0;

  nlohmann::json to_json() const {
    return {{"loss_sum", loss}, {"correct", correct}, {"seen", seen}};
  }
  static EpochSums from_json(const nlohmann::json& j) {
    return {j.value("loss_sum", 0.0), j.value("correct", int64_t{0}), j.value("seen", int64_t{0})};
  }
};

/// One SGD step on the batch at `rows`: adds its loss and accuracy to `sums`.
void train_step(Model& model, torch::optim::SGD& optimizer,
                const std::vector<torch::Tensor>& params, const torch::Tensor& inputs01,
                const torch::Tensor& labels, const torch::Tensor& rows, const RunContext& context,
                int64_t step, int64_t epoch, EpochSums& sums) {
  const torch::Device device = context.device();
  auto x = inputs01.index_select(0, rows).to(device, /*non_blocking=*/true);
  auto y = labels.index_select(0, rows).to(device, /*non_blocking=*/true);
  model.module().zero_grad(/*set_to_none=*/true);
  auto logits = model.logits(x, context.precision());
  auto loss = torch::nn::functional::cross_entropy(logits, y);
  const double loss_value = loss.item<double>();
  if (!std::isfinite(loss_value)) {
    throw Error(detail::concat("train: loss became ", loss_value, " at step ", step + 1, " (epoch ",
                               epoch + 1, "); try a smaller --lr"));
  }
  loss.backward();
  average_gradients(context.group(), params);
  optimizer.step();
  sums.loss += loss_value;
  sums.correct += logits.argmax(1).eq(y).sum().item<int64_t>();
  sums.seen += y.size(0);
}

/// The epoch's trace record, over every rank's share (each rank's loss is a mean over its share).
TraceRecord epoch_record(const EpochSums& local, int64_t epoch, int64_t per_epoch,
                         DataParallelGroup* group) {
  const auto sums = sum_over_ranks(
      group, {local.loss, static_cast<double>(local.correct), static_cast<double>(local.seen)});
  TraceRecord record;
  record.step = epoch + 1;
  record.values = {{"loss", sums[0] / (per_epoch * shard_of(group).size)},
                   {"train_acc", 100.0 * sums[1] / std::max(1.0, sums[2])}};
  return record;
}

}  // namespace

TrainReport train_model(Model& model, const torch::Tensor& inputs01, const torch::Tensor& labels,
                        const torch::Tensor& rows, const TrainOptions& options,
                        const RunContext& context, Observer& observer,
                        const Checkpointing& checkpointing) {
  options.validate();
  UNLEARN_CHECK(inputs01.size(0) == labels.size(0), "train: ", inputs01.size(0), " inputs but ",
                labels.size(0), " labels");
  UNLEARN_CHECK(checkpointing.every == 0 || context.group() == nullptr,
                "--checkpoint-every: not supported in a data-parallel run yet; run it in one "
                "process, or without checkpoints");
  const auto start = std::chrono::steady_clock::now();
  model.to(context.device());
  model.train(true);
  if (context.sync_batchnorm()) model.sync_batchnorm(context.group());

  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(options.lr())
                                                      .momentum(options.momentum())
                                                      .weight_decay(options.weight_decay()));
  // drop_last keeps batch-norm statistics away from a tiny final batch. In a data-parallel
  // group each rank takes its share of every global batch and the gradients are averaged, so
  // all ranks hold the same parameters after every step.
  BatchStream stream(rows, options.batch(), options.seed(), /*shuffle=*/true, /*drop_last=*/true,
                     shard_of(context.group()));
  const auto params = model.parameters();
  const int64_t per_epoch = stream.batches_per_pass();
  const int64_t total = per_epoch * options.epochs();

  TrainReport report;
  EpochSums sums;
  int64_t first_step = 0;
  if (auto saved = load_checkpoint(checkpointing, model, optimizer)) {
    first_step = saved->step;
    UNLEARN_CHECK(first_step >= 0 && first_step <= total, checkpointing.path, ": step ", first_step,
                  " is outside this run's ", total, " steps");
    sums = EpochSums::from_json(saved->counters);
    stream.skip(first_step);
    observer.message(detail::concat("train: resumed from ", checkpointing.path, " at step ",
                                    first_step, " of ", total));
  }
  broadcast_module(context.group(), model.module());
  observer.begin("train", total);
  for (int64_t step = first_step; step < total; ++step) {
    const int64_t epoch = step / per_epoch, b = step % per_epoch;
    for (auto& group : optimizer.param_groups()) {
      static_cast<torch::optim::SGDOptions&>(group.options())
          .lr(scheduled_lr(options, step, total));
    }
    train_step(model, optimizer, params, inputs01, labels, stream.next(), context, step, epoch,
               sums);
    std::ostringstream note;
    note << "epoch " << epoch + 1 << "/" << options.epochs() << " loss "
         << sums.loss / static_cast<double>(b + 1);
    observer.progress(step + 1, note.str());
    const bool epoch_done = b + 1 == per_epoch;
    if (checkpointing.due(step + 1, total)) {
      // A run resumed at an epoch's end starts the next epoch, whose sums start at zero.
      save_checkpoint(checkpointing,
                      {step + 1, epoch_done ? EpochSums{}.to_json() : sums.to_json()}, model,
                      optimizer);
    }
    if (epoch_done) {
      const TraceRecord record = epoch_record(sums, epoch, per_epoch, context.group());
      observer.trace(record);
      report.final_loss = record.values.at("loss");
      sums = EpochSums{};
    }
  }
  observer.end();
  model.sync_batchnorm(nullptr);
  model.train(false);
  report.steps = total;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace unlearn
