#pragma once
// PSG: boundary-based bilevel unlearning with perturbed sign gradients (Nahass et al.,
// arXiv 2505.21872). See docs/methods/psg.md and ../shared/docs/method-psg.md.

#include <torch/arg.h>

#include <cstdint>
#include <string>

#include "unlearn/methods/boundary_search.h"
#include "unlearn/methods/method.h"
#include "unlearn/methods/option_table.h"

namespace unlearn {

/// Every PSG option, with our defaults (chosen from measured runs, docs/results.md).
/// Example: Psg psg(PsgOptions().epsilon(0.1).gamma(1e-4).retain_weight(0.5));
struct PsgOptions {
  // Lower level: the boundary search.
  TORCH_ARG(double, epsilon) = 0.1;
  TORCH_ARG(int64_t, inner_steps) = 1;
  TORCH_ARG(double, step_size) = 0;  // 0: epsilon / inner_steps
  TORCH_ARG(std::string, norm) = "linf";
  TORCH_ARG(bool, quantize) = true;
  TORCH_ARG(double, lambda) = 0;
  TORCH_ARG(std::string, lambda_schedule) = "constant";
  TORCH_ARG(double, lambda_rate) = 0.01;
  TORCH_ARG(double, gamma) = 1e-4;
  TORCH_ARG(std::string, noise) = "normal";
  TORCH_ARG(std::string, search_stop) = "crossing";
  TORCH_ARG(std::string, search_reduction) = "sum";
  TORCH_ARG(std::string, reference) = "original";
  TORCH_ARG(std::string, label_mode) = "hard";
  TORCH_ARG(double, temperature) = 1.0;
  TORCH_ARG(int64_t, top_k) = 0;  // 0: all classes
  // Upper level: the model update.
  TORCH_ARG(double, retain_weight) = 0.5;
  TORCH_ARG(std::string, retain_target) = "labels";
  TORCH_ARG(std::string, optimizer) = "sgd";
  TORCH_ARG(double, lr) = 2e-3;
  TORCH_ARG(double, momentum) = 0.9;
  TORCH_ARG(double, weight_decay) = 0;
  TORCH_ARG(int64_t, passes) = 10;
  TORCH_ARG(int64_t, batch) = 64;
  TORCH_ARG(int64_t, retain_batch) = 64;
  TORCH_ARG(double, target_forget_acc) = 1;  // percent; < 0: off
  TORCH_ARG(double, grad_tol) = -1;          // < 0: off
  TORCH_ARG(std::string, bn_mode) = "train";
  TORCH_ARG(int64_t, recalibrate_samples) = 2048;
  TORCH_ARG(bool, authors_exact) = false;
  TORCH_ARG(int64_t, seed) = 0;

 public:
  /// Throws UsageError naming the first bad option.
  void validate() const;
  /// The search options these values imply, for a model normalised with `mean`/`std`.
  BoundarySearchOptions search_options(const std::vector<double>& mean,
                                       const std::vector<double>& std) const;
};

/// Binds every option to its command-line flag (docs/method-psg.md's names).
OptionTable psg_option_table(PsgOptions& options);

/// `authors`: the published hyperparameters; `authors-exact`: also their arithmetic;
/// `thorough`: ours, forgetting that survives batch-norm recalibration, at about 5x the time.
PsgOptions psg_preset(const std::string& name);

/// Boundary Shrink (Chen et al., CVPR 2023) = PSG with K = 1, α = ε, γ = 0, λ = 0, φ = 0.
PsgOptions boundary_shrink_options();

/// λ_t at outer step t (1-based) of T under `options`' schedule.
double scheduled_lambda(const PsgOptions& options, int64_t t, int64_t total);

class Psg : public Method {
 public:
  explicit Psg(PsgOptions options, std::string name = "psg");
  std::string name() const override { return name_; }
  nlohmann::json options_json() const override;
  MethodResult run(const Model& original, const UnlearnData& data, const RunContext& context,
                   Observer& observer) const override;
  const PsgOptions& options() const { return options_; }

 private:
  PsgOptions options_;
  std::string name_;
};

}  // namespace unlearn
