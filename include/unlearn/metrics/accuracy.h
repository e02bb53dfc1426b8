#pragma once
// The accuracy family of docs/metrics.md, on precomputed logits.

#include <torch/types.h>

#include <vector>

namespace unlearn {

/// Percentage (0..100) of rows whose argmax logit equals the label. NaN for an empty set.
double accuracy_percent(const torch::Tensor& logits, const torch::Tensor& labels);

/// Same, from predicted class indices instead of logits.
double accuracy_percent_from_predictions(const torch::Tensor& predictions,
                                         const torch::Tensor& labels);

/// Per-class accuracy in percent; entry k is NaN when class k has no samples.
std::vector<double> per_class_accuracy(const torch::Tensor& predictions,
                                       const torch::Tensor& labels, int64_t num_classes);

}  // namespace unlearn
