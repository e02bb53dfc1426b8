#include <gtest/gtest.h>
#include <torch/torch.h>

#include "unlearn/core/error.h"
#include "unlearn/metrics/pca.h"
#include "unlearn/metrics/score_histogram.h"

namespace unlearn {
namespace {

TEST(Pca, FindsTheAxisOfLargestSpreadByHand) {
  // Points on the line y = x, plus a small spread along y = -x: the first component is
  // (1, 1)/sqrt(2) with its larger entry made positive, the second (-1, 1)/sqrt(2) or its negative.
  auto x =
      torch::tensor({{-3.0, -3.0}, {-1.0, -1.0}, {1.0, 1.0}, {3.0, 3.0}, {0.5, -0.5}, {-0.5, 0.5}},
                    torch::kFloat64) +
      10.0;
  const PcaFit fit = fit_pca(x, 2);
  const double r = 1.0 / std::sqrt(2.0);
  EXPECT_NEAR(fit.components[0][0].item<double>(), r, 1e-9);
  EXPECT_NEAR(fit.components[1][0].item<double>(), r, 1e-9);
  EXPECT_NEAR(std::abs(fit.components[0][1].item<double>()), r, 1e-9);
  // Projections on (1,1)/sqrt2: ±3√2, ±√2, 0, 0, squares summing to 40; on (-1,1)/sqrt2:
  // ±1/√2 for the last two points only, squares summing to 1. So the shares are 40/41 and 1/41.
  EXPECT_NEAR(fit.explained[0].item<double>(), 40.0 / 41.0, 1e-9);
  EXPECT_NEAR(fit.explained[1].item<double>(), 1.0 / 41.0, 1e-9);
  const auto xy = pca_project(fit, x);
  EXPECT_NEAR(xy[3][0].item<double>(), 3.0 * std::sqrt(2.0), 1e-9);  // (3,3) after centring
  EXPECT_NEAR(xy[3][1].item<double>(), 0.0, 1e-9);
}

TEST(Pca, SignsAreFixedSoEqualInputsGiveEqualAxes) {
  torch::manual_seed(3);
  auto x = torch::randn({50, 6});
  const PcaFit a = fit_pca(x, 2), b = fit_pca(-x, 2);
  // Negated data has the same axes; the sign rule makes them equal, not opposite.
  EXPECT_TRUE(torch::allclose(a.components, b.components, 1e-6, 1e-9));
}

TEST(Pca, RefusesTooFewRowsAndBadK) {
  EXPECT_THROW(fit_pca(torch::ones({1, 3}), 1), InvalidArgument);
  EXPECT_THROW(fit_pca(torch::ones({5, 3}), 4), InvalidArgument);
  const PcaFit fit = fit_pca(torch::randn({5, 3}), 2);
  EXPECT_THROW(pca_project(fit, torch::ones({2, 4})), InvalidArgument);
}

TEST(ScoreHistogram, SharesPerBinByHand) {
  // Bins of 0.25: [0,.25) [.25,.5) [.5,.75) [.75,1]; 1.0 falls in the last, NaN is left out,
  // -0.2 is clamped into the first.
  const auto s = torch::tensor({0.0, 0.1, 0.3, 0.99, 1.0, -0.2, std::nan("")}, torch::kFloat64);
  const auto h = score_histogram(s, 4);
  ASSERT_EQ(h.size(), 4u);
  EXPECT_NEAR(h[0], 100.0 * 3 / 6, 1e-12);
  EXPECT_NEAR(h[1], 100.0 * 1 / 6, 1e-12);
  EXPECT_NEAR(h[2], 0.0, 1e-12);
  EXPECT_NEAR(h[3], 100.0 * 2 / 6, 1e-12);
  const auto empty = score_histogram(torch::empty({0}), 3);
  EXPECT_EQ(empty, std::vector<double>(3, 0.0));
  EXPECT_THROW(score_histogram(s, 0), InvalidArgument);
}

}  // namespace
}  // namespace unlearn
