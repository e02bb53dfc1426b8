#pragma once
// Principal component analysis of feature rows, for the report's 2-D view of how the forget
// set's penultimate features moved. Fitted once and applied to several models' features, so the
// views share their axes.

#include <torch/types.h>

#include <cstdint>

namespace unlearn {

struct PcaFit {
  torch::Tensor mean;        // D, float64
  torch::Tensor components;  // D×k, orthonormal columns, float64
  torch::Tensor explained;   // k, share of the total variance each component explains (0..1)
};

/// The top `k` principal components of `features` (N×D), by a thin SVD of the centred rows.
/// Each component's sign is fixed so that its largest-magnitude entry is positive, so equal
/// inputs give equal axes. Throws InvalidArgument when N < 2 or k is not in [1, min(N, D)].
PcaFit fit_pca(const torch::Tensor& features, int64_t k);

/// `features` (M×D) in the fitted components' coordinates: M×k, float64.
torch::Tensor pca_project(const PcaFit& fit, const torch::Tensor& features);

}  // namespace unlearn
