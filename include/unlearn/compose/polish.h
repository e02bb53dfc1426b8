#pragma once
// What follows a merge: batch-norm statistics recomputed on retain data (a merged network's
// stored statistics belong to none of its sources), then an optional fine-tune on D_r with
// chosen module groups frozen (the authors: Adam, lr 1e-4, 5 epochs).

#include <torch/arg.h>

#include <cstdint>
#include <string>
#include <vector>

#include "unlearn/core/context.h"
#include "unlearn/core/observer.h"
#include "unlearn/methods/method.h"
#include "unlearn/methods/update_loop.h"

namespace unlearn {

/// Example: PolishOptions().finetune_epochs(5).freeze({"features"})
struct PolishOptions {
  TORCH_ARG(bool, recalibrate) = true;
  TORCH_ARG(int64_t, recalibrate_samples) = 2048;
  TORCH_ARG(double, finetune_epochs) = 0;  // passes over D_r; 0: no fine-tune
  TORCH_ARG(UpdateOptions,
            finetune) = UpdateOptions().optimizer(OptimizerKind::adam).lr(1e-4).weight_decay(0);
  /// Groups (or parameter-name prefixes) the fine-tune leaves as they are.
  TORCH_ARG(std::vector<std::string>, freeze) = {};
  TORCH_ARG(uint64_t, seed) = 0;

 public:
  /// Throws UsageError naming the first bad option.
  void validate() const;
};

/// Recalibrates (when asked and the model has batch norm) and fine-tunes `model` in place on
/// data.retain; returns the fine-tune's trace (empty without one).
std::vector<TraceRecord> polish_composite(Model& model, const UnlearnData& data,
                                          const PolishOptions& options, const RunContext& context,
                                          Observer& observer);

}  // namespace unlearn
