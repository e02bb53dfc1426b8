#pragma once
// outliers() ranks samples with a reference model: the original model of forget and eval, or
// train's --reference. This is that model seen through the OutlierScorer interface.

#include <torch/types.h>

#include <cstdint>

#include "unlearn/models/model.h"
#include "unlearn/select/selection.h"

namespace unlearn {

class ModelOutlierScorer : public OutlierScorer {
 public:
  /// Keeps a reference to `model`, which must outlive the scorer.
  explicit ModelOutlierScorer(const Model& model, int64_t batch = 512)
      : model_(model), batch_(batch) {}

  torch::Tensor features(const Dataset& data) const override;
  torch::Tensor losses(const Dataset& data) const override;

 private:
  const Model& model_;
  int64_t batch_;
};

}  // namespace unlearn
