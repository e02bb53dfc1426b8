#pragma once
// Relearn time (docs/metrics.md, "Distance to the gold standard"): how many fine-tuning steps on
// D_f bring Acc(D_f) back to the original model's level. Opt-in: it trains, unlike the rest of
// the metrics, which read precomputed logits.

#include <torch/arg.h>
#include <torch/types.h>

#include <cstdint>

#include "unlearn/models/model.h"

namespace unlearn {

/// Options for `relearn_steps`.  Example: relearn_steps(m, x, y, f, 98.5,
/// RelearnOptions().lr(0.01))
struct RelearnOptions {
  TORCH_ARG(double, lr) = 0.01;
  TORCH_ARG(double, momentum) = 0.9;
  TORCH_ARG(int64_t, batch) = 32;
  TORCH_ARG(int64_t, max_steps) = 1000;
  TORCH_ARG(uint64_t, seed) = 0;  // batch order and the checked subsample
  /// Acc(D_f) is checked on at most this many forget rows (a fixed seeded subsample).
  TORCH_ARG(int64_t, eval_rows) = 2048;
  /// Go on to max_steps after the target is reached, so that `accuracy` is the one after a fixed
  /// budget (the few-shot audit); the step that reached it is still recorded.
  TORCH_ARG(bool, run_all_steps) = false;
  /// Batch norm in training mode during the steps (the checks stay in eval mode). Off, the copy
  /// trains with frozen statistics, which a batch of one needs; on, mixed batches train as they
  /// would in any fine-tuning, and frozen statistics cannot blow up an un-normalised step (the
  /// few-shot audit on Fashion-MNIST diverged at lr 0.01 with them frozen).
  TORCH_ARG(bool, train_batchnorm) = false;
};

struct RelearnResult {
  int64_t steps = 0;     // SGD steps taken; 0 when the model already meets the target
  bool reached = false;  // false: max_steps were taken without reaching the target
  /// The first step after which the target was met (0: before any step); with run_all_steps
  /// this can be less than `steps`. Meaningful only when `reached`.
  int64_t steps_to_target = 0;
  double accuracy = 0;  // Acc of the checked forget rows after the last step, percent
};

/// Fine-tunes a deep copy of `model` (the input is never mutated) with SGD on cross-entropy over
/// the forget rows `forget_rows` of (`inputs01`, `labels`), in seeded shuffled batches, and after
/// every step measures the accuracy on the checked forget rows. Stops as soon as it is >=
/// `target_accuracy` (percent; pass the original model's Acc(D_f) = 100 − UA_original); the
/// check also runs before the first step. The copy stays in eval mode throughout, so batch-norm
/// statistics and dropout are frozen: steps only move the weights, and a batch of one is fine.
/// Throws Error with the step number if the loss becomes NaN.
RelearnResult relearn_steps(const Model& model, const torch::Tensor& inputs01,
                            const torch::Tensor& labels, const torch::Tensor& forget_rows,
                            double target_accuracy, const RelearnOptions& options = {});

/// The fine-tuned copy and what it took.
struct Relearned {
  RelearnResult result;
  Model model;
};

/// The same, fine-tuning on `train_rows` (for example k forget samples) and checking the
/// accuracy on `check_rows` (for example the other forget samples), subsampled to eval_rows;
/// the fine-tuned copy is returned too (the few-shot audit measures it further).
Relearned relearn(const Model& model, const torch::Tensor& inputs01, const torch::Tensor& labels,
                  const torch::Tensor& train_rows, const torch::Tensor& check_rows,
                  double target_accuracy, const RelearnOptions& options = {});

}  // namespace unlearn
