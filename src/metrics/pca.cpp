#include "unlearn/metrics/pca.h"

#include <torch/torch.h>

#include <algorithm>

#include "unlearn/core/error.h"

namespace unlearn {

PcaFit fit_pca(const torch::Tensor& features, int64_t k) {
  UNLEARN_CHECK_AS(InvalidArgument, features.dim() == 2 && features.size(0) >= 2,
                   "pca: expected at least 2 feature rows, got shape ", features.sizes());
  const int64_t n = features.size(0), d = features.size(1);
  UNLEARN_CHECK_AS(InvalidArgument, k >= 1 && k <= std::min(n, d), "pca: k must be in [1, ",
                   std::min(n, d), "], got ", k);
  PcaFit fit;
  const auto x = features.to(torch::kFloat64);
  fit.mean = x.mean(0);
  const auto centred = x - fit.mean;
  auto [u, s, vh] = torch::linalg_svd(centred, /*full_matrices=*/false);
  auto components = vh.slice(0, 0, k).t().contiguous();  // D×k
  // An SVD's signs are arbitrary: make each column's largest entry positive.
  const auto pivot = components.abs().argmax(0);
  const auto signs = components.gather(0, pivot.unsqueeze(0)).sign().clamp_min(0) * 2 - 1;
  fit.components = components * signs;
  const auto variance = s.pow(2);
  const double total = variance.sum().item<double>();
  fit.explained = total > 0 ? variance.slice(0, 0, k) / total : torch::zeros({k}, torch::kFloat64);
  return fit;
}

torch::Tensor pca_project(const PcaFit& fit, const torch::Tensor& features) {
  UNLEARN_CHECK_AS(
      InvalidArgument, features.dim() == 2 && features.size(1) == fit.components.size(0),
      "pca: expected rows of ", fit.components.size(0), " features, got shape ", features.sizes());
  return (features.to(torch::kFloat64) - fit.mean).matmul(fit.components);
}

}  // namespace unlearn
