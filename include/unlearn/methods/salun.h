#pragma once
// SalUn: random-label unlearning restricted to the weights most salient for the forget loss
// (Fan, Liu, Zhang, Wong, Wei and Liu, "SalUn: Empowering Machine Unlearning via Gradient-based
// Weight Saliency in Both Image Classification and Generation", ICLR 2024).
// See docs/methods/salun.md.

#include <torch/arg.h>
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "unlearn/methods/method.h"
#include "unlearn/methods/option_table.h"
#include "unlearn/methods/random_label.h"

namespace unlearn {

/// Options for `Salun`: random-label updates plus the mask's share of weights.
/// Example: Salun m(SalunOptions().threshold(0.3).relabel(RandomLabelOptions().epochs(2)));
struct SalunOptions {
  TORCH_ARG(RandomLabelOptions, relabel) = RandomLabelOptions();
  TORCH_ARG(double, threshold) = 0.5;  // share of all weights the updates may move

 public:
  /// Throws UsageError naming the first bad option.
  void validate() const;
};

/// A 0/1 mask per parameter, in Model::parameters() order.
struct SaliencyMask {
  std::vector<torch::Tensor> masks;  // same shape, dtype and device as the parameter
  int64_t selected = 0;              // entries set to 1
  int64_t total = 0;                 // entries in all parameters
};

/// The weights whose |∂ℓ_f/∂θ| is among the largest `threshold` share over all parameters
/// (exactly round(threshold·total) of them), where ℓ_f is the mean cross-entropy over all of D_f,
/// computed in eval mode (batch norm on its running statistics) in batches of `batch`. `model`
/// must have parameters that require gradients (a working copy); its weights, buffers and mode
/// are left as they were, its gradients cleared.
SaliencyMask saliency_mask(Model& model, const UnlearnData& data, int64_t batch, double threshold,
                           torch::Device device);

/// Computes the saliency mask once, then runs random-label updates (RandomLabel) in which only
/// masked weights move: gradients, weight decay included, are multiplied by the mask before each
/// optimiser step, so momentum and Adam's moments stay 0 outside it.
class Salun : public OptionsMethod<Salun, SalunOptions> {
 public:
  using OptionsMethod::OptionsMethod;
  static OptionTable option_table(Options& options);

  std::string name() const override { return "salun"; }
  MethodResult run(const Model& original, const UnlearnData& data, const RunContext& context,
                   Observer& observer) const override;
};

}  // namespace unlearn
