#pragma once
// One native architecture: a torch::nn::Cloneable (clone() is a deep copy) implementing Network.

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include <vector>

#include "unlearn/models/arch_options.h"
#include "unlearn/models/network.h"

namespace unlearn {

/// A multilayer perceptron on flattened pixels: 256-unit hidden layers (times `width`);
/// `ArchOptions::hidden_layers(0)` gives multinomial logistic regression. Groups: `features`, `classifier`.
class MlpImpl : public torch::nn::Cloneable<MlpImpl>, public Network {
 public:
  explicit MlpImpl(const ArchOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x) { return logits(x); }
  torch::Tensor embed(const torch::Tensor& x) override;
  torch::Tensor head(const torch::Tensor& features) override;
  std::vector<ModuleGroup> groups() override;

  ArchOptions options;

 private:
  torch::nn::Sequential features_{nullptr};
  torch::nn::Linear classifier_{nullptr};
};
TORCH_MODULE(Mlp);

}  // namespace unlearn
