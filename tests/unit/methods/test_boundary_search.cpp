#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "unlearn/core/error.h"
#include "unlearn/methods/boundary_search.h"

namespace unlearn {
namespace {

// A two-class linear model on 2-D points stored as N×2×1×1: z = W x + b. Its decision boundary
// is v·x + c = 0 with v = w1 − w0 and c = b1 − b0; for a class-0 point the nearest boundary
// point in L∞ is x + t·sign(v) with t = −(v·x + c) / ‖v‖₁ (closed form).
struct Linear {
  torch::Tensor w = torch::tensor({{0.0f, 0.0f}, {1.0f, 2.0f}});  // v = (1, 2)
  torch::Tensor b = torch::tensor({0.0f, -1.5f});                 // c = -1.5
  torch::Tensor operator()(const torch::Tensor& x) const {
    return torch::matmul(x.flatten(1), w.t()) + b;
  }
};

TEST(BoundarySearch, IteratesApproachTheClosedFormBoundaryPointAsKGrows) {
  Linear model;
  auto x = torch::tensor({0.2f, 0.3f}).view({1, 2, 1, 1});  // v·x + c = -0.7: class 0
  auto y = torch::tensor({int64_t{0}});
  // t = 0.7 / 3; the nearest L∞ boundary point is x + t·(1, 1).
  const double t = 0.7 / 3.0;
  auto nearest = x + t;
  double previous = 1e9;
  for (int64_t k : {1, 2, 4, 8, 16, 32, 64, 128}) {
    auto gen = at::detail::createCPUGenerator(0);
    auto opts = BoundarySearchOptions().epsilon(0.5).inner_steps(k).quantize(false);
    auto r = boundary_search(model, x, y, opts, 0.0, gen);
    const double alpha = 0.5 / static_cast<double>(k);
    const double dist = (r.x_star - nearest).abs().max().item<double>();
    EXPECT_TRUE(r.flipped[0].item<bool>()) << "K=" << k;
    // The first iterate across the boundary lies within one step of the closed-form point.
    EXPECT_LE(dist, alpha + 1e-6) << "K=" << k;
    EXPECT_LE(dist, previous + 1e-6) << "K=" << k;
    previous = dist;
  }
  EXPECT_LT(previous, 0.005);
}

TEST(BoundarySearch, StaysInTheBallAndThePixelRangeAndOnTheGrid) {
  Linear model;
  auto gen = at::detail::createCPUGenerator(1);
  auto x = torch::rand({32, 2, 1, 1}, gen);
  auto y = torch::zeros({32}, torch::kInt64);
  for (const SearchNorm norm : {SearchNorm::linf, SearchNorm::l2}) {
    auto opts = BoundarySearchOptions().epsilon(0.1).inner_steps(3).gamma(0.5).norm(norm);
    auto r = boundary_search(model, x, y, opts, 0.2, gen);
    EXPECT_GE(r.x_star.min().item<double>(), 0.0);
    EXPECT_LE(r.x_star.max().item<double>(), 1.0);
    auto grid = r.x_star * 255.0;
    EXPECT_TRUE(torch::allclose(grid, grid.round(), 0, 1e-3));
    auto delta = (r.x_star - x).flatten(1);
    // Quantisation may add half a grid step.
    const double slack = 0.5 / 255.0 + 1e-6;
    if (norm == SearchNorm::linf) {
      EXPECT_LE(delta.abs().max().item<double>(), 0.1 + slack);
    } else {
      EXPECT_LE(delta.norm(2, 1).max().item<double>(), 0.1 + std::sqrt(2.0) * slack);
    }
  }
}

/// One unquantised step of size 0.1 from the class-0 point (0.2, 0.3) with proximal weight
/// `lambda`.
BoundarySearchResult one_step_from_02_03(double lambda) {
  auto gen = at::detail::createCPUGenerator(0);
  auto x = torch::tensor({0.2f, 0.3f}).view({1, 2, 1, 1});
  auto y = torch::tensor({int64_t{0}});
  return boundary_search(Linear(), x, y, BoundarySearchOptions().epsilon(0.1).quantize(false),
                         lambda, gen);
}

TEST(BoundarySearch, SingleStepMovesEveryFreePixelByEpsilon) {
  auto r = one_step_from_02_03(0.0);
  EXPECT_TRUE(torch::allclose(r.x_star, torch::tensor({0.3f, 0.4f}).view({1, 2, 1, 1})));
}

TEST(BoundarySearch, ObjectiveIsLossMinusProximalTermWorkedByHand) {
  auto r = one_step_from_02_03(2.0);
  // x* = (0.3, 0.4): z = (0, 0.3 + 0.8 - 1.5) = (0, -0.4); CE for class 0 = log(1 + e^-0.4).
  // Proximal: (2/2)·(0.1² + 0.1²) = 0.02.
  const double expected = std::log(1 + std::exp(-0.4)) - 0.02;
  EXPECT_NEAR(r.objective, expected, 1e-5);
}

TEST(BoundarySearch, AuthorsExactReproducesTheirArithmetic) {
  // One 1-channel pixel p = 0.6 under model normalisation (0.5, 0.5): z = 0.2. Their search
  // un-normalises with (0.4914, 0.2023): x_nat = 0.2·0.2023 + 0.4914 = 0.53186, adds
  // sign(g)·ε = +0.1, quantises to round(0.63186·255)/255 = 161/255, and re-normalises:
  // z* = (161/255 − 0.4914)/0.2023; p* = z*·0.5 + 0.5.
  auto reference = [](const torch::Tensor& p) {
    return torch::cat({-p.flatten(1), p.flatten(1)}, 1);
  };
  auto gen = at::detail::createCPUGenerator(0);
  auto x = torch::full({1, 1, 1, 1}, 0.6f);
  auto y = torch::tensor({int64_t{0}});
  auto opts =
      BoundarySearchOptions().epsilon(0.1).authors_exact(true).model_mean({0.5}).model_std({0.5});
  auto r = boundary_search(reference, x, y, opts, 0.0, gen);
  const double z_star = (161.0 / 255.0 - 0.4914) / 0.2023;
  EXPECT_NEAR(r.x_star.item<double>(), z_star * 0.5 + 0.5, 1e-5);
}

TEST(BoundarySearch, NoiseLawsHaveTheirTextbookMoments) {
  auto gen = at::detail::createCPUGenerator(3);
  auto like = torch::zeros({200000});
  auto normal = sample_noise(NoiseLaw::normal, like, gen);
  EXPECT_NEAR(normal.std().item<double>(), 1.0, 0.01);
  auto laplace = sample_noise(NoiseLaw::laplace, like, gen);
  EXPECT_NEAR(laplace.abs().mean().item<double>(), 1.0, 0.02);  // E|X| = b = 1
  auto uniform = sample_noise(NoiseLaw::uniform, like, gen);
  EXPECT_GE(uniform.min().item<double>(), -1.0);
  EXPECT_LE(uniform.max().item<double>(), 1.0);
  EXPECT_NEAR(uniform.var().item<double>(), 1.0 / 3.0, 0.01);
  auto cauchy = sample_noise(NoiseLaw::cauchy, like, gen);
  EXPECT_NEAR(cauchy.median().item<double>(), 0.0, 0.02);
  EXPECT_NEAR(cauchy.abs().median().item<double>(), 1.0, 0.03);  // quartiles at ±1
}

TEST(BoundarySearch, AGivenFirstGradientGivesTheSamePointsAsComputingIt) {
  Linear model;
  auto data_gen = at::detail::createCPUGenerator(2);
  auto x = torch::rand({16, 2, 1, 1}, data_gen);
  auto y = torch::zeros({16}, torch::kInt64);
  for (const GradientReduction reduction : {GradientReduction::sum, GradientReduction::mean}) {
    auto opts = BoundarySearchOptions().epsilon(0.1).inner_steps(2).gamma(0.3).reduction(reduction);
    auto gen_a = at::detail::createCPUGenerator(5), gen_b = at::detail::createCPUGenerator(5);
    auto computed = boundary_search(model, x, y, opts, 0.0, gen_a);
    auto given =
        boundary_search(model, x, y, opts, 0.0, gen_b, input_gradient(model, x, y, reduction));
    EXPECT_TRUE(torch::equal(computed.x_star, given.x_star)) << choice_name(reduction);
  }
  // "mean" is the per-sample gradient divided by the batch size.
  EXPECT_TRUE(torch::allclose(input_gradient(model, x, y, GradientReduction::mean) * 16.0,
                              input_gradient(model, x, y, GradientReduction::sum)));
  auto gen = at::detail::createCPUGenerator(0);
  EXPECT_THROW(
      boundary_search(model, x, y, BoundarySearchOptions(), 0.0, gen, torch::zeros({3, 2, 1, 1})),
      InvalidArgument);
}

TEST(BoundarySearch, RejectsBadOptions) {
  EXPECT_THROW(BoundarySearchOptions().epsilon(0).validate(), InvalidArgument);
  EXPECT_THROW(BoundarySearchOptions().inner_steps(0).validate(), InvalidArgument);
  EXPECT_THROW(BoundarySearchOptions().step_size(-1).validate(), UsageError);
  EXPECT_THROW(BoundarySearchOptions().authors_exact(true).norm(SearchNorm::l2).validate(),
               UsageError);
}

TEST(BoundarySearch, EnumOptionsParseOnceByTheirNames) {
  EXPECT_EQ(parse_choice<SearchNorm>("l2", "norm"), SearchNorm::l2);
  EXPECT_EQ(parse_choice<NoiseLaw>("cauchy", "noise"), NoiseLaw::cauchy);
  EXPECT_STREQ(choice_name(GradientReduction::mean), "mean");
  try {
    parse_choice<SearchNorm>("l1", "norm");
    FAIL() << "expected UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--norm: expected linf|l2, got 'l1'"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace unlearn
