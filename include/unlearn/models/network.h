#pragma once
// The interface every native architecture implements, beside torch::nn::Module.

#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace unlearn {

/// A named part of a network ("features", "classifier", "layer3", ...). Composition, freezing
/// and EU-k/CF-k address parameters by these names.
struct ModuleGroup {
  std::string name;
  std::shared_ptr<torch::nn::Module> module;
};

/// A classifier split into a feature extractor and a head. Inputs are already normalised.
class Network {
 public:
  virtual ~Network() = default;
  /// Penultimate features, N×D.
  virtual torch::Tensor embed(const torch::Tensor& x) = 0;
  /// Logits from penultimate features, N×K.
  virtual torch::Tensor head(const torch::Tensor& features) = 0;
  /// Named module groups in forward order; together they hold every parameter.
  virtual std::vector<ModuleGroup> groups() = 0;
  /// Logits, N×K.
  virtual torch::Tensor logits(const torch::Tensor& x) { return head(embed(x)); }
  /// Switches batch-norm layers the Module tree does not show as such (an imported TorchScript
  /// module's) between batch and running statistics.
  virtual void set_script_batchnorm_training(bool /*on*/) {}
  /// Bytes that rebuild this network's structure, for one that no ModelSpec describes (an
  /// imported TorchScript module); empty for the native architectures.
  virtual std::string structure_bytes() const { return {}; }
};

}  // namespace unlearn
