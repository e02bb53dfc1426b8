#pragma once
// SSD, Selective Synaptic Dampening (Foster, Schoepf and Brintrup, AAAI 2024): no training;
// weights far more important to D_f than to D are scaled down. See docs/methods/ssd.md.

#include <torch/arg.h>
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "unlearn/methods/method.h"
#include "unlearn/methods/option_table.h"

namespace unlearn {

/// Options of SSD. Example: Ssd m(SsdOptions().alpha(10).lambda(1).importance_samples(10000));
struct SsdOptions {
  TORCH_ARG(double, alpha) = 10;               // selection: I_f > alpha * I_D
  TORCH_ARG(double, lambda) = 1;               // dampening: theta *= min(lambda * I_D / I_f, 1)
  TORCH_ARG(int64_t, importance_samples) = 0;  // rows of D for I_D; 0 = all of D
  TORCH_ARG(int64_t, batch) = 64;
  TORCH_ARG(int64_t, method_seed) = 0;

 public:
  /// Throws UsageError naming the first bad option.
  void validate() const;
};

/// Diagonal Fisher importance of every parameter of `model` (in parameters() order): the mean,
/// over one pass of batches of `rows` in a seeded random order, of the squared gradient of the
/// batch's mean cross-entropy. Runs the model in eval mode, so batch-norm statistics are
/// untouched; leaves no gradients behind.
std::vector<torch::Tensor> fisher_importance(Model& model, const UnlearnData& data,
                                             const torch::Tensor& rows, int64_t batch,
                                             uint64_t seed, torch::Device device,
                                             Observer& observer, const std::string& phase);

/// Multiplies each element of `params` whose forget importance exceeds alpha times its
/// importance on D by min(lambda * I_D / I_f, 1), in place. Returns the number dampened.
int64_t dampen_by_importance(const std::vector<torch::Tensor>& params,
                             const std::vector<torch::Tensor>& importance_all,
                             const std::vector<torch::Tensor>& importance_forget, double alpha,
                             double lambda);

class Ssd : public OptionsMethod<Ssd, SsdOptions> {
 public:
  using OptionsMethod::OptionsMethod;
  static OptionTable option_table(Options& options);

  std::string name() const override { return "ssd"; }
  MethodResult run(const Model& original, const UnlearnData& data, const RunContext& context,
                   Observer& observer) const override;
};

}  // namespace unlearn
