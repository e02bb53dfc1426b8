#include "unlearn/metrics/score_histogram.h"

#include <torch/torch.h>

#include "unlearn/core/error.h"

namespace unlearn {

std::vector<double> score_histogram(const torch::Tensor& scores, int64_t bins) {
  UNLEARN_CHECK_AS(InvalidArgument, bins >= 1, "score_histogram: bins must be >= 1, got ", bins);
  std::vector<double> shares(static_cast<size_t>(bins), 0.0);
  auto s = scores.reshape({-1}).to(torch::kFloat64);
  s = s.index_select(0, torch::nonzero(s.isnan().logical_not()).reshape({-1}));
  if (s.numel() == 0) return shares;
  // bin = floor(score * bins), with score 1 (and anything above) in the last bin.
  const auto index = (s.clamp(0.0, 1.0) * static_cast<double>(bins))
                         .floor()
                         .clamp(0, static_cast<double>(bins - 1))
                         .to(torch::kLong);
  const auto counts = torch::bincount(index, {}, bins).to(torch::kFloat64);
  const double n = static_cast<double>(s.numel());
  const auto* c = counts.data_ptr<double>();
  for (int64_t b = 0; b < bins; ++b) shares[b] = 100.0 * c[b] / n;
  return shares;
}

}  // namespace unlearn
