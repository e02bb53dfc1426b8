#pragma once
// PSG: boundary-based bilevel unlearning with perturbed sign gradients (Nahass et al.,
// arXiv 2505.21872). See docs/methods/psg.md and ../shared/docs/method-psg.md.

#include <torch/arg.h>

#include <cstdint>
#include <string>

#include "unlearn/methods/boundary_search.h"
#include "unlearn/methods/method.h"
#include "unlearn/methods/option_table.h"
#include "unlearn/methods/update_loop.h"

namespace unlearn {

/// How the proximal weight λ decays over the outer steps.
enum class LambdaSchedule { constant, inverse, exponential, linear };
/// Whose decision boundary the search crosses: the frozen original or the model being updated.
enum class BoundaryReference { original, current };
/// The forget term's targets at the boundary points.
enum class LabelMode { hard, soft, raw_logits };
/// The retain term's target.
enum class RetainTarget { labels, distill, raw_logits };

template <>
struct ChoiceTable<LambdaSchedule> {
  static constexpr Choice<LambdaSchedule> kAll[] = {{LambdaSchedule::constant, "constant"},
                                                    {LambdaSchedule::inverse, "inverse"},
                                                    {LambdaSchedule::exponential, "exponential"},
                                                    {LambdaSchedule::linear, "linear"}};
};
template <>
struct ChoiceTable<BoundaryReference> {
  static constexpr Choice<BoundaryReference> kAll[] = {{BoundaryReference::original, "original"},
                                                       {BoundaryReference::current, "current"}};
};
template <>
struct ChoiceTable<LabelMode> {
  static constexpr Choice<LabelMode> kAll[] = {
      {LabelMode::hard, "hard"}, {LabelMode::soft, "soft"}, {LabelMode::raw_logits, "raw-logits"}};
};
template <>
struct ChoiceTable<RetainTarget> {
  static constexpr Choice<RetainTarget> kAll[] = {{RetainTarget::labels, "labels"},
                                                  {RetainTarget::distill, "distill"},
                                                  {RetainTarget::raw_logits, "raw-logits"}};
};
/// Published and tuned settings (see psg_preset).
enum class PsgPreset { authors, authors_exact, thorough };

template <>
struct ChoiceTable<PsgPreset> {
  static constexpr Choice<PsgPreset> kAll[] = {{PsgPreset::authors, "authors"},
                                               {PsgPreset::authors_exact, "authors-exact"},
                                               {PsgPreset::thorough, "thorough"}};
};

/// Every PSG option, with our defaults (chosen from measured runs, docs/results.md).
/// Example: Psg psg(PsgOptions().epsilon(0.1).gamma(1e-4).retain_weight(0.5));
struct PsgOptions {
  // Lower level: the boundary search.
  TORCH_ARG(double, epsilon) = 0.1;
  TORCH_ARG(int64_t, inner_steps) = 1;
  TORCH_ARG(double, step_size) = 0;  // 0: epsilon / inner_steps
  TORCH_ARG(SearchNorm, norm) = SearchNorm::linf;
  TORCH_ARG(bool, quantize) = true;
  TORCH_ARG(double, lambda) = 0;
  TORCH_ARG(LambdaSchedule, lambda_schedule) = LambdaSchedule::constant;
  TORCH_ARG(double, lambda_rate) = 0.01;
  TORCH_ARG(double, gamma) = 1e-4;
  TORCH_ARG(NoiseLaw, noise) = NoiseLaw::normal;
  TORCH_ARG(SearchStop, search_stop) = SearchStop::crossing;
  TORCH_ARG(GradientReduction, search_reduction) = GradientReduction::sum;
  TORCH_ARG(BoundaryReference, reference) = BoundaryReference::original;
  TORCH_ARG(LabelMode, label_mode) = LabelMode::hard;
  TORCH_ARG(double, temperature) = 1.0;
  TORCH_ARG(int64_t, top_k) = 0;  // 0: all classes
  // Upper level: the model update.
  TORCH_ARG(double, retain_weight) = 0.5;
  TORCH_ARG(RetainTarget, retain_target) = RetainTarget::labels;
  TORCH_ARG(OptimizerKind, optimizer) = OptimizerKind::sgd;
  TORCH_ARG(double, lr) = 2e-3;
  TORCH_ARG(double, momentum) = 0.9;
  TORCH_ARG(double, weight_decay) = 0;
  TORCH_ARG(int64_t, passes) = 10;
  TORCH_ARG(int64_t, batch) = 64;
  TORCH_ARG(int64_t, retain_batch) = 64;
  TORCH_ARG(double, target_forget_acc) = 1;  // percent; < 0: off
  TORCH_ARG(double, grad_tol) = -1;          // < 0: off
  TORCH_ARG(BnMode, bn_mode) = BnMode::train;
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
PsgOptions psg_preset(PsgPreset preset);
/// The preset named `name`; throws UsageError naming --preset for an unknown name.
PsgOptions psg_preset(const std::string& name);

/// Boundary Shrink (Chen et al., CVPR 2023) = PSG with K = 1, α = ε, γ = 0, λ = 0, φ = 0.
PsgOptions boundary_shrink_options();

/// λ_t at outer step t (1-based) of T under `options`' schedule.
double scheduled_lambda(const PsgOptions& options, int64_t t, int64_t total);

/// PSG, or under the name "boundary-shrink" its special case. The run is in phases: draw the
/// batches, search the boundary (lower level), update the model (upper level), and book-keep
/// (running accuracy, relabel counts, trace, FLOPs); see psg.cpp.
class Psg : public OptionsMethod<Psg, PsgOptions> {
 public:
  explicit Psg(PsgOptions options, std::string name = "psg")
      : OptionsMethod(std::move(options)), name_(std::move(name)) {}
  static OptionTable option_table(PsgOptions& options) { return psg_option_table(options); }
  std::string name() const override { return name_; }
  MethodResult run(const Model& original, const UnlearnData& data, const RunContext& context,
                   Observer& observer) const override;

 private:
  std::string name_;
};

}  // namespace unlearn
