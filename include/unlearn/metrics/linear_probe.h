#pragma once
// A linear probe: multinomial logistic regression on frozen features, the representation-level
// check of docs/metrics.md ("Depth audits"). If a probe fitted on held-out data still names the
// forgotten samples' classes, the forgetting sits in the head and the features still know.

#include <torch/arg.h>
#include <torch/types.h>

#include <cstdint>

namespace unlearn {

/// Options for `LinearProbe::fit`.  Example: LinearProbe::fit(f, y, 10, ProbeOptions().l2(1e-2))
struct ProbeOptions {
  /// Weight of the squared L2 norm of the weights (not the bias), per sample.
  TORCH_ARG(double, l2) = 1e-3;
  /// L-BFGS iterations over the whole fit set.
  TORCH_ARG(int64_t, iterations) = 100;
};

class LinearProbe {
 public:
  /// Fits on `features` (N×D, any float type, CPU) and `labels` (N, int64 in [0, num_classes)).
  /// Features are standardised with the fit set's mean and standard deviation. Throws
  /// InvalidArgument on empty or mismatched inputs or labels out of range.
  static LinearProbe fit(const torch::Tensor& features, const torch::Tensor& labels,
                         int64_t num_classes, const ProbeOptions& options = {});
  /// The predicted class of every row of `features` (N×D, the fit's D).
  torch::Tensor predict(const torch::Tensor& features) const;

 private:
  torch::Tensor mean_, scale_, weight_, bias_;  // float64
};

}  // namespace unlearn
