#pragma once
// Forgetting quality: the score of the NeurIPS 2023 unlearning challenge (docs/metrics.md,
// "Forgetting quality"), from N unlearned and N retrained models (different seeds).

#include <torch/types.h>

#include <cstdint>

namespace unlearn {

/// The challenge's per-sample statistic, float64 N:
///   s = log p_y − log Σ_{k≠y} p_k = z_y − logsumexp_{k≠y} z_k
/// for logits z (the softmax normaliser cancels, so no probability is formed and s stays finite
/// for any finite logits). Needs at least 2 classes.
torch::Tensor logit_scaled_confidence(const torch::Tensor& logits, const torch::Tensor& labels);

/// The δ of the (ε, δ) estimate.
constexpr double kForgettingDelta = 1e-5;
/// The largest ε reported; also the ε of a sample whose two groups are perfectly separable.
constexpr double kMaxEpsilon = 50.0;

/// Steps 2–4 of docs/metrics.md for one forget sample: ε from the scores s of that sample under
/// N unlearned and N retrained models (two 1-D tensors; the sizes may differ). In [0, 50].
double per_sample_epsilon(const torch::Tensor& unlearned, const torch::Tensor& retrained);

/// Step 5: the score of one ε for n models per group. Buckets of width 0.5 cover
/// [0, ceil(ln(n − 1))); bucket k (k = 1, 2, ...) is [0.5(k−1), 0.5k) and earns 2 / 2^k, so
/// ε in [0, 0.5) scores 1, [0.5, 1) scores 0.5, ..., and ε at or beyond the last edge scores 0.
/// Needs n >= 3 (for n = 2 there is no bucket).
double bucket_score(double epsilon, int64_t n);

struct ForgettingQuality {
  double f = 0;           // F: the mean bucket score over the forget samples, in [0, 1]
  double score = 0;       // F · (RA_u / RA_re) · (TA_u / TA_re)
  int64_t n = 0;          // models per group, as the report must state
  torch::Tensor epsilon;  // float64 M: each forget sample's ε
};

/// The challenge score from `unlearned` and `retrained` scores, each N×M (N models, one row per
/// model; M forget samples, one column each, in the same order). RA and TA in any one unit (the
/// ratios are unit-free), the retrained ones positive.
ForgettingQuality forgetting_quality(const torch::Tensor& unlearned, const torch::Tensor& retrained,
                                     double ra_unlearned, double ra_retrained, double ta_unlearned,
                                     double ta_retrained);

}  // namespace unlearn
