#pragma once
// NegGrad+: descent on the retain set plus weighted ascent on the forget set (Kurmanji,
// Triantafillou, Hayes and Triantafillou, "Towards Unbounded Machine Unlearning", NeurIPS 2023).
// See docs/methods/neggrad-plus.md.

#include <torch/arg.h>

#include <cstdint>
#include <string>

#include "unlearn/methods/method.h"
#include "unlearn/methods/option_table.h"
#include "unlearn/methods/update_loop.h"

namespace unlearn {

/// Options for `NegGradPlus`.  Example: NegGradPlus m(NegGradPlusOptions().alpha(0.95));
struct NegGradPlusOptions {
  TORCH_ARG(UpdateOptions, update) = UpdateOptions();
  TORCH_ARG(double, alpha) = 0.9;  // weight of the retain term; 1 − alpha weighs the ascent
  TORCH_ARG(double, epochs) = 5;   // passes over D_f; fractions allowed
  TORCH_ARG(int64_t, seed) = 0;    // --method-seed

 public:
  /// Throws UsageError naming the first bad option.
  void validate() const;
};

/// Each step pairs a forget batch with a retain batch and descends on
/// alpha·CE(f(x_r), y_r) − (1 − alpha)·CE(f(x_f), y_f).
class NegGradPlus : public OptionsMethod<NegGradPlus, NegGradPlusOptions> {
 public:
  using OptionsMethod::OptionsMethod;
  static OptionTable option_table(Options& options);

  std::string name() const override { return "neggrad-plus"; }
  MethodResult run(const Model& original, const UnlearnData& data, const RunContext& context,
                   Observer& observer) const override;
};

}  // namespace unlearn
