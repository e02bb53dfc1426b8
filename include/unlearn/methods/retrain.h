#pragma once
// Retrain: the gold standard as a method. A fresh model of the original's architecture and
// input spec, trained on D_r alone with the original's recipe, and cached by (data, rows,
// spec, recipe, seed) so it is trained once. See docs/methods/retrain.md.

#include <torch/arg.h>

#include <cstdint>
#include <string>

#include "unlearn/methods/method.h"
#include "unlearn/methods/option_table.h"
#include "unlearn/train/trainer.h"

namespace unlearn {

/// Every recipe field defaults to "inherit": the value in the original model's provenance
/// (written by `unlearn train`), else TrainOptions' default.
struct RetrainOptions {
  TORCH_ARG(int64_t, epochs) = -1;
  TORCH_ARG(int64_t, batch) = -1;
  TORCH_ARG(double, lr) = -1;
  TORCH_ARG(double, momentum) = -1;
  TORCH_ARG(double, weight_decay) = -1;
  TORCH_ARG(std::string, schedule) = "inherit";
  TORCH_ARG(int64_t, train_seed) = -1;
  TORCH_ARG(bool, cache) = true;

 public:
  void validate() const;
};

class Retrain : public OptionsMethod<Retrain, RetrainOptions> {
 public:
  using OptionsMethod::OptionsMethod;
  static OptionTable option_table(Options& options);

  std::string name() const override { return "retrain"; }
  MethodResult run(const Model& original, const UnlearnData& data, const RunContext& context,
                   Observer& observer) const override;

  /// The recipe these options give for `original` (inherited fields filled in).
  TrainOptions recipe_for(const Model& original) const;
};

}  // namespace unlearn
