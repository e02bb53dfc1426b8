#include "unlearn/metrics/relearn.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>

#include "unlearn/core/error.h"
#include "unlearn/metrics/accuracy.h"
#include "unlearn/train/batches.h"

namespace unlearn {

RelearnResult relearn_steps(const Model& model, const torch::Tensor& inputs01,
                            const torch::Tensor& labels, const torch::Tensor& forget_rows,
                            double target_accuracy, const RelearnOptions& options) {
  UNLEARN_CHECK(forget_rows.defined() && forget_rows.dim() == 1 && forget_rows.numel() > 0,
                "relearn_steps: forget_rows: expected a non-empty 1-D tensor of row indices");
  return relearn(model, inputs01, labels, forget_rows, forget_rows, target_accuracy, options)
      .result;
}

Relearned relearn(const Model& model, const torch::Tensor& inputs01, const torch::Tensor& labels,
                  const torch::Tensor& train_rows, const torch::Tensor& check_rows,
                  double target_accuracy, const RelearnOptions& options) {
  constexpr const char* kFn = "relearn_steps";
  UNLEARN_CHECK(options.lr() > 0 && std::isfinite(options.lr()), kFn, ": lr: expected > 0, got ",
                options.lr());
  UNLEARN_CHECK(options.momentum() >= 0 && options.momentum() < 1, kFn,
                ": momentum: expected in [0, 1), got ", options.momentum());
  UNLEARN_CHECK(options.batch() >= 1, kFn, ": batch: expected >= 1, got ", options.batch());
  UNLEARN_CHECK(options.max_steps() >= 0, kFn, ": max_steps: expected >= 0, got ",
                options.max_steps());
  UNLEARN_CHECK(options.eval_rows() >= 1, kFn, ": eval_rows: expected >= 1, got ",
                options.eval_rows());
  UNLEARN_CHECK(std::isfinite(target_accuracy), kFn,
                ": target_accuracy: expected a percentage, got ", target_accuracy);
  UNLEARN_CHECK(inputs01.defined() && labels.defined() && inputs01.size(0) == labels.size(0), kFn,
                ": expected one label per input row");
  for (const auto& [name, given] :
       {std::pair<const char*, const torch::Tensor*>{"train_rows", &train_rows},
        {"check_rows", &check_rows}}) {
    UNLEARN_CHECK(given->defined() && given->dim() == 1 && given->numel() > 0, kFn, ": ", name,
                  ": expected a non-empty 1-D tensor of row indices");
  }
  const auto rows = train_rows.to(torch::kCPU, torch::kLong);

  // The checked rows: all of them, or a fixed seeded subsample of eval_rows of them.
  torch::Tensor checked = check_rows.to(torch::kCPU, torch::kLong);
  if (checked.numel() > options.eval_rows()) {
    auto gen = at::detail::createCPUGenerator(options.seed());
    checked = checked.index_select(
        0, torch::randperm(checked.numel(), gen, torch::kLong).slice(0, 0, options.eval_rows()));
  }
  Model copy = model.clone();
  copy.train(false);
  const auto device = copy.device();
  const auto check_x = inputs01.index_select(0, checked).to(device);
  const auto check_y = labels.index_select(0, checked).to(device);
  auto accuracy = [&] {
    torch::NoGradGuard no_grad;
    return accuracy_percent(copy.logits(check_x), check_y);
  };

  RelearnResult result;
  result.accuracy = accuracy();
  const auto check_target = [&] {
    if (!result.reached && result.accuracy >= target_accuracy) {
      result.reached = true;
      result.steps_to_target = result.steps;
    }
    return result.reached && !options.run_all_steps();
  };
  if (check_target()) return {result, std::move(copy)};
  torch::optim::SGD optimizer(copy.parameters(),
                              torch::optim::SGDOptions(options.lr()).momentum(options.momentum()));
  // With batch norm in training mode, whole batches only: a batch of one cannot be normalised.
  const bool whole_batches = options.train_batchnorm() && rows.numel() >= options.batch();
  BatchStream stream(rows, options.batch(), options.seed(), /*shuffle=*/true, whole_batches);
  for (int64_t step = 1; step <= options.max_steps(); ++step) {
    const auto idx = stream.next();
    const auto x = inputs01.index_select(0, idx).to(device);
    const auto y = labels.index_select(0, idx).to(device);
    copy.module().zero_grad(/*set_to_none=*/true);
    if (options.train_batchnorm()) copy.train(true);
    auto loss = torch::nn::functional::cross_entropy(copy.logits(x), y);
    copy.train(false);
    const double loss_value = loss.item<double>();
    if (!std::isfinite(loss_value)) {
      throw Error(detail::concat(kFn, ": loss became ", loss_value, " at step ", step,
                                 "; try a smaller lr"));
    }
    loss.backward();
    optimizer.step();
    result.steps = step;
    result.accuracy = accuracy();
    if (check_target()) break;
  }
  return {result, std::move(copy)};
}

}  // namespace unlearn
