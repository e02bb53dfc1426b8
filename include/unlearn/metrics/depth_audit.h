#pragma once
// Depth audits (docs/metrics.md, "Depth audits"): does a model's forgetting survive the routine
// steps and attacks that undo shallow forgetting? Each audit changes a copy of the model (or
// reads its frozen features) and measures the forget side again, so an unlearned model can be set
// beside its retrain. Unlike the other metrics, they train; their time is reported on its own.

#include <torch/arg.h>
#include <torch/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "unlearn/core/observer.h"
#include "unlearn/metrics/evaluator.h"
#include "unlearn/metrics/gap.h"
#include "unlearn/models/model.h"
#include "unlearn/select/selection.h"

namespace unlearn {

/// The fixed budgets of the audits (docs/metrics.md gives the reasons and the cost of each).
struct DepthAuditOptions {
  /// Recalibration: retain rows whose batch-norm statistics replace the model's.
  TORCH_ARG(int64_t, recalibrate_samples) = 2048;
  /// Relearning attack on D_r: SGD steps (momentum 0.9, batch norm in training mode) on shuffled
  /// retain batches, as a team fine-tuning the edited model on its remaining data would. At lr
  /// 0.01 these steps erased a forgotten class from the original itself (Fashion-MNIST class 0:
  /// FTA 88 -> 16), since D_r lacks the class; such an attack cannot tell dormant knowledge from
  /// none. At 0.001 the original keeps 59 and the retrain stays at 0 (docs/results.md).
  TORCH_ARG(int64_t, retain_steps) = 250;
  TORCH_ARG(double, retain_lr) = 0.001;
  TORCH_ARG(int64_t, retain_batch) = 64;
  /// Few-shot relearning: for each k, SGD steps on k forget samples beside k retain samples
  /// (batch norm in training mode on these mixed batches), then the accuracy on the other forget
  /// samples and on the forget test rows.
  TORCH_ARG(std::vector<int64_t>, few_shot) = std::vector<int64_t>{10, 100};
  TORCH_ARG(int64_t, few_shot_steps) = 100;
  TORCH_ARG(double, few_shot_lr) = 0.01;
  /// Linear probe on penultimate features: L2 weight and L-BFGS iterations.
  TORCH_ARG(double, probe_l2) = 1e-3;
  TORCH_ARG(int64_t, probe_iterations) = 100;
  /// Acc(D_f) is measured on at most this many forget rows (a fixed seeded subsample).
  TORCH_ARG(int64_t, eval_rows) = 2048;
  TORCH_ARG(uint64_t, seed) = 0;
};

/// What each audit measured. `audits` maps an audit name ("recalibration", "retain_relearn",
/// "few_shot_10", "few_shot_100", "probe") to its metrics: UA (100 − accuracy on the measured
/// forget training rows) and FTA (accuracy on the forget test rows; absent when the selection has
/// no test part), percent; the few-shot audits add steps_to_original (only when reached within
/// the budget) and reached (0 or 1). An audit that cannot run on this split (no retain rows, no
/// more than k forget rows, no test data for the probe), or that fails on the way (a relearning
/// run whose loss stops being finite), is absent and named in `skipped` with the reason.
struct DepthAudit {
  std::map<std::string, MetricMap> audits;
  std::map<std::string, std::string> skipped;  // audit -> why
  double seconds = 0;
};

/// Runs every audit on `model` (never mutated) over `data` and `split`. `original_forget_accuracy`
/// is the original model's Acc(D_f) in percent, the target of the few-shot audits' step count.
DepthAudit audit_depth(const Model& model, const EvalData& data, const Split& split,
                       double original_forget_accuracy, const DepthAuditOptions& options = {},
                       Observer* observer = nullptr);

/// The metric names the depth gap averages over.
inline const std::vector<std::string>& depth_metrics() {
  static const std::vector<std::string> names{"UA", "FTA"};
  return names;
}

/// Depth gap: the mean absolute difference, in points, between `model`'s and `retrain`'s UA and
/// FTA over the audits both have; nullopt when they share none.
std::optional<double> depth_gap(const std::map<std::string, MetricMap>& model,
                                const std::map<std::string, MetricMap>& retrain);

}  // namespace unlearn
