#pragma once
// One native architecture: a torch::nn::Cloneable (clone() is a deep copy) implementing Network.

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include <vector>

#include "unlearn/models/arch_options.h"
#include "unlearn/models/network.h"

namespace unlearn {

/// AllCNN as used by Nahass et al. and Chen et al.: 8 convolutions with batch norm, widths 96
/// and 192 (times `width`), two stride-2 reductions, global average pooling, one linear layer.
/// Groups: `features`, `classifier`.
class AllCnnImpl : public torch::nn::Cloneable<AllCnnImpl>, public Network {
 public:
  explicit AllCnnImpl(const ArchOptions& options);
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
TORCH_MODULE(AllCnn);

}  // namespace unlearn
