#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>

#include "expect_error.h"
#include "unlearn/core/error.h"
#include "unlearn/metrics/accuracy.h"

namespace unlearn {
namespace {

using test::expect_invalid;

TEST(Accuracy, FourRowsByHand) {
  // Row argmaxes: 0, 1, 2, 1. Labels 0, 1, 1, 1 -> rows 0, 1, 3 right, row 2 wrong: 3/4 = 75%.
  const auto logits =
      torch::tensor({{2.0, 1.0, 0.0}, {0.0, 3.0, 1.0}, {0.5, 0.2, 0.9}, {1.0, 4.0, 2.0}});
  const auto labels = torch::tensor({0, 1, 1, 1}, torch::kLong);
  EXPECT_DOUBLE_EQ(accuracy_percent(logits, labels), 75.0);
  EXPECT_DOUBLE_EQ(accuracy_percent(logits.to(torch::kFloat), labels.to(torch::kInt)), 75.0);
}

TEST(Accuracy, FromPredictionsByHand) {
  // Predictions 0, 2, 2, 1 against labels 0, 1, 2, 2: positions 0 and 2 agree -> 2/4 = 50%.
  const auto predictions = torch::tensor({0, 2, 2, 1}, torch::kLong);
  const auto labels = torch::tensor({0, 1, 2, 2}, torch::kLong);
  EXPECT_DOUBLE_EQ(accuracy_percent_from_predictions(predictions, labels), 50.0);
}

TEST(Accuracy, EmptySetIsNaN) {
  EXPECT_TRUE(std::isnan(accuracy_percent(torch::zeros({0, 3}), torch::zeros({0}, torch::kLong))));
  EXPECT_TRUE(std::isnan(accuracy_percent_from_predictions(torch::zeros({0}, torch::kLong),
                                                           torch::zeros({0}, torch::kLong))));
}

TEST(Accuracy, PerClassByHandWithAbsentClass) {
  // class 0: rows 0, 5 -> predicted 0, 0 -> 100%
  // class 1: rows 1, 2 -> predicted 0, 1 -> 50%
  // class 2: rows 3, 4 -> predicted 2, 2 -> 100%
  // class 3: no rows -> NaN
  const auto predictions = torch::tensor({0, 0, 1, 2, 2, 0}, torch::kLong);
  const auto labels = torch::tensor({0, 1, 1, 2, 2, 0}, torch::kLong);
  const auto acc = per_class_accuracy(predictions, labels, 4);
  ASSERT_EQ(acc.size(), 4U);
  EXPECT_DOUBLE_EQ(acc[0], 100.0);
  EXPECT_DOUBLE_EQ(acc[1], 50.0);
  EXPECT_DOUBLE_EQ(acc[2], 100.0);
  EXPECT_TRUE(std::isnan(acc[3]));
}

TEST(Accuracy, PerClassEmptyIsAllNaN) {
  const auto acc =
      per_class_accuracy(torch::zeros({0}, torch::kLong), torch::zeros({0}, torch::kLong), 2);
  ASSERT_EQ(acc.size(), 2U);
  EXPECT_TRUE(std::isnan(acc[0]));
  EXPECT_TRUE(std::isnan(acc[1]));
}

TEST(Accuracy, InvalidInputs) {
  const auto logits = torch::zeros({4, 3});
  const auto labels = torch::zeros({4}, torch::kLong);
  expect_invalid([&] { accuracy_percent(torch::zeros({4}), labels); }, "logits");
  expect_invalid([&] { accuracy_percent(torch::zeros({4, 3}, torch::kLong), labels); }, "logits");
  expect_invalid([&] { accuracy_percent(logits, torch::zeros({3}, torch::kLong)); },
                 "3 labels but 4 logit rows");
  expect_invalid([&] { accuracy_percent(logits, torch::zeros({4})); }, "integer dtype");
  expect_invalid(
      [&] {
        accuracy_percent(logits, torch::tensor({0, 1, 3, 0}, torch::kLong));
      },
      "class index 3 out of range");
  expect_invalid(
      [&] {
        accuracy_percent(logits, torch::tensor({0, -1, 2, 0}, torch::kLong));
      },
      ">= 0");
  expect_invalid(
      [&] { accuracy_percent_from_predictions(torch::zeros({2}, torch::kLong), labels); },
      "4 labels but 2 predictions");
  expect_invalid([&] { per_class_accuracy(labels, labels, 0); }, "num_classes");
  expect_invalid(
      [&] {
        per_class_accuracy(labels, torch::tensor({0, 1, 2, 5}, torch::kLong), 3);
      },
      "class index 5 out of range");
}

// Property: accuracy and per-class accuracy lie in [0, 100] and do not depend on row order.
class AccuracyOrder : public ::testing::TestWithParam<int> {};

TEST_P(AccuracyOrder, PermutationInvariantAndInRange) {
  torch::manual_seed(GetParam());
  const int64_t n = 64;
  const int64_t c = 5;
  const auto logits = torch::randn({n, c});
  const auto labels = torch::randint(0, c, {n}, torch::kLong);
  const auto perm = torch::randperm(n);

  const double acc = accuracy_percent(logits, labels);
  EXPECT_GE(acc, 0.0);
  EXPECT_LE(acc, 100.0);
  EXPECT_DOUBLE_EQ(accuracy_percent(logits.index_select(0, perm), labels.index_select(0, perm)),
                   acc);

  const auto predictions = logits.argmax(1);
  const auto per_class = per_class_accuracy(predictions, labels, c);
  const auto per_class_perm =
      per_class_accuracy(predictions.index_select(0, perm), labels.index_select(0, perm), c);
  for (int64_t k = 0; k < c; ++k) {
    const double a = per_class[static_cast<size_t>(k)];
    const double b = per_class_perm[static_cast<size_t>(k)];
    if (std::isnan(a)) {
      EXPECT_TRUE(std::isnan(b));
    } else {
      EXPECT_GE(a, 0.0);
      EXPECT_LE(a, 100.0);
      EXPECT_DOUBLE_EQ(a, b);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, AccuracyOrder, ::testing::Range(0, 10));

}  // namespace
}  // namespace unlearn
