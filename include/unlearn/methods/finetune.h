#pragma once
// Fine-tuning on the retain set only: the simplest unlearning baseline (Golatkar et al., CVPR
// 2020; Warnecke et al., NDSS 2023). See docs/methods/finetune.md.

#include <torch/arg.h>

#include <cstdint>
#include <string>

#include "unlearn/methods/method.h"
#include "unlearn/methods/option_table.h"
#include "unlearn/methods/update_loop.h"

namespace unlearn {

/// Options for `Finetune`.  Example: Finetune m(FinetuneOptions().epochs(0.5));
struct FinetuneOptions {
  TORCH_ARG(UpdateOptions, update) = UpdateOptions();
  TORCH_ARG(double, epochs) = 2;  // passes over D_r; fractions allowed
  TORCH_ARG(int64_t, seed) = 0;   // --method-seed

 public:
  /// Throws UsageError naming the first bad option.
  void validate() const;
};

/// Trains the model on D_r alone with the plain cross-entropy; D_f is forgotten only as far as
/// training without it makes the model drift away from it.
class Finetune : public OptionsMethod<Finetune, FinetuneOptions> {
 public:
  using OptionsMethod::OptionsMethod;
  static OptionTable option_table(Options& options);

  std::string name() const override { return "finetune"; }
  MethodResult run(const Model& original, const UnlearnData& data, const RunContext& context,
                   Observer& observer) const override;
};

}  // namespace unlearn
