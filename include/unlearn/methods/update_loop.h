#pragma once
// What the gradient-based methods share: optimiser settings and construction, soft
// cross-entropy, the gradient norm, batch fetching, and a loop that runs optimiser steps with a
// NaN check, a trace record per step and progress. Each method supplies only its loss.

#include <torch/arg.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "unlearn/core/choices.h"
#include "unlearn/core/context.h"
#include "unlearn/core/data_parallel.h"
#include "unlearn/core/observer.h"
#include "unlearn/methods/method.h"
#include "unlearn/methods/option_table.h"

namespace unlearn {

/// The optimisers a method's update can use.
enum class OptimizerKind { sgd, adam };
template <>
struct ChoiceTable<OptimizerKind> {
  static constexpr Choice<OptimizerKind> kAll[] = {{OptimizerKind::sgd, "sgd"},
                                                   {OptimizerKind::adam, "adam"}};
};

/// Batch-norm statistics during and after an update (PSG's --bn-mode, and the baselines that
/// update on forget-only batches): `train` uses each batch's statistics and updates the running
/// ones, `frozen` keeps the original's, `recalibrate` trains as `train` and then recomputes them
/// on retain rows.
enum class BnMode { train, frozen, recalibrate };
template <>
struct ChoiceTable<BnMode> {
  static constexpr Choice<BnMode> kAll[] = {
      {BnMode::train, "train"}, {BnMode::frozen, "frozen"}, {BnMode::recalibrate, "recalibrate"}};
};

/// Optimiser settings shared by the fine-tuning family of baselines.
/// Example: UpdateOptions().optimizer(OptimizerKind::adam).lr(1e-4)
struct UpdateOptions {
  TORCH_ARG(OptimizerKind, optimizer) = OptimizerKind::sgd;
  TORCH_ARG(double, lr) = 0.01;
  TORCH_ARG(double, momentum) = 0.9;  // SGD only
  TORCH_ARG(double, weight_decay) = 5e-4;
  TORCH_ARG(int64_t, batch) = 64;
  /// Honoured by the methods that register --bn-mode (add_bn_mode_option); train for the rest.
  TORCH_ARG(BnMode, bn_mode) = BnMode::train;

 public:
  /// Throws UsageError naming the first bad option.
  void validate() const;
};

/// Registers --optimizer, --lr, --momentum, --weight-decay and --batch on `table`.
void add_update_options(OptionTable& table, UpdateOptions& options);

/// Registers --bn-mode on `table`, for a method whose updates see forget-only batches, where
/// training-mode batch norm takes one class's statistics (issue 21: a setting, not the method).
void add_bn_mode_option(OptionTable& table, UpdateOptions& options);

/// Puts batch norm in the state `mode` asks for while updating (frozen: running statistics);
/// call it after every train(true).
void apply_bn_mode(Model& model, BnMode mode);

/// After the updates: with `recalibrate`, recomputes the batch-norm statistics on up to 2048
/// seeded retain rows (nothing when there are none); otherwise nothing.
void settle_bn_mode(Model& model, BnMode mode, const UnlearnData& data, uint64_t seed);

std::unique_ptr<torch::optim::Optimizer> make_optimizer(OptimizerKind kind,
                                                        const std::vector<torch::Tensor>& params,
                                                        double lr, double momentum,
                                                        double weight_decay);
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const UpdateOptions& options,
                                                        const std::vector<torch::Tensor>& params);

/// Sets every parameter group's learning rate (SGD or Adam).
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

/// Cross-entropy against class indices (int64) or a target distribution (float, rows sum to 1).
torch::Tensor cross_entropy_to(const torch::Tensor& logits, const torch::Tensor& target);

/// ‖∇θ‖ over all parameters, read back once (one device sync per step, not one per tensor).
double grad_norm(const std::vector<torch::Tensor>& params);

/// Throws UsageError "--flag: expected <expectation>, got <value>" unless `ok`.
void require_option(bool ok, const std::string& flag, const std::string& expectation, double value);

/// Training rows gathered onto a device.
struct Batch {
  torch::Tensor x;  // inputs in [0,1]
  torch::Tensor y;  // labels
};
Batch fetch_batch(const UnlearnData& data, const torch::Tensor& rows, torch::Device device);

/// Optimiser steps needed for `epochs` passes over `rows` samples in batches of `batch`
/// (at least 1 when rows > 0). In a data-parallel `shard` every rank takes `batch` rows a step.
int64_t steps_for_epochs(int64_t rows, int64_t batch, double epochs, const Shard& shard = {});

/// The seed a method uses: its own --method-seed mixed with the run's --seed.
uint64_t method_seed(int64_t option_seed, const RunContext& context);

/// A deep copy of `original` on the context's device, in training mode; the model a method
/// updates. In a data-parallel run every rank starts from rank 0's weights, and with
/// `context.sync_batchnorm()` its batch norm takes statistics over every rank's batch.
Model working_copy(const Model& original, const RunContext& context);

/// A frozen deep copy (eval mode, no parameter gradients): a teacher or reference model.
Model frozen_copy(const Model& original, torch::Device device);

/// Puts a finished model in the state every method returns: eval mode, gradients enabled, batch
/// norm on its own rank's statistics.
void finish_model(Model& model);

/// The loss of one step plus any extra values for the trace.
struct StepLoss {
  torch::Tensor loss;
  std::map<std::string, double> values;
};

/// How run_update_loop runs.  Example: UpdateLoop loop(context, "finetune", 100);
struct UpdateLoop {
  /// Device, precision and data-parallel group from `context`.
  UpdateLoop(const RunContext& context, std::string phase, int64_t steps);

  std::string phase;  // the progress label, usually the method's name
  int64_t steps = 0;
  /// Learning rate per step (0-based), or null to keep the optimiser's.
  std::function<double(int64_t)> lr_at;
  /// Called between backward() and the optimiser step (e.g. to mask gradients).
  std::function<void()> after_backward;
  /// `step(t)` runs under autocast at this precision on `device`; the loss comes back in fp32.
  Precision precision = Precision::fp32;
  torch::Device device = torch::kCPU;
  /// Data-parallel runs: gradients are averaged over this group before every step.
  DataParallelGroup* group = nullptr;
  /// From the context: the steps are fitted into the time left (methods/step_budget.h).
  Deadline deadline;
};

/// Runs `loop.steps` optimiser steps on `params`: zero grads, `step(t)` builds the loss, backward,
/// `after_backward`, step. Throws Error naming the step when the loss is not finite. Returns one
/// trace record per step with "loss", "grad_norm", "lr" and the step's own values. Under a
/// deadline, `t` runs over the planned steps that fit (StepBudget), and a record whose step is not
/// the planned one says which it stood for ("planned_step").
std::vector<TraceRecord> run_update_loop(const UpdateLoop& loop,
                                         const std::vector<torch::Tensor>& params,
                                         torch::optim::Optimizer& optimizer,
                                         const std::function<StepLoss(int64_t)>& step,
                                         Observer& observer);

/// The step loss of a method that makes passes over one set of rows: the model being updated,
/// the step's batch, the step (0-based) and the number of steps.
using RowsLoss = std::function<StepLoss(Model&, const Batch&, int64_t, int64_t)>;

/// The whole run of a method that takes `epochs` passes over `rows` (D_f or D_r) with one
/// optimiser over every parameter: a working copy of `original`, shuffled batches seeded by
/// `seed`, `loss` per step, and the finished model with its trace and {"steps": n}.
MethodResult run_passes_over_rows(const Model& original, const UnlearnData& data,
                                  const torch::Tensor& rows, double epochs,
                                  const UpdateOptions& update, uint64_t seed,
                                  const std::string& phase, const RunContext& context,
                                  Observer& observer, const RowsLoss& loss);

/// A method summary's step counts: {"steps": steps taken}, and "planned_steps" when a time
/// budget dropped some.
nlohmann::json step_counts(const std::vector<TraceRecord>& trace, int64_t planned);

/// The result for an empty forget set (accepted with --allow-empty): the original, unchanged.
MethodResult unchanged_result(const Model& original);

}  // namespace unlearn
