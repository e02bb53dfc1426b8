#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "expect_error.h"
#include "unlearn/metrics/forgetting_quality.h"

namespace unlearn {
namespace {

using test::expect_invalid;

torch::Tensor scores(const std::vector<double>& v) { return torch::tensor(v, torch::kDouble); }

TEST(LogitScaledConfidence, ByHand) {
  // Logits (ln 3, 0, 0): softmax (3/5, 1/5, 1/5).
  //   label 0: ln(3/5) − ln(2/5) = ln(3/2);  label 1: ln(1/5) − ln(4/5) = −ln 4.
  // Logits (1000, 0): the naive form overflows; here s = 1000 − 0 = 1000 (and −1000 for label 1).
  const auto logits = torch::tensor({{std::log(3.0), 0.0, 0.0},
                                     {std::log(3.0), 0.0, 0.0},
                                     {1000.0, 0.0, -1e30},
                                     {1000.0, 0.0, -1e30}},
                                    torch::kDouble);
  const auto s = logit_scaled_confidence(logits, torch::tensor({0, 1, 0, 1}, torch::kLong));
  EXPECT_NEAR(s[0].item<double>(), std::log(1.5), 1e-12);
  EXPECT_NEAR(s[1].item<double>(), -std::log(4.0), 1e-12);
  EXPECT_DOUBLE_EQ(s[2].item<double>(), 1000.0);
  EXPECT_DOUBLE_EQ(s[3].item<double>(), -1000.0);
  expect_invalid(
      [] {
        logit_scaled_confidence(torch::zeros({2, 1}), torch::zeros({2}, torch::kLong));
      },
      "C >= 2");
}

TEST(PerSampleEpsilon, SmallCaseByHand) {
  // Unlearned {1, 2, 3, 4} (median 2.5) is positive, retrained {0, 1, 2, 3} (median 1.5)
  // negative; equal spreads, so the scan runs. The grid spans [0, 4] in steps of 0.04. Every rule
  // accepts the scores of some integer range, so (TP of 4, FP of 4) can only be:
  //   s >= t, t in (1, 2]:  TP 3, FP 2 -> FNR ¼, FPR ½
  //   s >= t, t in (2, 3]:  TP 2, FP 1 -> FNR ½, FPR ¼
  //   s >= t, t in (0, 1]:  TP 4, FP 3 -> FNR 0 only: dropped;  t in (3, 4]: FP 0 only: dropped
  //   intervals add ranges inside [1, 3] (TP = FP, both terms negative) and ranges through 0
  //   (TP < FP, both terms negative).
  // Best: FNR ¼, FPR ½ (or the mirror): ε = ln(1 − δ − ½) − ln ¼ = ln(2 − 4·10⁻⁵) ≈ 0.693127.
  const double eps = per_sample_epsilon(scores({1, 2, 3, 4}), scores({0, 1, 2, 3}));
  EXPECT_NEAR(eps, std::log((0.5 - 1e-5) / 0.25), 1e-12);
  // With N = 4, buckets of 0.5 run to ceil(ln 3) = 2: ε ≈ 0.69 is in bucket 2, scoring 2/4.
  EXPECT_DOUBLE_EQ(bucket_score(eps, 4), 0.5);
}

TEST(PerSampleEpsilon, IdenticalIsZeroDisjointIsFifty) {
  // Identical samples: every rule has TP = FP, so FPR = 1 − FNR and both terms are negative.
  EXPECT_DOUBLE_EQ(per_sample_epsilon(scores({0, 1, 2, 3}), scores({0, 1, 2, 3})), 0.0);
  // Disjoint: a threshold between them has FPR = FNR = 0 (ε = ∞), clipped to 50.
  EXPECT_DOUBLE_EQ(per_sample_epsilon(scores({10, 11, 12, 13}), scores({0, 1, 2, 3})), 50.0);
  EXPECT_DOUBLE_EQ(per_sample_epsilon(scores({0, 1, 2, 3}), scores({10, 11, 12, 13})), 50.0);
  // All scores equal: nothing tells the groups apart.
  EXPECT_DOUBLE_EQ(per_sample_epsilon(scores({2, 2, 2}), scores({2, 2, 2})), 0.0);
}

TEST(PerSampleEpsilon, SpreadRatioRule) {
  // Retrained constant (spread 0) against a spread-out unlearned group: ratio 0 < 0.01 -> 50.
  EXPECT_DOUBLE_EQ(per_sample_epsilon(scores({0, 1, 2, 3}), scores({1, 1, 1, 1})), 50.0);
  // Spreads 1.118 and 0.02236: ratio 0.02 is not below 0.01, so the scan decides (and the
  // groups overlap around 1.5, so ε is finite).
  const double eps = per_sample_epsilon(scores({0, 1, 2, 3}), scores({1.47, 1.49, 1.51, 1.53}));
  EXPECT_LT(eps, 50.0);
}

TEST(BucketScore, ByHand) {
  // N = 4: edges 0, 0.5, 1, 1.5, 2 (= ceil(ln 3)); scores 1, ½, ¼, ⅛, then 0.
  EXPECT_DOUBLE_EQ(bucket_score(0.0, 4), 1.0);
  EXPECT_DOUBLE_EQ(bucket_score(0.49, 4), 1.0);
  EXPECT_DOUBLE_EQ(bucket_score(0.5, 4), 0.5);
  EXPECT_DOUBLE_EQ(bucket_score(1.2, 4), 0.25);
  EXPECT_DOUBLE_EQ(bucket_score(1.99, 4), 0.125);
  EXPECT_DOUBLE_EQ(bucket_score(2.0, 4), 0.0);
  EXPECT_DOUBLE_EQ(bucket_score(50.0, 4), 0.0);
  // N = 512 (the challenge): ceil(ln 511) = 7, 14 buckets; ε = 6.9 is in bucket 14.
  EXPECT_DOUBLE_EQ(bucket_score(6.9, 512), 2.0 / std::pow(2.0, 14));
  EXPECT_DOUBLE_EQ(bucket_score(7.0, 512), 0.0);
  expect_invalid([] { bucket_score(0.0, 2); }, "at least 3");
  expect_invalid([] { bucket_score(-1.0, 4); }, "epsilon");
}

TEST(ForgettingQuality, ByHand) {
  // N = 4 models, M = 2 forget samples (columns):
  //   sample 0: unlearned {1,2,3,4} vs retrained {0,1,2,3}: ε ≈ 0.693, score ½ (above);
  //   sample 1: identical: ε = 0, score 1.
  // F = (½ + 1) / 2 = 0.75; score = 0.75 · (95/95) · (88/80) = 0.825.
  const auto u = torch::tensor({{1.0, 0.0}, {2.0, 1.0}, {3.0, 2.0}, {4.0, 3.0}});
  const auto r = torch::tensor({{0.0, 0.0}, {1.0, 1.0}, {2.0, 2.0}, {3.0, 3.0}});
  const auto q = forgetting_quality(u, r, 95, 95, 88, 80);
  EXPECT_EQ(q.n, 4);
  EXPECT_DOUBLE_EQ(q.f, 0.75);
  EXPECT_NEAR(q.score, 0.825, 1e-12);
  EXPECT_NEAR(q.epsilon[0].item<double>(), std::log((0.5 - 1e-5) / 0.25), 1e-12);
  EXPECT_DOUBLE_EQ(q.epsilon[1].item<double>(), 0.0);
}

TEST(ForgettingQuality, IdenticalScoresOneOverlapBeatsShiftDisjointScoresZero) {
  torch::manual_seed(11);
  const int64_t n = 32;
  const int64_t m = 20;
  const auto a = torch::randn({n, m}, torch::kDouble);
  const auto b = torch::randn({n, m}, torch::kDouble);
  // Identical samples: ε = 0 everywhere, F = 1.
  EXPECT_DOUBLE_EQ(forgetting_quality(a, a, 90, 90, 80, 80).f, 1.0);
  // Two draws of one distribution: the maximum over 5151 rules on 32 scores still finds some ε
  // (small N is noisy: F ≈ 0.13 here), but less than for a shift by one standard deviation (≈
  // 0.08).
  const double same = forgetting_quality(a, b, 90, 90, 80, 80).f;
  const double shifted = forgetting_quality(a + 1.0, b, 90, 90, 80, 80).f;
  EXPECT_GT(same, 0.0);
  EXPECT_GT(same, shifted) << same << " vs " << shifted;
  // Disjoint: ε = 50 for every sample, F = 0.
  const auto apart = forgetting_quality(a + 100, b, 90, 90, 80, 80);
  EXPECT_DOUBLE_EQ(apart.f, 0.0);
  EXPECT_DOUBLE_EQ(apart.score, 0.0);
}

TEST(ForgettingQuality, InvalidInputs) {
  expect_invalid(
      [] {
        forgetting_quality(torch::zeros({4, 2}), torch::zeros({5, 2}), 1, 1, 1, 1);
      },
      "same N models");
  expect_invalid([] { forgetting_quality(torch::zeros({4}), torch::zeros({4}), 1, 1, 1, 1); },
                 "N×M");
  expect_invalid(
      [] {
        forgetting_quality(torch::zeros({4, 2}), torch::zeros({4, 2}), 1, 0, 1, 1);
      },
      "positive");
  expect_invalid([] { per_sample_epsilon(torch::tensor({NAN}), torch::tensor({1.0})); }, "finite");
}

}  // namespace
}  // namespace unlearn
