#pragma once
// Boundary Expanding (Chen, Gao, Liu, Peng and Zhou, CVPR 2023): the forget samples are taught
// to an extra "shadow" class, whose output is then pruned, leaving them without their own
// class's region. See docs/methods/boundary-expanding.md.

#include <torch/arg.h>

#include <cstdint>
#include <string>

#include "unlearn/methods/method.h"
#include "unlearn/methods/option_table.h"
#include "unlearn/methods/update_loop.h"

namespace unlearn {

/// Options of Boundary Expanding. Example: BoundaryExpanding
/// m(BoundaryExpandingOptions().epochs(5));
struct BoundaryExpandingOptions {
  TORCH_ARG(double, epochs) = 10;  // passes over D_f
  TORCH_ARG(UpdateOptions, update) = UpdateOptions().lr(1e-4).weight_decay(0);
  TORCH_ARG(int64_t, method_seed) = 0;

 public:
  BoundaryExpandingOptions& lr(double value) {
    update_.lr(value);
    return *this;
  }
  BoundaryExpandingOptions& batch(int64_t value) {
    update_.batch(value);
    return *this;
  }
  /// Throws UsageError naming the first bad option.
  void validate() const;
};

class BoundaryExpanding : public OptionsMethod<BoundaryExpanding, BoundaryExpandingOptions> {
 public:
  using OptionsMethod::OptionsMethod;
  static OptionTable option_table(Options& options);

  std::string name() const override { return "boundary-expanding"; }
  MethodResult run(const Model& original, const UnlearnData& data, const RunContext& context,
                   Observer& observer) const override;
};

}  // namespace unlearn
