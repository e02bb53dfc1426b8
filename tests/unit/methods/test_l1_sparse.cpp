#include <gtest/gtest.h>
#include <torch/torch.h>

#include "expect_error.h"
#include "methods/tiny_problem.h"
#include "test_util.h"
#include "unlearn/methods/l1_sparse.h"
#include "unlearn/methods/registry.h"

namespace unlearn {
namespace {

using test::forget_accuracy;
using test::make_problem;
using test::retain_accuracy;

L1SparseOptions fast_l1() {
  return L1SparseOptions().gamma(1e-3).epochs(10).update(UpdateOptions().lr(0.1).batch(16));
}

double l1_norm(const Model& m) {
  double sum = 0;
  for (const auto& p : m.parameters()) sum += p.abs().sum().item<double>();
  return sum;
}

class L1SparseSeeds : public ::testing::TestWithParam<uint64_t> {};

TEST_P(L1SparseSeeds, KeepsRetainAccuracyLowersForgetAccuracyAndNeverMutatesItsInput) {
  auto p = make_problem(GetParam());
  Model before = p.model.clone();
  const double forget_before = forget_accuracy(p.model, p);
  NullObserver obs;
  auto result = L1Sparse(fast_l1()).run(p.model, p.udata, RunContext().seed(GetParam()), obs);
  EXPECT_TRUE(test::same_state(p.model, before));
  EXPECT_GT(retain_accuracy(result.model, p), 95.0);
  EXPECT_LE(forget_accuracy(result.model, p), forget_before);
  EXPECT_EQ(result.trace.size(), 50u);  // 80 retain rows / batch 16 × 10 epochs
}

INSTANTIATE_TEST_SUITE_P(Seeds, L1SparseSeeds, ::testing::Values(1, 2, 3));

TEST(L1Sparse, PenaltyWeightFallsLinearlyToZero) {
  // Worked by hand: gamma 1 over 5 steps.
  EXPECT_DOUBLE_EQ(l1_weight_at(1.0, 0, 5), 1.0);
  EXPECT_DOUBLE_EQ(l1_weight_at(1.0, 1, 5), 0.75);
  EXPECT_DOUBLE_EQ(l1_weight_at(1.0, 2, 5), 0.5);
  EXPECT_DOUBLE_EQ(l1_weight_at(1.0, 4, 5), 0.0);
  EXPECT_DOUBLE_EQ(l1_weight_at(0.2, 0, 1), 0.2);

  auto p = make_problem(4);
  NullObserver obs;
  auto result = L1Sparse(fast_l1()).run(p.model, p.udata, RunContext(), obs);
  ASSERT_EQ(result.trace.size(), 50u);
  EXPECT_DOUBLE_EQ(result.trace.front().values.at("l1_weight"), 1e-3);
  EXPECT_DOUBLE_EQ(result.trace.back().values.at("l1_weight"), 0.0);
  // The penalty is part of the loss while its weight is positive, and gone at the last step.
  const auto& first = result.trace.front().values;
  EXPECT_NEAR(first.at("loss"), first.at("retain_loss") + 1e-3 * first.at("l1_norm"), 1e-4);
  const auto& last = result.trace.back().values;
  EXPECT_NEAR(last.at("loss"), last.at("retain_loss"), 1e-6);
}

TEST(L1Sparse, ThePenaltyShrinksTheWeights) {
  auto p = make_problem(5);
  NullObserver obs;
  auto plain = L1Sparse(fast_l1().gamma(0)).run(p.model, p.udata, RunContext(), obs);
  auto sparse = L1Sparse(fast_l1().gamma(0.02)).run(p.model, p.udata, RunContext(), obs);
  std::printf("l1 norm: original %.2f, gamma 0 %.2f, gamma 0.02 %.2f\n", l1_norm(p.model),
              l1_norm(plain.model), l1_norm(sparse.model));
  EXPECT_LT(l1_norm(sparse.model), 0.9 * l1_norm(plain.model));
}

TEST(L1Sparse, AnEmptyForgetSetChangesNothing) {
  auto p = make_problem(6);
  p.udata.forget = torch::empty({0}, torch::kInt64);
  NullObserver obs;
  auto result = L1Sparse(L1SparseOptions()).run(p.model, p.udata, RunContext(), obs);
  EXPECT_TRUE(test::same_state(result.model, p.model));
  EXPECT_TRUE(result.trace.empty());
}

TEST(L1Sparse, AnEmptyRetainSetIsAnError) {
  auto p = make_problem(6);
  p.udata.retain = torch::empty({0}, torch::kInt64);
  NullObserver obs;
  test::expect_invalid(
      [&] { L1Sparse(L1SparseOptions()).run(p.model, p.udata, RunContext(), obs); },
      "retain set is empty");
}

TEST(L1Sparse, BadOptionsAreUsageErrorsNamingTheFlag) {
  auto message = [](const OptionValues& v) {
    return test::message_of<UsageError>([&] { make_method("l1-sparse", v); });
  };
  EXPECT_NE(message({{"gamma", "-1e-4"}}).find("--gamma"), std::string::npos);
  EXPECT_NE(message({{"epochs", "0"}}).find("--epochs"), std::string::npos);
  EXPECT_EQ(make_method("l1-sparse")->options_json()["gamma"], 1e-4);
}

}  // namespace
}  // namespace unlearn
