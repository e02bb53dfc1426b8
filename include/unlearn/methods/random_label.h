#pragma once
// Random labels: fine-tune on the forget set relabelled with random wrong classes, beside retain
// batches with their true labels (Golatkar et al., CVPR 2020; the RL baseline of SalUn, Fan et
// al., ICLR 2024). See docs/methods/random-label.md.

#include <torch/arg.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "unlearn/methods/method.h"
#include "unlearn/methods/option_table.h"
#include "unlearn/methods/update_loop.h"

namespace unlearn {

/// Options for `RandomLabel`.  Example: RandomLabel m(RandomLabelOptions().retain_weight(0.5));
struct RandomLabelOptions {
  TORCH_ARG(UpdateOptions, update) = UpdateOptions();
  TORCH_ARG(double, retain_weight) = 1;  // 0: forget batches only
  TORCH_ARG(double, epochs) = 5;         // passes over D_f; fractions allowed
  TORCH_ARG(int64_t, seed) = 0;          // --method-seed

 public:
  /// Throws UsageError naming the first bad option.
  void validate() const;
};

/// `labels` (int64, any device) with every entry replaced by a class drawn uniformly from the
/// `classes` − 1 classes other than itself: never the true label. Needs classes >= 2.
torch::Tensor random_wrong_labels(const torch::Tensor& labels, int64_t classes,
                                  torch::Generator& generator);

/// The update loop that RandomLabel and Salun share: `options.epochs()` passes over D_f. Each
/// step draws a forget batch, relabels it with random_wrong_labels, appends a retain batch when
/// retain_weight > 0, and descends on CE(forget rows, wrong labels) + retain_weight·CE(retain
/// rows, labels) from one forward pass. `optimizer` steps `model`'s parameters; `after_backward`
/// (may be null) edits their gradients before each step. Returns the trace.
std::vector<TraceRecord> run_random_label_updates(Model& model, const UnlearnData& data,
                                                  const RandomLabelOptions& options,
                                                  torch::optim::Optimizer& optimizer,
                                                  const std::function<void()>& after_backward,
                                                  const std::string& phase,
                                                  const RunContext& context, Observer& observer);

/// The steps run_random_label_updates plans (fewer run under a time budget).
int64_t random_label_steps(const UnlearnData& data, const RandomLabelOptions& options,
                           const RunContext& context);

class RandomLabel : public OptionsMethod<RandomLabel, RandomLabelOptions> {
 public:
  using OptionsMethod::OptionsMethod;
  static OptionTable option_table(Options& options);

  std::string name() const override { return "random-label"; }
  MethodResult run(const Model& original, const UnlearnData& data, const RunContext& context,
                   Observer& observer) const override;
};

}  // namespace unlearn
