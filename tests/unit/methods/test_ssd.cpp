#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "methods/tiny_problem.h"
#include "test_util.h"
#include "unlearn/core/error.h"
#include "unlearn/methods/registry.h"
#include "unlearn/methods/ssd.h"
#include "unlearn/methods/update_loop.h"

namespace unlearn {
namespace {

using test::forget_accuracy;
using test::make_problem;

TEST(Ssd, DampensAHandCheckedCase) {
  // alpha = 10: I_f = 5 is below 10 * I_D = 10 and stays; 20 and 100 are selected and scaled by
  // lambda * I_D / I_f = 1/20 and 1/100.
  auto theta = torch::tensor({1.0, 2.0, 3.0}, torch::kFloat64);
  auto all = torch::tensor({1.0, 1.0, 1.0}, torch::kFloat64);
  auto forget = torch::tensor({5.0, 20.0, 100.0}, torch::kFloat64);
  EXPECT_EQ(dampen_by_importance({theta}, {all}, {forget}, 10, 1), 2);
  EXPECT_DOUBLE_EQ(theta[0].item<double>(), 1.0);
  EXPECT_DOUBLE_EQ(theta[1].item<double>(), 0.1);
  EXPECT_DOUBLE_EQ(theta[2].item<double>(), 0.03);
  // lambda = 50: the factor is capped at 1 (2.5 -> 1), 50/100 halves.
  auto theta2 = torch::tensor({1.0, 2.0, 3.0}, torch::kFloat64);
  EXPECT_EQ(dampen_by_importance({theta2}, {all}, {forget}, 10, 50), 2);
  EXPECT_DOUBLE_EQ(theta2[1].item<double>(), 2.0);
  EXPECT_DOUBLE_EQ(theta2[2].item<double>(), 1.5);
  // Zero importance everywhere selects nothing (no 0/0).
  auto zero = torch::zeros({3}, torch::kFloat64);
  EXPECT_EQ(dampen_by_importance({theta2}, {zero}, {zero}, 10, 1), 0);
  EXPECT_DOUBLE_EQ(theta2[0].item<double>(), 1.0);
}

TEST(Ssd, LeavesWeightsWithLowForgetImportanceExactlyUnchanged) {
  auto p = make_problem(21);
  // One batch per set makes the importances independent of the batch order.
  auto opts = SsdOptions().alpha(2).batch(1000);
  CollectingObserver obs;
  auto result = Ssd(opts).run(p.model, p.udata, RunContext(), obs);

  Model probe = working_copy(p.model, RunContext());
  auto all_rows = torch::cat({p.udata.forget, p.udata.retain});
  auto imp_all = fisher_importance(probe, p.udata, all_rows, 1000, 0, torch::kCPU, obs, "D");
  auto imp_f = fisher_importance(probe, p.udata, p.udata.forget, 1000, 0, torch::kCPU, obs, "D_f");
  auto before = p.model.parameters(), after = result.model.parameters();
  int64_t kept = 0, scaled = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    auto low = imp_f[i].lt(0.5 * opts.alpha() * imp_all[i]);
    auto high = imp_f[i].gt(2 * opts.alpha() * imp_all[i]);
    EXPECT_TRUE(torch::equal(after[i].masked_select(low), before[i].masked_select(low)));
    auto expected = before[i] * (imp_all[i] / imp_f[i]).clamp_max(1.0);
    EXPECT_TRUE(
        torch::allclose(after[i].masked_select(high), expected.masked_select(high), 1e-3, 1e-6));
    kept += low.sum().item<int64_t>();
    scaled += high.sum().item<int64_t>();
  }
  EXPECT_GT(kept, 0);
  EXPECT_GT(scaled, 0);
  ASSERT_EQ(result.trace.size(), 1u);
  EXPECT_GT(result.trace[0].values.at("dampened_share"), 0.0);
  EXPECT_LT(result.trace[0].values.at("dampened_share"), 1.0);
}

TEST(Ssd, MovesForgetAccuracyDownAndNeverMutatesItsInput) {
  auto p = make_problem(22);
  Model before = p.model.clone();
  ASSERT_GT(forget_accuracy(p.model, p), 90.0);
  NullObserver obs;
  auto result = Ssd(SsdOptions().alpha(2).batch(16)).run(p.model, p.udata, RunContext(), obs);
  EXPECT_TRUE(test::same_state(p.model, before));
  std::printf("ssd forget accuracy %.1f%% -> %.1f%%\n", forget_accuracy(p.model, p),
              forget_accuracy(result.model, p));
  EXPECT_LT(forget_accuracy(result.model, p), 50.0);
}

TEST(Ssd, AnEmptyForgetSetChangesNothing) {
  auto p = make_problem(23);
  p.udata.forget = torch::empty({0}, torch::kInt64);
  NullObserver obs;
  auto result = Ssd(SsdOptions()).run(p.model, p.udata, RunContext(), obs);
  EXPECT_TRUE(test::same_state(result.model, p.model));
  EXPECT_TRUE(result.trace.empty());
}

TEST(Ssd, BadOptionsAreUsageErrorsNamingTheFlag) {
  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
           {"alpha", "0"}, {"lambda", "-1"}, {"importance-samples", "-5"}, {"batch", "0"}}) {
    try {
      make_method("ssd", {{flag, value}});
      ADD_FAILURE() << flag << ": no error";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("--" + flag), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace unlearn
