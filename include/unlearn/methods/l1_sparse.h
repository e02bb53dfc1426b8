#pragma once
// ℓ1-sparse unlearning: fine-tune on the retain set with an ℓ1 penalty whose weight decays
// linearly to 0 (Jia et al., "Model Sparsity Can Simplify Machine Unlearning", NeurIPS 2023).
// See docs/methods/l1-sparse.md.

#include <torch/arg.h>

#include <cstdint>
#include <string>

#include "unlearn/methods/method.h"
#include "unlearn/methods/option_table.h"
#include "unlearn/methods/update_loop.h"

namespace unlearn {

/// Options for `L1Sparse`.  Example: L1Sparse m(L1SparseOptions().gamma(5e-5).epochs(1));
struct L1SparseOptions {
  TORCH_ARG(UpdateOptions, update) = UpdateOptions();
  TORCH_ARG(double, gamma) = 1e-4;  // ℓ1 weight at the first step
  TORCH_ARG(double, epochs) = 2;    // passes over D_r; fractions allowed
  TORCH_ARG(int64_t, seed) = 0;     // --method-seed

 public:
  /// Throws UsageError naming the first bad option.
  void validate() const;
};

/// The ℓ1 weight γ_t at step t (0-based) of `steps`: γ at the first step, falling linearly to 0
/// at the last; a one-step run uses γ.
double l1_weight_at(double gamma, int64_t t, int64_t steps);

/// Descends on CE(f(x_r), y_r) + γ_t·‖θ‖₁ over every parameter.
class L1Sparse : public OptionsMethod<L1Sparse, L1SparseOptions> {
 public:
  using OptionsMethod::OptionsMethod;
  static OptionTable option_table(Options& options);

  std::string name() const override { return "l1-sparse"; }
  MethodResult run(const Model& original, const UnlearnData& data, const RunContext& context,
                   Observer& observer) const override;
};

}  // namespace unlearn
