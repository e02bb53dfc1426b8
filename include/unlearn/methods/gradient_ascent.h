#pragma once
// Gradient ascent (NegGrad) on the forget set: Golatkar et al., CVPR 2020; Thudi et al.,
// EuroS&P 2022. See docs/methods/gradient-ascent.md.

#include <torch/arg.h>

#include <cstdint>
#include <string>

#include "unlearn/methods/method.h"
#include "unlearn/methods/option_table.h"
#include "unlearn/methods/update_loop.h"

namespace unlearn {

/// Options for `GradientAscent`.  Example: GradientAscent m(GradientAscentOptions().epochs(1));
struct GradientAscentOptions {
  TORCH_ARG(UpdateOptions, update) = UpdateOptions().lr(1e-3);
  TORCH_ARG(double, epochs) = 2;  // passes over D_f; fractions allowed
  TORCH_ARG(int64_t, seed) = 0;   // --method-seed

 public:
  /// Throws UsageError naming the first bad option.
  void validate() const;
};

/// Takes optimiser steps on −CE(f(x_f), y_f): it raises the loss on D_f and looks at no retain
/// sample, so nothing holds the rest of the model in place.
class GradientAscent : public OptionsMethod<GradientAscent, GradientAscentOptions> {
 public:
  using OptionsMethod::OptionsMethod;
  static OptionTable option_table(Options& options);

  std::string name() const override { return "gradient-ascent"; }
  MethodResult run(const Model& original, const UnlearnData& data, const RunContext& context,
                   Observer& observer) const override;
};

}  // namespace unlearn
