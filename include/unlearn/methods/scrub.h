#pragma once
// SCRUB (Kurmanji, Triantafillou, Hayes and Triantafillou, NeurIPS 2023): a student, initialised
// as the original, moves away from the frozen original (the teacher) on D_f and stays close to
// it on D_r. See docs/methods/scrub.md.

#include <torch/arg.h>

#include <cstdint>
#include <string>

#include "unlearn/methods/method.h"
#include "unlearn/methods/option_table.h"
#include "unlearn/methods/update_loop.h"

namespace unlearn {

/// Options of SCRUB. Example: Scrub m(ScrubOptions().epochs(3).max_steps(2).retain_batches(100));
struct ScrubOptions {
  TORCH_ARG(int64_t, epochs) = 3;
  TORCH_ARG(int64_t, max_steps) = 2;         // epochs with a max step over D_f
  TORCH_ARG(int64_t, retain_batches) = 250;  // min-step batches per epoch; 0 = all of D_r
  TORCH_ARG(int64_t, forget_batch) = 32;
  TORCH_ARG(double, alpha) = 0.001;  // weight of KL(teacher || student) in the min step
  TORCH_ARG(double, gamma) = 0.99;   // weight of the cross-entropy in the min step
  TORCH_ARG(double, temperature) = 4;
  TORCH_ARG(UpdateOptions, update) = UpdateOptions().lr(5e-4).batch(128);
  TORCH_ARG(int64_t, method_seed) = 0;

 public:
  ScrubOptions& lr(double value) {
    update_.lr(value);
    return *this;
  }
  /// Throws UsageError naming the first bad option.
  void validate() const;
};

/// KL(teacher || student) of the softmaxes at temperature T, averaged over the batch and scaled
/// by T² (Hinton et al.'s distillation loss).
torch::Tensor distillation_kl(const torch::Tensor& student_logits,
                              const torch::Tensor& teacher_logits, double temperature);

class Scrub : public OptionsMethod<Scrub, ScrubOptions> {
 public:
  using OptionsMethod::OptionsMethod;
  static OptionTable option_table(Options& options);

  std::string name() const override { return "scrub"; }
  MethodResult run(const Model& original, const UnlearnData& data, const RunContext& context,
                   Observer& observer) const override;
};

}  // namespace unlearn
