#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>

#include "expect_error.h"
#include "unlearn/core/error.h"
#include "unlearn/metrics/mia.h"

namespace unlearn {
namespace {

using test::expect_invalid;

// Members are confident (true-class probability 0.95..0.999), non-members are not (0.05..0.3):
// an RBF-SVM separates them with room to spare.
torch::Tensor members() { return torch::linspace(0.95, 0.999, 20, torch::kDouble); }
torch::Tensor non_members() { return torch::linspace(0.05, 0.3, 20, torch::kDouble); }

TEST(TrueClassProbability, ByHand) {
  // Row 0: logits (0, 0) -> softmax (1/2, 1/2).
  // Row 1: logits (ln 3, 0) -> softmax (3/4, 1/4).
  // Row 2 (3 classes padded): logits (0, ln 2, ln 5) -> softmax (1/8, 2/8, 5/8).
  const auto logits = torch::tensor(
      {{0.0, 0.0, -1e9}, {std::log(3.0), 0.0, -1e9}, {0.0, std::log(2.0), std::log(5.0)}},
      torch::kDouble);
  const auto labels = torch::tensor({1, 0, 2}, torch::kLong);
  const auto p = true_class_probability(logits, labels);
  ASSERT_EQ(p.dim(), 1);
  ASSERT_EQ(p.size(0), 3);
  EXPECT_EQ(p.scalar_type(), torch::kDouble);
  EXPECT_NEAR(p[0].item<double>(), 0.5, 1e-12);
  EXPECT_NEAR(p[1].item<double>(), 0.75, 1e-12);
  EXPECT_NEAR(p[2].item<double>(), 0.625, 1e-12);
  // float32 logits give float64 probabilities too, within float32 rounding of the logits.
  const auto p32 = true_class_probability(logits.to(torch::kFloat), labels);
  EXPECT_EQ(p32.scalar_type(), torch::kDouble);
  EXPECT_TRUE(torch::allclose(p32, torch::tensor({0.5, 0.75, 0.625}, torch::kDouble), 0, 1e-6));
}

TEST(TrueClassProbability, InvalidInputs) {
  const auto logits = torch::zeros({2, 3});
  expect_invalid(
      [&] {
        true_class_probability(logits, torch::tensor({0, 3}, torch::kLong));
      },
      "[0, 3)");
  expect_invalid([&] { true_class_probability(logits, torch::zeros({3}, torch::kLong)); },
                 "expected 2 labels");
  expect_invalid(
      [&] { true_class_probability(torch::zeros({2}), torch::zeros({2}, torch::kLong)); },
      "logits");
}

TEST(MiaEfficacy, SeparableByHand) {
  // Forget rows that look like non-members: all 4 judged non-members -> 100%.
  const auto like_test = torch::tensor({0.1, 0.15, 0.2, 0.25}, torch::kDouble);
  EXPECT_DOUBLE_EQ(mia_efficacy(members(), non_members(), like_test), 100.0);
  // Forget rows that look like members: none judged non-members -> 0%.
  const auto like_retain = torch::tensor({0.96, 0.98, 0.99}, torch::kDouble);
  EXPECT_DOUBLE_EQ(mia_efficacy(members(), non_members(), like_retain), 0.0);
  // Two of each: 2/4 non-members -> 50%.
  const auto mixed = torch::tensor({0.1, 0.97, 0.2, 0.99}, torch::kDouble);
  EXPECT_DOUBLE_EQ(mia_efficacy(members(), non_members(), mixed), 50.0);
}

TEST(MiaEfficacy, AcceptsColumnsAndFloat32) {
  const auto mixed = torch::tensor({0.1, 0.97, 0.2, 0.99}, torch::kDouble);
  EXPECT_DOUBLE_EQ(
      mia_efficacy(members().unsqueeze(1), non_members().unsqueeze(1), mixed.unsqueeze(1)), 50.0);
  EXPECT_DOUBLE_EQ(mia_efficacy(members().to(torch::kFloat), non_members().to(torch::kFloat),
                                mixed.to(torch::kFloat)),
                   50.0);
}

TEST(MiaEfficacy, TwoFeaturesByHand) {
  // Members sit near (1, 0), non-members near (0, 1); forget: one of each -> 50%.
  const auto m = torch::stack({members(), 1.0 - members()}, 1);
  const auto t = torch::stack({non_members(), 1.0 - non_members()}, 1);
  const auto forget = torch::tensor({{0.98, 0.02}, {0.1, 0.9}}, torch::kDouble);
  EXPECT_DOUBLE_EQ(mia_efficacy(m, t, forget), 50.0);
}

TEST(MiaEfficacy, FewerRetainThanTestUsesAllRetain) {
  // 5 members against 40 non-members: 5 non-members are drawn, the attack still separates.
  const auto m = torch::tensor({0.96, 0.97, 0.98, 0.99, 0.995}, torch::kDouble);
  const auto t = torch::linspace(0.05, 0.3, 40, torch::kDouble);
  const auto forget = torch::tensor({0.1, 0.97, 0.2, 0.99}, torch::kDouble);
  EXPECT_DOUBLE_EQ(mia_efficacy(m, t, forget, MiaOptions().seed(5)), 50.0);
}

TEST(MiaEfficacy, SeededSubsampleIsDeterministic) {
  torch::manual_seed(0);
  // Overlapping classes, so which 100 of the 300 retain rows are drawn changes the attack.
  const auto retain = 0.5 + 0.5 * torch::rand({300}, torch::kDouble);
  const auto test = 0.8 * torch::rand({100}, torch::kDouble);
  const auto forget = torch::rand({50}, torch::kDouble);
  for (uint64_t seed : {0ULL, 1ULL, 42ULL}) {
    const double a = mia_efficacy(retain, test, forget, MiaOptions().seed(seed));
    const double b = mia_efficacy(retain, test, forget, MiaOptions().seed(seed));
    EXPECT_DOUBLE_EQ(a, b) << "seed " << seed;
    EXPECT_GE(a, 0.0);
    EXPECT_LE(a, 100.0);
  }
}

TEST(MiaEfficacy, MaxSamplesCapsBothClasses) {
  // 4 of the 20 members and 4 of the 20 non-members still separate the two clusters.
  const auto mixed = torch::tensor({0.1, 0.97, 0.2, 0.99}, torch::kDouble);
  for (uint64_t seed : {0ULL, 7ULL}) {
    EXPECT_DOUBLE_EQ(
        mia_efficacy(members(), non_members(), mixed, MiaOptions().max_samples(4).seed(seed)),
        50.0);
  }
}

TEST(MiaEfficacy, EmptyForgetIsNaN) {
  EXPECT_TRUE(std::isnan(mia_efficacy(members(), non_members(), torch::zeros({0}))));
  EXPECT_TRUE(std::isnan(
      mia_efficacy(members().unsqueeze(1), non_members().unsqueeze(1), torch::zeros({0, 1}))));
}

TEST(MiaEfficacy, KernelCacheSizeChangesNothingButSpeed) {
  // Overlapping members and non-members, so the solver revisits many kernel columns. A 0.01 MB
  // cache holds two of the 1 200 columns (libsvm's minimum), so it must recompute them.
  auto gen = at::detail::createCPUGenerator(3);
  const auto m = 1.0 - 0.5 * torch::rand({600}, gen, torch::kDouble).pow(4);
  const auto t = 1.0 - 0.9 * torch::rand({600}, gen, torch::kDouble).pow(2);
  const auto f = torch::linspace(0.1, 1.0, 50, torch::kDouble);
  const double roomy = mia_efficacy(m, t, f, MiaOptions().cache_mb(100));
  EXPECT_GT(roomy, 0.0);
  EXPECT_LT(roomy, 100.0);
  EXPECT_EQ(mia_efficacy(m, t, f, MiaOptions().cache_mb(0.01)), roomy);
}

TEST(MiaEfficacy, InvalidInputs) {
  const auto m = members();
  const auto t = non_members();
  const auto f = torch::tensor({0.5});
  expect_invalid([&] { mia_efficacy(torch::zeros({2, 2, 2}), t, f); }, "retain_features");
  expect_invalid([&] { mia_efficacy(m, torch::zeros({3}, torch::kLong), f); }, "test_features");
  expect_invalid([&] { mia_efficacy(m, t, torch::zeros({1, 2})); }, "forget_features: 2 features");
  expect_invalid([&] { mia_efficacy(torch::zeros({0}), t, f); }, "retain_features: no samples");
  expect_invalid([&] { mia_efficacy(m, torch::zeros({0}), f); }, "test_features: no samples");
  expect_invalid([&] { mia_efficacy(m, t, torch::tensor({NAN})); }, "finite");
  expect_invalid([&] { mia_efficacy(m, t, f, MiaOptions().c(0)); }, "c: expected > 0");
  expect_invalid([&] { mia_efficacy(m, t, f, MiaOptions().gamma(-1)); }, "gamma");
  expect_invalid([&] { mia_efficacy(m, t, f, MiaOptions().max_samples(-1)); }, "max_samples");
  expect_invalid([&] { mia_efficacy(m, t, f, MiaOptions().cache_mb(0)); }, "cache_mb");
  expect_invalid([&] { mia_efficacy(torch::Tensor(), t, f); }, "retain_features is undefined");
}

TEST(SoftmaxEntropy, ByHand) {
  // Uniform over 4 classes: ln 4. One-hot (others at −1000, exp underflows to 0): 0.
  // (¾, ¼): −¾ ln ¾ − ¼ ln ¼ ≈ 0.562335.
  const auto logits = torch::tensor(
      {{0.0, 0.0, 0.0, 0.0}, {0.0, -1000.0, -1000.0, -1000.0}, {std::log(3.0), 0.0, -1e9, -1e9}},
      torch::kDouble);
  const auto h = softmax_entropy(logits);
  EXPECT_NEAR(h[0].item<double>(), std::log(4.0), 1e-12);
  EXPECT_NEAR(h[1].item<double>(), 0.0, 1e-12);
  EXPECT_NEAR(h[2].item<double>(), -0.75 * std::log(0.75) - 0.25 * std::log(0.25), 1e-12);
  expect_invalid([] { softmax_entropy(torch::zeros({3})); }, "logits");
}

TEST(MiaEntropy, BoundaryAtTheMidpointByHand) {
  // Members' entropies 0.05..0.15, non-members' 0.95..1.05 (20 each): mirror images about 0.55.
  // Balanced weights and a penalty on the slope only keep that symmetry, so the fitted boundary
  // w·h + b = 0 is h = 0.55, with members (low entropy) on the positive side.
  // Forget {0.2, 0.5, 0.53, 0.6, 0.9}: members are those below 0.55 -> 3 of 5 = 60%.
  const auto m = torch::linspace(0.05, 0.15, 20, torch::kDouble);
  const auto t = torch::linspace(0.95, 1.05, 20, torch::kDouble);
  const auto forget = torch::tensor({0.2, 0.5, 0.53, 0.6, 0.9}, torch::kDouble);
  EXPECT_DOUBLE_EQ(mia_entropy(m, t, forget), 60.0);
  // The opposite convention of mia_efficacy on the same kind of data: all-member forget rows give
  // 100 here.
  EXPECT_DOUBLE_EQ(mia_entropy(m, t, torch::tensor({0.1, 0.12}, torch::kDouble)), 100.0);
  EXPECT_TRUE(std::isnan(mia_entropy(m, t, torch::zeros({0}))));
}

TEST(MiaEntropy, BalancedWeightsIgnoreClassSizes) {
  // 10 members all at 0.1 and 40 non-members all at 1.0. Balanced weights give each class a
  // total weight of 25, the same objective as 1 member against 1 non-member with weight 25 each:
  // symmetric about 0.55, so 0.5 is a member and 0.6 is not -> 50%.
  const auto m = torch::full({10}, 0.1, torch::kDouble);
  const auto t = torch::full({40}, 1.0, torch::kDouble);
  EXPECT_DOUBLE_EQ(mia_entropy(m, t, torch::tensor({0.5, 0.6}, torch::kDouble)), 50.0);
}

TEST(MiaEntropy, SeededAndInRange) {
  torch::manual_seed(1);
  const auto retain = 0.8 * torch::rand({300}, torch::kDouble);
  const auto test = 0.4 + 0.8 * torch::rand({100}, torch::kDouble);
  const auto forget = torch::rand({50}, torch::kDouble);
  for (uint64_t seed : {0ULL, 5ULL}) {
    const auto opts = MiaOptions().seed(seed).max_samples(40);
    const double a = mia_entropy(retain, test, forget, opts);
    EXPECT_DOUBLE_EQ(a, mia_entropy(retain, test, forget, opts));
    EXPECT_GE(a, 0.0);
    EXPECT_LE(a, 100.0);
  }
  expect_invalid([&] { mia_entropy(retain, torch::zeros({0}), forget); }, "mia_entropy");
}

}  // namespace
}  // namespace unlearn
