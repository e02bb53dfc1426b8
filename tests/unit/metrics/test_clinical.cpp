#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "expect_error.h"
#include "unlearn/metrics/clinical.h"

namespace unlearn {
namespace {

using test::expect_invalid;

TEST(Auroc, TiesByHand) {
  // Positives score {0.9, 0.8}, negatives {0.8, 0.3, 0.8}. Pairs (pos beats neg = 1, tie = ½):
  //   0.9: 1 + 1 + 1 = 3;  0.8: ½ + 1 + ½ = 2;  AUROC = 5 / 6.
  // By ranks: 0.3 -> 1, the three 0.8s share (2+3+4)/3 = 3, 0.9 -> 5; R₊ = 5 + 3 = 8;
  //   (8 − 2·3/2) / (2·3) = 5/6.
  const auto s = torch::tensor({0.9, 0.8, 0.8, 0.3, 0.8}, torch::kDouble);
  const auto pos = torch::tensor({true, true, false, false, false});
  EXPECT_NEAR(auroc(s, pos), 5.0 / 6.0, 1e-12);
  EXPECT_NEAR(auroc(-s, pos), 1.0 / 6.0, 1e-12);
  EXPECT_DOUBLE_EQ(auroc(torch::ones({4}), torch::tensor({1, 0, 1, 0})), 0.5);
  EXPECT_TRUE(std::isnan(auroc(s, torch::zeros({5}, torch::kBool))));
  expect_invalid([] { auroc(torch::ones({3}), torch::ones({2})); }, "one length");
}

TEST(PerClassReport, SensitivitySpecificityAurocByHand) {
  // Labels 0 0 1 2. Logit rows (2,0,0), (0,1,0), (0,1,0), (0,1,0): predictions 0 1 1 1.
  // Softmax of (2,0,0) = (a, b, b) with a = e²/(e²+2) ≈ .787, b = 1/(e²+2) ≈ .107;
  // of (0,1,0) = (c, d, c) with c = 1/(e+2) ≈ .212, d = e/(e+2) ≈ .576 (rows 1-3 bit-identical).
  // class 0: positives rows 0,1; TP 1 -> sens 50. Negatives rows 2,3, neither predicted 0 ->
  //   spec 100. AUROC on p0: pos {a, c} vs neg {c, c}: a wins 2, c ties 2 (½ each) -> 3/4.
  // class 1: positive row 2, predicted 1 -> sens 100. Negatives rows 0,1,3: only row 0 not
  //   predicted 1 -> spec 100/3. AUROC on p1: pos {d} vs neg {b, d, d}: 1 + ½ + ½ -> 2/3.
  // class 2: positive row 3, predicted 1 -> sens 0. Negatives rows 0,1,2: none predicted 2 ->
  //   spec 100. AUROC on p2: pos {c} vs neg {b, c, c}: 1 + ½ + ½ -> 2/3.
  const auto logits =
      torch::tensor({{2.0, 0.0, 0.0}, {0.0, 1.0, 0.0}, {0.0, 1.0, 0.0}, {0.0, 1.0, 0.0}});
  const auto labels = torch::tensor({0, 0, 1, 2}, torch::kLong);
  const auto r = per_class_report(logits, labels, 3);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].support, 2);
  EXPECT_DOUBLE_EQ(r[0].sensitivity, 50.0);
  EXPECT_DOUBLE_EQ(r[0].specificity, 100.0);
  EXPECT_NEAR(r[0].auroc, 0.75, 1e-12);
  EXPECT_DOUBLE_EQ(r[1].sensitivity, 100.0);
  EXPECT_NEAR(r[1].specificity, 100.0 / 3.0, 1e-12);
  EXPECT_NEAR(r[1].auroc, 2.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(r[2].sensitivity, 0.0);
  EXPECT_DOUBLE_EQ(r[2].specificity, 100.0);
  EXPECT_NEAR(r[2].auroc, 2.0 / 3.0, 1e-12);
  expect_invalid([&] { per_class_report(logits, labels, 4); }, "num_classes is 4");
}

TEST(PerClassReport, AbsentClassIsNaN) {
  const auto r = per_class_report(torch::tensor({{1.0, 0.0}, {2.0, 0.0}}),
                                  torch::tensor({0, 0}, torch::kLong), 2);
  EXPECT_DOUBLE_EQ(r[0].sensitivity, 100.0);
  EXPECT_TRUE(std::isnan(r[0].specificity));
  EXPECT_TRUE(std::isnan(r[0].auroc));
  EXPECT_TRUE(std::isnan(r[1].sensitivity));
  EXPECT_EQ(r[1].support, 0);
}

TEST(Ece, FifteenBinsByHand) {
  // Bins of width 1/15; bin b is (b/15, (b+1)/15].
  //   row A: softmax (.9, .1), label 0: right, confidence .9  -> bin 13 (.867, .933]
  //   row B: softmax (.9, .1), label 1: wrong, confidence .9  -> bin 13
  //   row C: softmax (.25, .75), label 1: right, conf .75     -> bin 11 (.733, .8]
  //   row D: softmax (.78, .22), label 1: wrong, conf .78     -> bin 11
  // bin 13: acc ½, mean conf .9   -> (2/4)·|.5 − .9|   = .2
  // bin 11: acc ½, mean conf .765 -> (2/4)·|.5 − .765| = .1325
  // ECE = .3325 -> 33.25 %.
  const auto logits = torch::tensor({{std::log(0.9), std::log(0.1)},
                                     {std::log(0.9), std::log(0.1)},
                                     {std::log(0.25), std::log(0.75)},
                                     {std::log(0.78), std::log(0.22)}},
                                    torch::kDouble);
  const auto labels = torch::tensor({0, 1, 1, 1}, torch::kLong);
  EXPECT_NEAR(expected_calibration_error(logits, labels), 33.25, 1e-9);
  // One bin holds every row: acc 2/4, mean conf (.9 + .9 + .75 + .78) / 4 = .8325.
  EXPECT_NEAR(expected_calibration_error(logits, labels, 1), 100 * (0.8325 - 0.5), 1e-9);
  EXPECT_TRUE(std::isnan(
      expected_calibration_error(torch::zeros({0, 2}), torch::zeros({0}, torch::kLong))));
  expect_invalid([&] { expected_calibration_error(logits, labels, 0); }, "bins");
}

TEST(GroupKey, TypedValues) {
  Column text{"device", std::vector<std::string>{"Cirrus 800", "b"}};
  Column years{"year", std::vector<int64_t>{2018, -3}};
  Column reals{"dose", std::vector<double>{0.1, 2.5}};
  EXPECT_EQ(group_key(text, 0), "Cirrus 800");
  EXPECT_EQ(group_key(years, 0), "2018");
  EXPECT_EQ(group_key(years, 1), "-3");
  EXPECT_EQ(group_key(reals, 0), "0.1");
  EXPECT_EQ(group_key(reals, 1), "2.5");
}

TEST(PerGroupAccuracy, ByHand) {
  // Train: device a a b b c a; hits 1 0 1 1 1 0 -> a 1/3, b 2/2, c 1/1.
  // Test:  device a b b d;     hits 0 1 1 0     -> a 0/1, b 2/2, d 0/1.
  Metadata train;
  train.set({"device", std::vector<std::string>{"a", "a", "b", "b", "c", "a"}});
  Metadata test;
  test.set({"device", std::vector<std::string>{"a", "b", "b", "d"}});
  const auto train_pred = torch::tensor({0, 1, 1, 1, 2, 0}, torch::kLong);
  const auto train_y = torch::tensor({0, 0, 1, 1, 2, 2}, torch::kLong);
  const auto test_pred = torch::tensor({2, 1, 2, 0}, torch::kLong);
  const auto test_y = torch::tensor({0, 1, 2, 2}, torch::kLong);
  const auto t =
      per_group_accuracy({"device", "site"}, train, train_pred, train_y, test, test_pred, test_y);
  ASSERT_EQ(t.size(), 1u);  // "site" is in neither table
  const auto& g = t.at("device");
  ASSERT_EQ(g.size(), 4u);
  EXPECT_NEAR(g.at("a").train_acc, 100.0 / 3.0, 1e-12);
  EXPECT_EQ(g.at("a").n_train, 3);
  EXPECT_DOUBLE_EQ(g.at("a").test_acc, 0.0);
  EXPECT_EQ(g.at("a").n_test, 1);
  EXPECT_DOUBLE_EQ(g.at("b").train_acc, 100.0);
  EXPECT_DOUBLE_EQ(g.at("b").test_acc, 100.0);
  EXPECT_DOUBLE_EQ(g.at("c").train_acc, 100.0);
  EXPECT_TRUE(std::isnan(g.at("c").test_acc));
  EXPECT_EQ(g.at("c").n_test, 0);
  EXPECT_TRUE(std::isnan(g.at("d").train_acc));
  EXPECT_DOUBLE_EQ(g.at("d").test_acc, 0.0);
  expect_invalid(
      [&] {
        per_group_accuracy({"device"}, train, train_pred.slice(0, 0, 2), train_y, test, test_pred,
                           test_y);
      },
      "column 'device' has 6 rows");
}

}  // namespace
}  // namespace unlearn
