#pragma once
// One native architecture (see feature_head_net.h for what it shares with the others).

#include "unlearn/models/feature_head_net.h"

namespace unlearn {

/// AllCNN as used by Nahass et al. and Chen et al.: 8 convolutions with batch norm, widths 96
/// and 192 (times `width`), two stride-2 reductions, global average pooling, one linear layer.
/// Groups: `features`, `classifier`.
class AllCnnImpl : public FeatureHeadNet<AllCnnImpl> {
 public:
  explicit AllCnnImpl(const ArchOptions& options);
  void reset() override;
};
TORCH_MODULE(AllCnn);

}  // namespace unlearn
