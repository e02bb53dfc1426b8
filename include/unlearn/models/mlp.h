#pragma once
// One native architecture (see feature_head_net.h for what it shares with the others).

#include "unlearn/models/feature_head_net.h"

namespace unlearn {

/// A multilayer perceptron on flattened pixels: 256-unit hidden layers (times `width`);
/// `ArchOptions::hidden_layers(0)` gives multinomial logistic regression. Groups: `features`,
/// `classifier`.
class MlpImpl : public FeatureHeadNet<MlpImpl> {
 public:
  explicit MlpImpl(const ArchOptions& options);
  void reset() override;
};
TORCH_MODULE(Mlp);

}  // namespace unlearn
