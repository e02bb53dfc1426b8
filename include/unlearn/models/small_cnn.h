#pragma once
// One native architecture (see feature_head_net.h for what it shares with the others).

#include "unlearn/models/feature_head_net.h"

namespace unlearn {

/// A small CNN for fast runs: two conv/BN/ReLU/max-pool stages (32, 64 channels times `width`)
/// and a 128-unit hidden layer. Groups: `features`, `classifier`.
class SmallCnnImpl : public FeatureHeadNet<SmallCnnImpl> {
 public:
  explicit SmallCnnImpl(const ArchOptions& options);
  void reset() override;
};
TORCH_MODULE(SmallCnn);

}  // namespace unlearn
