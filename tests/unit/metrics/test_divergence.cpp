#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "expect_error.h"
#include "unlearn/metrics/divergence.h"

namespace unlearn {
namespace {

using test::expect_invalid;

const double kLn2 = std::log(2.0);

// A logit row whose softmax is (a, 1 − a) for 0 < a < 1; a one-hot row uses a −1000 logit
// (e^-1000 underflows to exactly 0 in float64).
torch::Tensor two_class(double a) { return torch::tensor({std::log(a), std::log(1 - a)}); }

TEST(JsDivergence, OppositeOneHotsIsLn2AndIdenticalIsZero) {
  const auto p = torch::tensor({{0.0, -1000.0}, {1.0, 2.0}}, torch::kDouble);
  const auto q = torch::tensor({{-1000.0, 0.0}, {1.0, 2.0}}, torch::kDouble);
  const auto js = js_divergence(p, q);
  ASSERT_EQ(js.sizes(), torch::IntArrayRef({2}));
  EXPECT_EQ(js.scalar_type(), torch::kDouble);
  // p = (1, 0), q = (0, 1): m = (½, ½), KL(p‖m) = KL(q‖m) = ln 2, JS = ln 2.
  EXPECT_NEAR(js[0].item<double>(), kLn2, 1e-12);
  EXPECT_NEAR(js[1].item<double>(), 0.0, 1e-15);
}

TEST(JsDivergence, TwoClassesByHand) {
  // p = (½, ½), q = (1, 0): m = (¾, ¼).
  //   KL(p‖m) = ½ ln(½/¾) + ½ ln(½/¼) = ½ ln(4/3)
  //   KL(q‖m) = 1 · ln(1/¾)            = ln(4/3)
  //   JS = ½ · ½ ln(4/3) + ½ ln(4/3)  = ¾ ln(4/3) ≈ 0.215762
  const auto p = torch::stack({two_class(0.5)});
  const auto q = torch::tensor({{0.0, -1000.0}});
  EXPECT_NEAR(js_divergence(p, q)[0].item<double>(), 0.75 * std::log(4.0 / 3.0), 1e-12);
  EXPECT_NEAR(js_divergence(q, p)[0].item<double>(), 0.75 * std::log(4.0 / 3.0), 1e-12);

  // p = (¾, ¼), q = (¼, ¾): m = (½, ½), KL(p‖m) = KL(q‖m) = ¾ ln(3/2) + ¼ ln(1/2)
  //   = ¾ ln 3 − ln 2 ≈ 0.130812.
  const auto a = torch::stack({two_class(0.75)});
  const auto b = torch::stack({two_class(0.25)});
  EXPECT_NEAR(js_divergence(a, b)[0].item<double>(), 0.75 * std::log(3.0) - kLn2, 1e-7);
}

TEST(JsDivergence, IsNotKlOfTheMixture) {
  // For p = (½, ½), q = (1, 0), m = (¾, ¼): KL(m‖p) = ¾ ln(3/2) + ¼ ln(1/2) ≈ 0.130812, the
  // quantity some code calls "JS". The real JS is ¾ ln(4/3) ≈ 0.215762.
  const auto p = torch::stack({two_class(0.5)});
  const auto q = torch::tensor({{0.0, -1000.0}});
  const double kl_m_p = 0.75 * std::log(1.5) + 0.25 * std::log(0.5);
  const double js = js_divergence(p, q)[0].item<double>();
  EXPECT_GT(std::abs(js - kl_m_p), 0.05);
}

TEST(JsDivergence, SymmetricAndInRange) {
  torch::manual_seed(3);
  const auto p = 4 * torch::randn({50, 6});
  const auto q = 4 * torch::randn({50, 6});
  const auto pq = js_divergence(p, q);
  const auto qp = js_divergence(q, p);
  EXPECT_TRUE(torch::allclose(pq, qp, 0, 1e-12));
  EXPECT_GE(pq.min().item<double>(), 0.0);
  EXPECT_LE(pq.max().item<double>(), kLn2);
}

TEST(JsDivergence, InvalidInputs) {
  expect_invalid(
      [] {
        js_divergence(torch::zeros({2, 3}), torch::zeros({2, 2}));
      },
      "but logits_q has shape");
  expect_invalid([] { js_divergence(torch::zeros({2}), torch::zeros({2})); }, "logits_p");
}

TEST(OutputDivergence, MeansOverForgetAndTestRetainRows) {
  // Train rows: 0 opposite one-hots (ln 2), 1 and 2 identical (0). D_f = {0, 2}: mean ln 2 / 2.
  // Test rows: 0 opposite (ln 2), 1 identical (0). T_r = {1}: 0.
  ModelOutputs model{torch::tensor({{0.0, -1000.0}, {1.0, 0.0}, {2.0, 1.0}}),
                     torch::tensor({{0.0, -1000.0}, {3.0, 1.0}})};
  ModelOutputs retrain{torch::tensor({{-1000.0, 0.0}, {1.0, 0.0}, {2.0, 1.0}}),
                       torch::tensor({{-1000.0, 0.0}, {3.0, 1.0}})};
  Split split;
  split.train.forget = torch::tensor({0, 2}, torch::kLong);
  split.train.retain = torch::tensor({1}, torch::kLong);
  split.test.forget = torch::tensor({0}, torch::kLong);
  split.test.retain = torch::tensor({1}, torch::kLong);
  const auto j = output_divergence(model, retrain, split);
  EXPECT_NEAR(j.at("JS_forget").get<double>(), kLn2 / 2, 1e-6);
  EXPECT_NEAR(j.at("JS_test_retain").get<double>(), 0.0, 1e-6);

  // Without a test part, T_r is every test row: (ln 2 + 0) / 2.
  split.has_test_part = false;
  split.test.forget = torch::empty({0}, torch::kLong);
  split.test.retain = torch::tensor({0, 1}, torch::kLong);
  EXPECT_NEAR(output_divergence(model, retrain, split).at("JS_test_retain").get<double>(), kLn2 / 2,
              1e-6);

  ModelOutputs short_out{torch::zeros({2, 2}), torch::zeros({2, 2})};
  expect_invalid([&] { output_divergence(short_out, retrain, split); }, "differ");
}

}  // namespace
}  // namespace unlearn
