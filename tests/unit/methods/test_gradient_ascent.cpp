#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "expect_error.h"
#include "methods/tiny_problem.h"
#include "test_util.h"
#include "unlearn/methods/gradient_ascent.h"
#include "unlearn/methods/registry.h"

namespace unlearn {
namespace {

using test::forget_accuracy;
using test::make_problem;

GradientAscentOptions fast_ascent() {
  return GradientAscentOptions().epochs(10).update(UpdateOptions().lr(0.05).batch(8));
}

class GradientAscentSeeds : public ::testing::TestWithParam<uint64_t> {};

TEST_P(GradientAscentSeeds, ForgetsTheForgetSetAndNeverMutatesItsInput) {
  auto p = make_problem(GetParam());
  Model before = p.model.clone();
  ASSERT_GT(forget_accuracy(p.model, p), 90.0);
  CollectingObserver obs;
  auto result =
      GradientAscent(fast_ascent()).run(p.model, p.udata, RunContext().seed(GetParam()), obs);
  EXPECT_TRUE(test::same_state(p.model, before));
  EXPECT_LT(forget_accuracy(result.model, p), 20.0);
  // 40 forget rows in batches of 8, 10 passes.
  ASSERT_EQ(result.trace.size(), 50u);
  EXPECT_EQ(obs.records.size(), 50u);
  // The loss is the negated forget cross-entropy, which the ascent drives up.
  for (const auto& r : result.trace) {
    EXPECT_DOUBLE_EQ(r.values.at("loss"), -r.values.at("forget_loss"));
  }
  EXPECT_GT(result.trace.back().values.at("forget_loss"),
            result.trace.front().values.at("forget_loss"));
}

INSTANTIATE_TEST_SUITE_P(Seeds, GradientAscentSeeds, ::testing::Values(1, 2, 3));

TEST(GradientAscent, NeverReadsTheRetainRows) {
  auto p = make_problem(4);
  auto poisoned = p.udata;
  poisoned.inputs = p.udata.inputs.clone();
  poisoned.inputs.index_fill_(0, p.udata.retain, std::numeric_limits<float>::quiet_NaN());
  NullObserver obs;
  auto clean = GradientAscent(fast_ascent()).run(p.model, p.udata, RunContext(), obs);
  auto blind = GradientAscent(fast_ascent()).run(p.model, poisoned, RunContext(), obs);
  EXPECT_TRUE(test::same_state(clean.model, blind.model));
}

TEST(GradientAscent, AnEmptyForgetSetChangesNothing) {
  auto p = make_problem(5);
  p.udata.forget = torch::empty({0}, torch::kInt64);
  NullObserver obs;
  auto result = GradientAscent(GradientAscentOptions()).run(p.model, p.udata, RunContext(), obs);
  EXPECT_TRUE(test::same_state(result.model, p.model));
  EXPECT_TRUE(result.trace.empty());
}

TEST(GradientAscent, BadOptionsAreUsageErrorsNamingTheFlag) {
  auto message = [](const OptionValues& v) {
    return test::message_of<UsageError>([&] { make_method("gradient-ascent", v); });
  };
  EXPECT_NE(message({{"epochs", "-1"}}).find("--epochs"), std::string::npos);
  EXPECT_NE(message({{"momentum", "1"}}).find("--momentum"), std::string::npos);
  EXPECT_NE(message({{"optimizer", "rmsprop"}}).find("--optimizer"), std::string::npos);
  EXPECT_EQ(make_method("gradient-ascent")->options_json()["lr"], 1e-3);
}

}  // namespace
}  // namespace unlearn
