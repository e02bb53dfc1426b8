#include <gtest/gtest.h>
#include <torch/torch.h>

#include "expect_error.h"
#include "methods/tiny_problem.h"
#include "test_util.h"
#include "unlearn/methods/gradient_ascent.h"
#include "unlearn/methods/neggrad_plus.h"
#include "unlearn/methods/registry.h"

namespace unlearn {
namespace {

using test::forget_accuracy;
using test::make_problem;
using test::retain_accuracy;

UpdateOptions fast_update() { return UpdateOptions().lr(0.05).batch(8); }

NegGradPlusOptions fast_neggrad() {
  return NegGradPlusOptions().alpha(0.9).epochs(10).update(fast_update());
}

class NegGradPlusSeeds : public ::testing::TestWithParam<uint64_t> {};

TEST_P(NegGradPlusSeeds, ForgetsAndKeepsRetainAccuracyAndNeverMutatesItsInput) {
  auto p = make_problem(GetParam());
  Model before = p.model.clone();
  ASSERT_GT(forget_accuracy(p.model, p), 90.0);
  CollectingObserver obs;
  auto result =
      NegGradPlus(fast_neggrad()).run(p.model, p.udata, RunContext().seed(GetParam()), obs);
  EXPECT_TRUE(test::same_state(p.model, before));
  std::printf("forget %.1f%% retain %.1f%%\n", forget_accuracy(result.model, p),
              retain_accuracy(result.model, p));
  EXPECT_LT(forget_accuracy(result.model, p), 20.0);
  EXPECT_GT(retain_accuracy(result.model, p), 90.0);
  EXPECT_EQ(result.trace.size(), 50u);  // 40 forget rows / batch 8 × 10 passes
  EXPECT_EQ(obs.records.size(), 50u);
}

INSTANTIATE_TEST_SUITE_P(Seeds, NegGradPlusSeeds, ::testing::Values(1, 2, 3));

TEST(NegGradPlus, LossIsTheWeightedDifferenceOfRetainAndForgetLosses) {
  auto p = make_problem(4);
  NullObserver obs;
  const double alpha = 0.7;
  auto result =
      NegGradPlus(fast_neggrad().alpha(alpha).epochs(2)).run(p.model, p.udata, RunContext(), obs);
  ASSERT_EQ(result.trace.size(), 10u);
  for (const auto& r : result.trace) {
    const double expected =
        alpha * r.values.at("retain_loss") - (1 - alpha) * r.values.at("forget_loss");
    EXPECT_NEAR(r.values.at("loss"), expected, 1e-5);
  }
}

TEST(NegGradPlus, AlphaZeroIsGradientAscent) {
  auto p = make_problem(5);
  NullObserver obs;
  const RunContext context = RunContext().seed(9);
  auto plus = NegGradPlus(fast_neggrad().alpha(0).epochs(3)).run(p.model, p.udata, context, obs);
  auto ascent = GradientAscent(GradientAscentOptions().epochs(3).update(fast_update()))
                    .run(p.model, p.udata, context, obs);
  EXPECT_TRUE(test::same_state(plus.model, ascent.model));
}

TEST(NegGradPlus, AnEmptyForgetSetChangesNothing) {
  auto p = make_problem(6);
  p.udata.forget = torch::empty({0}, torch::kInt64);
  NullObserver obs;
  auto result = NegGradPlus(NegGradPlusOptions()).run(p.model, p.udata, RunContext(), obs);
  EXPECT_TRUE(test::same_state(result.model, p.model));
  EXPECT_TRUE(result.trace.empty());
}

TEST(NegGradPlus, AnEmptyRetainSetIsAnError) {
  auto p = make_problem(6);
  p.udata.retain = torch::empty({0}, torch::kInt64);
  NullObserver obs;
  test::expect_invalid(
      [&] { NegGradPlus(NegGradPlusOptions()).run(p.model, p.udata, RunContext(), obs); },
      "retain set is empty");
}

TEST(NegGradPlus, BadOptionsAreUsageErrorsNamingTheFlag) {
  auto message = [](const OptionValues& v) {
    return test::message_of<UsageError>([&] { make_method("neggrad-plus", v); });
  };
  EXPECT_NE(message({{"alpha", "1.5"}}).find("--alpha"), std::string::npos);
  EXPECT_NE(message({{"alpha", "-0.1"}}).find("--alpha"), std::string::npos);
  EXPECT_NE(message({{"epochs", "0"}}).find("--epochs"), std::string::npos);
  EXPECT_EQ(make_method("neggrad-plus")->options_json()["alpha"], 0.9);
}

}  // namespace
}  // namespace unlearn
