#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "expect_error.h"
#include "methods/tiny_problem.h"
#include "test_util.h"
#include "unlearn/methods/random_label.h"
#include "unlearn/methods/registry.h"

namespace unlearn {
namespace {

using test::forget_accuracy;
using test::make_problem;
using test::retain_accuracy;

RandomLabelOptions fast_relabel() {
  return RandomLabelOptions().epochs(10).update(UpdateOptions().lr(0.05).batch(8));
}

class RandomLabelSeeds : public ::testing::TestWithParam<uint64_t> {};

TEST_P(RandomLabelSeeds, ForgetsAndKeepsRetainAccuracyAndNeverMutatesItsInput) {
  auto p = make_problem(GetParam());
  Model before = p.model.clone();
  ASSERT_GT(forget_accuracy(p.model, p), 90.0);
  CollectingObserver obs;
  auto result =
      RandomLabel(fast_relabel()).run(p.model, p.udata, RunContext().seed(GetParam()), obs);
  EXPECT_TRUE(test::same_state(p.model, before));
  EXPECT_LT(forget_accuracy(result.model, p), 20.0);
  EXPECT_GT(retain_accuracy(result.model, p), 90.0);
  ASSERT_EQ(result.trace.size(), 50u);  // 40 forget rows / batch 8 × 10 passes
  EXPECT_TRUE(result.trace[0].values.count("retain_loss"));
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomLabelSeeds, ::testing::Values(1, 2, 3));

TEST(RandomLabel, NeverAssignsTheTrueLabelAndDrawsEveryOtherClassEvenly) {
  constexpr int64_t kClasses = 4, kDraws = 8000;
  auto gen = at::detail::createCPUGenerator(3);
  auto labels = torch::arange(kDraws, torch::kInt64).remainder(kClasses);
  auto wrong = random_wrong_labels(labels, kClasses, gen);
  EXPECT_EQ(wrong.ne(labels).sum().item<int64_t>(), kDraws);
  EXPECT_EQ(wrong.min().item<int64_t>(), 0);
  EXPECT_EQ(wrong.max().item<int64_t>(), kClasses - 1);
  // Each true class (2000 draws) spreads over its 3 wrong classes: 666.7 each, sd ≈ 21.
  for (int64_t y = 0; y < kClasses; ++y) {
    auto drawn = wrong.index({labels.eq(y)});
    for (int64_t k = 0; k < kClasses; ++k) {
      if (k == y) continue;
      EXPECT_NEAR(drawn.eq(k).sum().item<double>(), 2000.0 / 3, 100) << y << " -> " << k;
    }
  }
  // Two classes leave one wrong label; one class leaves none.
  auto two = random_wrong_labels(torch::tensor({0, 1, 1, 0}, torch::kInt64), 2, gen);
  EXPECT_TRUE(torch::equal(two, torch::tensor({1, 0, 0, 1}, torch::kInt64)));
  test::expect_invalid([&] { random_wrong_labels(torch::zeros({3}, torch::kInt64), 1, gen); },
                       "no wrong label");
}

TEST(RandomLabel, RetainWeightZeroNeedsNoRetainSet) {
  auto p = make_problem(4);
  p.udata.retain = torch::empty({0}, torch::kInt64);
  NullObserver obs;
  auto result =
      RandomLabel(fast_relabel().retain_weight(0)).run(p.model, p.udata, RunContext(), obs);
  EXPECT_LT(forget_accuracy(result.model, p), 50.0);
  EXPECT_FALSE(result.trace[0].values.count("retain_loss"));
  test::expect_invalid(
      [&] { RandomLabel(fast_relabel()).run(p.model, p.udata, RunContext(), obs); },
      "retain set is empty");
}

TEST(RandomLabel, AnEmptyForgetSetChangesNothing) {
  auto p = make_problem(5);
  p.udata.forget = torch::empty({0}, torch::kInt64);
  NullObserver obs;
  auto result = RandomLabel(RandomLabelOptions()).run(p.model, p.udata, RunContext(), obs);
  EXPECT_TRUE(test::same_state(result.model, p.model));
  EXPECT_TRUE(result.trace.empty());
}

TEST(RandomLabel, BadOptionsAreUsageErrorsNamingTheFlag) {
  auto message = [](const OptionValues& v) {
    return test::message_of<UsageError>([&] { make_method("random-label", v); });
  };
  EXPECT_NE(message({{"retain-weight", "-1"}}).find("--retain-weight"), std::string::npos);
  EXPECT_NE(message({{"epochs", "0"}}).find("--epochs"), std::string::npos);
  EXPECT_NE(message({{"weight-decay", "-1"}}).find("--weight-decay"), std::string::npos);
}

}  // namespace
}  // namespace unlearn
