#include "unlearn/methods/update_loop.h"

#include <torch/torch.h>

#include <cmath>
#include <sstream>

#include "unlearn/core/error.h"
#include "unlearn/methods/step_budget.h"
#include "unlearn/train/batches.h"
#include "unlearn/train/batchnorm.h"

namespace unlearn {

void UpdateOptions::validate() const {
  require_option(lr() > 0, "lr", "> 0", lr());
  require_option(momentum() >= 0 && momentum() < 1, "momentum", "a value in [0,1)", momentum());
  require_option(weight_decay() >= 0, "weight-decay", ">= 0", weight_decay());
  require_option(batch() >= 1, "batch", ">= 1", static_cast<double>(batch()));
}

void add_update_options(OptionTable& table, UpdateOptions& o) {
  table.add("optimizer", "optimiser", o.optimizer())
      .add("lr", "learning rate", o.lr())
      .add("momentum", "SGD momentum", o.momentum())
      .add("weight-decay", "weight decay", o.weight_decay())
      .add("batch", "batch size", o.batch());
}

void add_bn_mode_option(OptionTable& table, UpdateOptions& o) {
  table.add("bn-mode", "batch-norm statistics during and after the update", o.bn_mode());
}

void apply_bn_mode(Model& model, BnMode mode) {
  if (mode == BnMode::frozen) model.set_batchnorm_training(false);
}

void settle_bn_mode(Model& model, BnMode mode, const UnlearnData& data, uint64_t seed) {
  if (mode != BnMode::recalibrate || data.retain.numel() == 0) return;
  recalibrate_batchnorm(model, data.inputs, data.retain, 2048, 256, seed);
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(OptimizerKind kind,
                                                        const std::vector<torch::Tensor>& params,
                                                        double lr, double momentum,
                                                        double weight_decay) {
  if (kind == OptimizerKind::adam) {
    return std::make_unique<torch::optim::Adam>(
        params, torch::optim::AdamOptions(lr).weight_decay(weight_decay));
  }
  return std::make_unique<torch::optim::SGD>(
      params, torch::optim::SGDOptions(lr).momentum(momentum).weight_decay(weight_decay));
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const UpdateOptions& o,
                                                        const std::vector<torch::Tensor>& params) {
  return make_optimizer(o.optimizer(), params, o.lr(), o.momentum(), o.weight_decay());
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) {
    auto& options = group.options();
    if (auto* sgd = dynamic_cast<torch::optim::SGDOptions*>(&options)) {
      sgd->lr(lr);
    } else if (auto* adam = dynamic_cast<torch::optim::AdamOptions*>(&options)) {
      adam->lr(lr);
    }
  }
}

torch::Tensor cross_entropy_to(const torch::Tensor& logits, const torch::Tensor& target) {
  if (target.scalar_type() == torch::kInt64) {
    return torch::nn::functional::cross_entropy(logits, target);
  }
  return -(target * torch::log_softmax(logits, 1)).sum(1).mean();
}

double grad_norm(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> norms;
  for (const auto& p : params) {
    if (p.grad().defined()) norms.push_back(p.grad().norm());
  }
  return norms.empty() ? 0.0 : torch::stack(norms).norm().item<double>();
}

void require_option(bool ok, const std::string& flag, const std::string& expectation,
                    double value) {
  if (!ok)
    throw UsageError(detail::concat("--", flag, ": expected ", expectation, ", got ", value));
}

Batch fetch_batch(const UnlearnData& data, const torch::Tensor& rows, torch::Device device) {
  return {data.inputs.index_select(0, rows).to(device),
          data.labels.index_select(0, rows).to(device)};
}

int64_t steps_for_epochs(int64_t rows, int64_t batch, double epochs, const Shard& shard) {
  if (rows <= 0) return 0;
  // In a data-parallel group a step takes `batch` rows on every rank.
  const double global_batch = static_cast<double>(batch) * shard.size;
  const double per_epoch = std::ceil(static_cast<double>(rows) / global_batch);
  return std::max<int64_t>(1, static_cast<int64_t>(std::llround(per_epoch * epochs)));
}

uint64_t method_seed(int64_t option_seed, const RunContext& context) {
  return static_cast<uint64_t>(option_seed) ^ context.seed();
}

Model working_copy(const Model& original, const RunContext& context) {
  Model model = original.clone();
  model.to(context.device());
  model.train(true);
  for (auto& p : model.parameters()) p.set_requires_grad(true);
  broadcast_module(context.group(), model.module());  // every rank starts from rank 0's weights
  if (context.sync_batchnorm()) model.sync_batchnorm(context.group());
  return model;
}

Model frozen_copy(const Model& original, torch::Device device) {
  Model model = original.clone();
  model.to(device);
  model.train(false);
  for (auto& p : model.parameters()) p.set_requires_grad(false);
  return model;
}

void finish_model(Model& model) {
  model.sync_batchnorm(nullptr);
  model.train(false);
  for (auto& p : model.parameters()) p.set_requires_grad(true);
}

UpdateLoop::UpdateLoop(const RunContext& context, std::string phase_name, int64_t step_count)
    : phase(std::move(phase_name)),
      steps(step_count),
      precision(context.precision()),
      device(context.device()),
      group(context.group()),
      deadline(context.deadline()) {}

std::vector<TraceRecord> run_update_loop(const UpdateLoop& loop,
                                         const std::vector<torch::Tensor>& params,
                                         torch::optim::Optimizer& optimizer,
                                         const std::function<StepLoss(int64_t)>& step,
                                         Observer& observer) {
  std::vector<TraceRecord> trace;
  trace.reserve(static_cast<size_t>(loop.steps));
  observer.begin(loop.phase, loop.steps);
  StepBudget budget(loop.steps, loop.deadline);
  while (const auto planned = budget.next()) {
    const int64_t t = *planned;
    double lr = 0;
    if (loop.lr_at) {
      lr = loop.lr_at(t);
      set_learning_rate(optimizer, lr);
    }
    // Gradients are dropped, not zeroed, so a parameter the loss does not reach is not moved
    // by weight decay or momentum.
    for (torch::Tensor p : params) {  // a handle copy shares the parameter's gradient slot
      if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
    }
    StepLoss out;
    {
      AutocastScope autocast(loop.precision, loop.device);
      out = step(t);
      out.loss = out.loss.to(torch::kFloat32);
    }
    const double value = out.loss.item<double>();
    if (!std::isfinite(value)) {
      throw Error(detail::concat(loop.phase, ": loss became ", value, " at step ", t + 1, " of ",
                                 loop.steps, "; try a smaller --lr"));
    }
    out.loss.backward();
    average_gradients(loop.group, params);  // data-parallel runs: every rank takes the same step
    if (loop.after_backward) loop.after_backward();
    const double gnorm = grad_norm(params);
    optimizer.step();

    TraceRecord record;
    record.step = budget.taken();
    record.values = std::move(out.values);
    if (record.step != t + 1) record.values["planned_step"] = static_cast<double>(t + 1);
    record.values["loss"] = value;
    record.values["grad_norm"] = gnorm;
    if (loop.lr_at) record.values["lr"] = lr;
    observer.trace(record);
    trace.push_back(std::move(record));
    std::ostringstream note;
    note << "loss " << value;
    observer.progress(t + 1, note.str());
  }
  observer.end();
  return trace;
}

MethodResult run_passes_over_rows(const Model& original, const UnlearnData& data,
                                  const torch::Tensor& rows, double epochs,
                                  const UpdateOptions& update, uint64_t seed,
                                  const std::string& phase, const RunContext& context,
                                  Observer& observer, const RowsLoss& loss) {
  const torch::Device device = context.device();
  Model model = working_copy(original, context);
  apply_bn_mode(model, update.bn_mode());
  const auto params = model.parameters();
  auto optimizer = make_optimizer(update, params);
  const Shard shard = shard_of(context.group());
  BatchStream stream(rows, update.batch(), seed, true, false, shard);
  UpdateLoop loop(context, phase, steps_for_epochs(rows.numel(), update.batch(), epochs, shard));
  auto trace = run_update_loop(
      loop, params, *optimizer,
      [&](int64_t t) {
        return loss(model, fetch_batch(data, stream.next(), device), t, loop.steps);
      },
      observer);
  settle_bn_mode(model, update.bn_mode(), data, seed);
  finish_model(model);
  MethodResult result{std::move(model), std::move(trace), {}};
  result.summary = step_counts(result.trace, loop.steps);
  return result;
}

nlohmann::json step_counts(const std::vector<TraceRecord>& trace, int64_t planned) {
  const auto steps = static_cast<int64_t>(trace.size());
  nlohmann::json counts = {{"steps", steps}};
  if (steps < planned) counts["planned_steps"] = planned;
  return counts;
}

MethodResult unchanged_result(const Model& original) {
  MethodResult result{original.clone(), {}, {}};
  result.summary = {{"steps", 0}, {"stop_reason", "the forget set is empty"}};
  return result;
}

}  // namespace unlearn
