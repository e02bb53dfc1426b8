#pragma once
// The common shape of AllCNN, SmallCnn and Mlp: a `features` Sequential ending in a flat
// feature vector, and a linear `classifier`. Each architecture only builds the two parts in
// reset(); forwarding, groups and cloning come from here.

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include <vector>

#include "unlearn/models/arch_options.h"
#include "unlearn/models/network.h"

namespace unlearn {

template <typename Derived>
class FeatureHeadNet : public torch::nn::Cloneable<Derived>, public Network {
 public:
  explicit FeatureHeadNet(const ArchOptions& opts) : options(opts) {}
  torch::Tensor forward(const torch::Tensor& x) { return logits(x); }
  torch::Tensor embed(const torch::Tensor& x) override { return features_->forward(x); }
  torch::Tensor head(const torch::Tensor& f) override { return classifier_->forward(f); }
  std::vector<ModuleGroup> groups() override {
    return {{"features", features_.ptr()}, {"classifier", classifier_.ptr()}};
  }

  ArchOptions options;

 protected:
  /// Registers the two parts under their group names; called from the derived reset().
  void set_parts(torch::nn::Sequential features, torch::nn::Linear classifier) {
    features_ = this->register_module("features", std::move(features));
    classifier_ = this->register_module("classifier", std::move(classifier));
  }

 private:
  torch::nn::Sequential features_{nullptr};
  torch::nn::Linear classifier_{nullptr};
};

}  // namespace unlearn
