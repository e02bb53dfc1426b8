#pragma once
// One native architecture: a torch::nn::Cloneable (clone() is a deep copy) implementing Network.

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include <vector>

#include "unlearn/models/arch_options.h"
#include "unlearn/models/network.h"

namespace unlearn {

/// CIFAR-style ResNet-18: a 3×3 stem without max-pooling, four stages of two basic blocks
/// (64, 128, 256, 512 channels times `width`), global average pooling and a linear layer.
/// Groups: `stem`, `layer1`..`layer4`, `fc`.
class ResNet18Impl : public torch::nn::Cloneable<ResNet18Impl>, public Network {
 public:
  explicit ResNet18Impl(const ArchOptions& options);
  void reset() override;
  torch::Tensor forward(const torch::Tensor& x) { return logits(x); }
  torch::Tensor embed(const torch::Tensor& x) override;
  torch::Tensor head(const torch::Tensor& features) override;
  std::vector<ModuleGroup> groups() override;

  ArchOptions options;

 private:
  torch::nn::Sequential stem_{nullptr};
  std::vector<torch::nn::Sequential> layers_;
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(ResNet18);

}  // namespace unlearn
