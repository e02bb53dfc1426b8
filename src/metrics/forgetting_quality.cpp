#include "unlearn/metrics/forgetting_quality.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "unlearn/core/error.h"

namespace unlearn {

torch::Tensor logit_scaled_confidence(const torch::Tensor& logits, const torch::Tensor& labels) {
  constexpr const char* kFn = "logit_scaled_confidence";
  UNLEARN_CHECK(logits.defined() && labels.defined(), kFn, ": logits or labels is undefined");
  UNLEARN_CHECK(logits.dim() == 2 && logits.size(1) >= 2, kFn,
                ": logits: expected shape N×C with C >= 2, got ", logits.sizes());
  UNLEARN_CHECK(logits.is_floating_point(), kFn, ": logits: expected a floating dtype, got ",
                logits.scalar_type());
  UNLEARN_CHECK(labels.dim() == 1 && labels.size(0) == logits.size(0), kFn, ": labels: expected ",
                logits.size(0), " labels (one per logit row), got shape ", labels.sizes());
  UNLEARN_CHECK(at::isIntegralType(labels.scalar_type(), /*includeBool=*/false), kFn,
                ": labels: expected an integer dtype, got ", labels.scalar_type());
  if (labels.numel() == 0) return torch::empty({0}, torch::kDouble);
  const auto y = labels.to(torch::kCPU, torch::kLong).unsqueeze(1);
  const int64_t lo = y.min().item<int64_t>();
  const int64_t hi = y.max().item<int64_t>();
  UNLEARN_CHECK(lo >= 0 && hi < logits.size(1), kFn, ": labels: class indices must lie in [0, ",
                logits.size(1), "), got [", lo, ", ", hi, "]");
  const auto z = logits.to(torch::kCPU, torch::kDouble);
  const auto z_true = z.gather(1, y).squeeze(1);
  // logsumexp over the other classes: the true class is masked out with −inf.
  const auto others = z.scatter(1, y, -std::numeric_limits<double>::infinity());
  return (z_true - torch::logsumexp(others, 1)).contiguous();
}

namespace {

constexpr const char* kEpsFn = "per_sample_epsilon";

std::vector<double> sorted_scores(const torch::Tensor& t, const char* name) {
  UNLEARN_CHECK(t.defined(), kEpsFn, ": ", name, " is undefined");
  UNLEARN_CHECK(t.dim() == 1 && t.size(0) >= 1, kEpsFn, ": ", name,
                ": expected a non-empty 1-D tensor of scores, got shape ", t.sizes());
  UNLEARN_CHECK(t.is_floating_point(), kEpsFn, ": ", name, ": expected a floating dtype, got ",
                t.scalar_type());
  const auto d = t.to(torch::kCPU, torch::kDouble).contiguous();
  std::vector<double> v(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
  for (double x : v) {
    UNLEARN_CHECK(std::isfinite(x), kEpsFn, ": ", name, ": scores must be finite, got ", x);
  }
  std::sort(v.begin(), v.end());
  return v;
}

double median_of_sorted(const std::vector<double>& v) {
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Population standard deviation.
double population_std(const std::vector<double>& v) {
  double mean = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return std::sqrt(ss / static_cast<double>(v.size()));
}

// ε of one decision rule from its true-positive and false-positive counts (step 4). Returns −1
// for a dropped rule (exactly one of FPR, FNR zero) and kMaxEpsilon for a perfect one (both zero).
double rule_epsilon(int64_t tp, int64_t fp, int64_t n_pos, int64_t n_neg) {
  const bool no_fn = tp == n_pos;
  const bool no_fp = fp == 0;
  if (no_fn && no_fp) return kMaxEpsilon;
  if (no_fn || no_fp) return -1.0;
  const double fnr = 1.0 - static_cast<double>(tp) / static_cast<double>(n_pos);
  const double fpr = static_cast<double>(fp) / static_cast<double>(n_neg);
  double eps = 0.0;
  // A term whose log argument is not positive is undefined (the rule is worse than chance that
  // way round) and does not count.
  const double a = 1.0 - kForgettingDelta - fpr;
  if (a > 0) eps = std::max(eps, std::log(a) - std::log(fnr));
  const double b = 1.0 - kForgettingDelta - fnr;
  if (b > 0) eps = std::max(eps, std::log(b) - std::log(fpr));
  return eps;
}

}  // namespace

double per_sample_epsilon(const torch::Tensor& unlearned, const torch::Tensor& retrained) {
  const auto u = sorted_scores(unlearned, "unlearned");
  const auto r = sorted_scores(retrained, "retrained");
  // Step 2: the group with the larger median is "positive" (the unlearned group on a tie).
  const bool unlearned_positive = median_of_sorted(u) >= median_of_sorted(r);
  const auto& pos = unlearned_positive ? u : r;
  const auto& neg = unlearned_positive ? r : u;

  // Step 3: a group that barely varies against one that does is treated as fully separable.
  const double s_pos = population_std(pos);
  const double s_neg = population_std(neg);
  const double larger = std::max(s_pos, s_neg);
  if (larger > 0 && std::min(s_pos, s_neg) / larger < 0.01) return kMaxEpsilon;

  // Step 4: the grid is 101 points t_j = lo + j (hi − lo) / 100, j = 0..100, spanning the pooled
  // scores [lo, hi] in steps of 1/100 of their range. The rules are
  //   - single threshold j: "positive iff s >= t_j"                 (101 rules);
  //   - interval a < b:     "positive iff t_a <= s <= t_b"           (5050 rules).
  // A rule's true positives are the positive scores it accepts, its false positives the negative
  // ones it accepts; FNR = 1 − TP / |pos|, FPR = FP / |neg|.
  const double lo = std::min(pos.front(), neg.front());
  const double hi = std::max(pos.back(), neg.back());
  if (lo == hi) return 0.0;  // every score equal: no rule tells the groups apart
  constexpr int kSteps = 100;
  std::vector<double> grid(kSteps + 1);
  for (int j = 0; j <= kSteps; ++j) grid[j] = lo + (hi - lo) * j / kSteps;
  grid[kSteps] = hi;
  // Counts of scores >= t_j and > t_j, so any rule's counts are differences of two of them.
  auto count_ge = [](const std::vector<double>& v, double t) {
    return static_cast<int64_t>(v.end() - std::lower_bound(v.begin(), v.end(), t));
  };
  auto count_gt = [](const std::vector<double>& v, double t) {
    return static_cast<int64_t>(v.end() - std::upper_bound(v.begin(), v.end(), t));
  };
  std::vector<int64_t> pos_ge(kSteps + 1), pos_gt(kSteps + 1), neg_ge(kSteps + 1),
      neg_gt(kSteps + 1);
  for (int j = 0; j <= kSteps; ++j) {
    pos_ge[j] = count_ge(pos, grid[j]);
    pos_gt[j] = count_gt(pos, grid[j]);
    neg_ge[j] = count_ge(neg, grid[j]);
    neg_gt[j] = count_gt(neg, grid[j]);
  }
  const auto n_pos = static_cast<int64_t>(pos.size());
  const auto n_neg = static_cast<int64_t>(neg.size());
  double best = 0.0;
  for (int j = 0; j <= kSteps; ++j) {
    best = std::max(best, rule_epsilon(pos_ge[j], neg_ge[j], n_pos, n_neg));
  }
  for (int a = 0; a <= kSteps && best < kMaxEpsilon; ++a) {
    for (int b = a + 1; b <= kSteps; ++b) {
      best =
          std::max(best, rule_epsilon(pos_ge[a] - pos_gt[b], neg_ge[a] - neg_gt[b], n_pos, n_neg));
    }
  }
  return std::clamp(best, 0.0, kMaxEpsilon);
}

double bucket_score(double epsilon, int64_t n) {
  UNLEARN_CHECK(n >= 3, "bucket_score: n: expected at least 3 models per group, got ", n);
  UNLEARN_CHECK(epsilon >= 0 && !std::isnan(epsilon),
                "bucket_score: epsilon: expected a value >= 0, got ", epsilon);
  const double last_edge = std::ceil(std::log(static_cast<double>(n - 1)));
  if (epsilon >= last_edge) return 0.0;
  const double k = std::floor(epsilon / 0.5) + 1.0;  // 1-based bucket index
  return 2.0 / std::pow(2.0, k);
}

ForgettingQuality forgetting_quality(const torch::Tensor& unlearned, const torch::Tensor& retrained,
                                     double ra_unlearned, double ra_retrained, double ta_unlearned,
                                     double ta_retrained) {
  constexpr const char* kFn = "forgetting_quality";
  UNLEARN_CHECK(unlearned.defined() && retrained.defined(), kFn, ": scores are undefined");
  UNLEARN_CHECK(unlearned.dim() == 2 && retrained.dim() == 2, kFn,
                ": expected N×M score matrices (models × forget samples), got ", unlearned.sizes(),
                " and ", retrained.sizes());
  UNLEARN_CHECK(unlearned.sizes() == retrained.sizes(), kFn, ": unlearned scores have shape ",
                unlearned.sizes(), " but retrained scores ", retrained.sizes(),
                " (expected the same N models per group and the same M forget samples)");
  UNLEARN_CHECK(unlearned.size(1) >= 1, kFn, ": no forget samples");
  UNLEARN_CHECK(ra_retrained > 0 && ta_retrained > 0, kFn,
                ": the retrained RA and TA must be positive, got ", ra_retrained, " and ",
                ta_retrained);
  const int64_t n = unlearned.size(0);
  const int64_t m = unlearned.size(1);
  ForgettingQuality q;
  q.n = n;
  q.epsilon = torch::empty({m}, torch::kDouble);
  auto eps = q.epsilon.accessor<double, 1>();
  double total = 0;
  for (int64_t i = 0; i < m; ++i) {
    eps[i] = per_sample_epsilon(unlearned.select(1, i), retrained.select(1, i));
    total += bucket_score(eps[i], n);
  }
  q.f = total / static_cast<double>(m);
  q.score = q.f * (ra_unlearned / ra_retrained) * (ta_unlearned / ta_retrained);
  return q;
}

}  // namespace unlearn
