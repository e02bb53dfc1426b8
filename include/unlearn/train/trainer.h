#pragma once
// Supervised training: the original model, and the retrain gold standard (the same recipe on
// D_r only).

#include <torch/arg.h>
#include <torch/types.h>

#include <cstdint>
#include <string>

#include "unlearn/core/choices.h"
#include "unlearn/core/context.h"
#include "unlearn/core/observer.h"
#include "unlearn/models/model.h"
#include "unlearn/train/checkpoint.h"

namespace unlearn {

/// How the learning rate falls over the steps: constant; cosine (per step, to 0); step (x0.1 at
/// 50% and 75% of the steps).
enum class LrSchedule { constant, cosine, step };
template <>
struct ChoiceTable<LrSchedule> {
  static constexpr Choice<LrSchedule> kAll[] = {{LrSchedule::constant, "constant"},
                                                {LrSchedule::cosine, "cosine"},
                                                {LrSchedule::step, "step"}};
};

/// The training recipe.  Example: train_model(m, x, y, rows, TrainOptions().epochs(3).lr(0.05))
struct TrainOptions {
  TORCH_ARG(int64_t, epochs) = 3;
  TORCH_ARG(int64_t, batch) = 64;
  TORCH_ARG(double, lr) = 0.05;
  TORCH_ARG(double, momentum) = 0.9;
  TORCH_ARG(double, weight_decay) = 5e-4;
  TORCH_ARG(LrSchedule, schedule) = LrSchedule::cosine;
  TORCH_ARG(uint64_t, seed) = 0;

 public:
  /// Throws InvalidArgument naming the first bad field.
  void validate() const;
};

/// Learning rate at `step` of `total` steps under `options`' schedule.
double scheduled_lr(const TrainOptions& options, int64_t step, int64_t total);

struct TrainReport {
  double seconds = 0;
  int64_t steps = 0;
  double final_loss = 0;  // mean loss of the last epoch
};

/// Trains `model` in place with SGD (momentum, weight decay) on the rows `rows` of
/// (`inputs01`, `labels`). Inputs are in [0,1] in the model's input shape (to_model_input).
/// Reports one trace record per epoch. Throws Error with the step number if the loss is NaN.
/// With `checkpointing`, saves its state every `every` steps and, with `resume`, starts from a
/// saved state; the result is bit-identical to an unbroken run at the same thread count.
TrainReport train_model(Model& model, const torch::Tensor& inputs01, const torch::Tensor& labels,
                        const torch::Tensor& rows, const TrainOptions& options,
                        const RunContext& context, Observer& observer,
                        const Checkpointing& checkpointing = {});

}  // namespace unlearn
