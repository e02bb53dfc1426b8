#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "unlearn/metrics/evaluator.h"

namespace unlearn {
namespace {

/// Logits whose argmax is `predicted` for each row (K classes).
torch::Tensor logits_predicting(const std::vector<int64_t>& predicted, int64_t k) {
  auto out = torch::zeros({static_cast<int64_t>(predicted.size()), k});
  for (size_t i = 0; i < predicted.size(); ++i) out[i][predicted[i]] = 5.0;
  return out;
}

TEST(Evaluate, AccuracyFamilyWorkedByHand) {
  // Train: 6 rows, labels 0 0 1 1 2 2; forget = the class-0 rows {0, 1}.
  // Predictions 0 1 | 1 1 2 0: forget acc 1/2 -> UA 50; retain acc 3/4 -> RA 75.
  // Test: 4 rows, labels 0 1 2 2, predictions 2 1 2 0: TA 2/4 = 50;
  // T_f = {0}: FTA 0; T_r = {1, 2, 3}: RTA 2/3.
  EvalData data;
  data.train_labels = torch::tensor({0, 0, 1, 1, 2, 2}, torch::kInt64);
  data.test_labels = torch::tensor({0, 1, 2, 2}, torch::kInt64);
  data.class_names = {"a", "b", "c"};
  ModelOutputs out{logits_predicting({0, 1, 1, 1, 2, 0}, 3), logits_predicting({2, 1, 2, 0}, 3)};
  Split split;
  split.train.forget = torch::tensor({0, 1}, torch::kInt64);
  split.train.retain = torch::tensor({2, 3, 4, 5}, torch::kInt64);
  split.test.forget = torch::tensor({0}, torch::kInt64);
  split.test.retain = torch::tensor({1, 2, 3}, torch::kInt64);
  auto m = evaluate(out, data, split);
  EXPECT_DOUBLE_EQ(m.metrics.at("UA"), 50.0);
  EXPECT_DOUBLE_EQ(m.metrics.at("RA"), 75.0);
  EXPECT_DOUBLE_EQ(m.metrics.at("TA"), 50.0);
  EXPECT_DOUBLE_EQ(m.metrics.at("FTA"), 0.0);
  EXPECT_NEAR(m.metrics.at("RTA"), 200.0 / 3.0, 1e-9);
  for (const char* key : {"MIA_efficacy", "MIA_entropy", "ECE"}) {
    ASSERT_TRUE(m.metrics.count(key)) << key;
    EXPECT_GE(m.metrics.at(key), 0.0) << key;
    EXPECT_LE(m.metrics.at(key), 100.0) << key;
  }
  // ECE: every test row has confidence e⁵/(e⁵+2) ≈ .9867 (bin 14) and 2 of 4 are right:
  // |½ − .9867| = 48.67 %.
  const double conf = std::exp(5.0) / (std::exp(5.0) + 2.0);
  EXPECT_NEAR(m.metrics.at("ECE"), 100.0 * (conf - 0.5), 1e-4);
  // Clinical, class b: the one b row is predicted b (sens 100); of the 3 others none is (spec 100).
  ASSERT_EQ(m.per_class.size(), 3u);
  EXPECT_DOUBLE_EQ(m.per_class[1].sensitivity, 100.0);
  EXPECT_DOUBLE_EQ(m.per_class[1].specificity, 100.0);
  EXPECT_TRUE(m.per_group.empty());  // the split has no expression
  // Per-class test accuracy: class a 0/1, b 1/1, c 1/2.
  ASSERT_EQ(m.per_class_test.size(), 3u);
  EXPECT_DOUBLE_EQ(m.per_class_test[0], 0.0);
  EXPECT_DOUBLE_EQ(m.per_class_test[1], 100.0);
  EXPECT_DOUBLE_EQ(m.per_class_test[2], 50.0);

  // Without a test part (random(), id), FTA and RTA are not reported.
  split.has_test_part = false;
  split.test.forget = torch::empty({0}, torch::kInt64);
  split.test.retain = torch::arange(4, torch::kInt64);
  auto n = evaluate(out, data, split);
  EXPECT_FALSE(n.metrics.count("FTA"));
  EXPECT_FALSE(n.metrics.count("RTA"));
  EXPECT_DOUBLE_EQ(n.metrics.at("UA"), 50.0);
}

TEST(Evaluate, PerGroupFollowsTheSelectionColumns) {
  // As above, with a device column: train a a b b c a, test a b b d; the selection reads
  // `device`. Train hits 1 0 1 1 1 0: a 1/3, b 2/2, c 1/1. Test hits 0 1 1 0: a 0/1, b 2/2, d 0/1.
  EvalData data;
  data.train_labels = torch::tensor({0, 0, 1, 1, 2, 2}, torch::kInt64);
  data.test_labels = torch::tensor({0, 1, 2, 2}, torch::kInt64);
  data.class_names = {"a", "b", "c"};
  data.train_metadata.set({"device", std::vector<std::string>{"a", "a", "b", "b", "c", "a"}});
  data.test_metadata.set({"device", std::vector<std::string>{"a", "b", "b", "d"}});
  ModelOutputs out{logits_predicting({0, 1, 1, 1, 2, 0}, 3), logits_predicting({2, 1, 2, 0}, 3)};
  Split split;
  split.expression = "device == 'a' or class == 0";
  split.train.forget = torch::tensor({0, 1, 5}, torch::kInt64);
  split.train.retain = torch::tensor({2, 3, 4}, torch::kInt64);
  split.test.forget = torch::tensor({0}, torch::kInt64);
  split.test.retain = torch::tensor({1, 2, 3}, torch::kInt64);
  const auto m = evaluate(out, data, split);
  ASSERT_EQ(m.per_group.size(), 1u);  // `class` is not a metadata column
  const auto& g = m.per_group.at("device");
  EXPECT_NEAR(g.at("a").train_acc, 100.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(g.at("a").test_acc, 0.0);
  EXPECT_DOUBLE_EQ(g.at("b").test_acc, 100.0);
  EXPECT_EQ(g.at("d").n_test, 1);
  EXPECT_EQ(g.at("c").n_train, 1);
}

}  // namespace
}  // namespace unlearn
