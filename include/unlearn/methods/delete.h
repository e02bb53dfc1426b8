#pragma once
// DELETE, decoupled distillation to erase: Zhou et al., CVPR 2025 (arXiv 2503.23751). See
// docs/methods/delete.md.

#include <torch/arg.h>

#include <cstdint>
#include <string>

#include "unlearn/methods/method.h"
#include "unlearn/methods/option_table.h"
#include "unlearn/methods/update_loop.h"

namespace unlearn {

/// Options for `Delete`.  Example: Delete m(DeleteOptions().epochs(3));
struct DeleteOptions {
  TORCH_ARG(UpdateOptions, update) = UpdateOptions().lr(1e-3).weight_decay(0);
  TORCH_ARG(double, epochs) = 5;  // passes over D_f; fractions allowed
  TORCH_ARG(int64_t, seed) = 0;   // --method-seed

 public:
  /// Throws UsageError naming the first bad option.
  void validate() const;
};

/// On batches of D_f only, distils the original model into the copy with the true class's logit
/// masked out of the teacher: the target is the original's distribution over the other classes,
/// so the sample's "dark knowledge" is kept while its own class loses all mass. Needs no retain
/// set.
class Delete : public OptionsMethod<Delete, DeleteOptions> {
 public:
  using OptionsMethod::OptionsMethod;
  static OptionTable option_table(Options& options);

  std::string name() const override { return "delete"; }
  MethodResult run(const Model& original, const UnlearnData& data, const RunContext& context,
                   Observer& observer) const override;
};

/// The teacher's target for DELETE: softmax of `teacher_logits` (N×K) with each row's `labels`
/// entry removed (probability 0). Exposed for tests.
torch::Tensor masked_teacher_target(const torch::Tensor& teacher_logits,
                                    const torch::Tensor& labels);

}  // namespace unlearn
