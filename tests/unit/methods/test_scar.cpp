#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "expect_error.h"
#include "methods/tiny_problem.h"
#include "test_util.h"
#include "unlearn/methods/registry.h"
#include "unlearn/methods/scar.h"

namespace unlearn {
namespace {

using test::forget_accuracy;
using test::make_problem;
using test::retain_accuracy;

TEST(ScarStatistics, MahalanobisDistancesMatchAHandComputation) {
  // Class 0 spread along x (variance 4), class 1 along y; no shrinkage, so the distances are the
  // plain Mahalanobis ones.
  const auto features = torch::tensor({{-2.0, 0.1},
                                       {2.0, -0.1},
                                       {-2.0, -0.1},
                                       {2.0, 0.1},
                                       {10.1, -2.0},
                                       {9.9, 2.0},
                                       {10.1, 2.0},
                                       {9.9, -2.0}});
  const auto labels = torch::tensor({0, 0, 0, 0, 1, 1, 1, 1}, torch::kLong);
  const ClassStatistics s = class_statistics(features, labels, 3, 0.0);
  EXPECT_TRUE(s.present[0].item<bool>());
  EXPECT_FALSE(s.present[2].item<bool>());  // no samples: never the nearest
  const auto d = mahalanobis_distances(torch::tensor({{4.0, 0.0}}), s);
  // Class 0: mean 0, var_x = 16/3, var_y = 0.04/3; (4, 0) is 4/sqrt(16/3) = sqrt(3) away.
  EXPECT_NEAR(d[0][0].item<double>(), std::sqrt(3.0), 1e-6);
  EXPECT_TRUE(std::isinf(d[0][2].item<double>()));
  // Along class 0's wide axis the point is nearer to class 0 than in Euclidean terms to class 1.
  EXPECT_LT(d[0][0].item<double>(), d[0][1].item<double>());
}

TEST(ScarStatistics, ShrinkageGivesAnInverseWithFewerSamplesThanDimensions) {
  auto generator = at::detail::createCPUGenerator(7);
  const auto features = torch::randn({3, 8}, generator, torch::kFloat64);
  const auto labels = torch::zeros({3}, torch::kLong);
  const ClassStatistics s = class_statistics(features, labels, 1, 3.0);
  const auto d = mahalanobis_distances(features, s);
  EXPECT_TRUE(torch::isfinite(d).all().item<bool>());
}

class ScarSeeds : public ::testing::TestWithParam<uint64_t> {};

TEST_P(ScarSeeds, ForgetsTheClassKeepsTheRestAndNeverMutatesItsInput) {
  auto p = make_problem(GetParam(), 2);
  const Model before = p.model.clone();
  ASSERT_GT(forget_accuracy(p.model, p), 90.0);
  CollectingObserver obs;
  const auto o = ScarOptions().epochs(30).update(UpdateOptions().lr(0.01).batch(8).weight_decay(0));
  auto result = Scar(o).run(p.model, p.udata, RunContext().seed(GetParam()), obs);
  EXPECT_TRUE(test::same_state(p.model, before));
  EXPECT_LT(forget_accuracy(result.model, p), 20.0);
  EXPECT_GT(retain_accuracy(result.model, p), 80.0);
  // The pull shrinks: the forget features move towards another class.
  EXPECT_LT(result.trace.back().values.at("mahalanobis"),
            result.trace.front().values.at("mahalanobis"));
}

INSTANTIATE_TEST_SUITE_P(Seeds, ScarSeeds, ::testing::Values(1, 2, 3));

TEST(Scar, RefusesBadOptionsAndAnEmptyRetainSet) {
  EXPECT_NE(test::message_of<UsageError>([] {
              make_method("scar", {{"temperature", "0"}});
            }).find("temperature"),
            std::string::npos);
  EXPECT_NE(test::message_of<UsageError>([] {
              make_method("scar", {{"stat-samples", "1"}});
            }).find("stat-samples"),
            std::string::npos);
  auto p = make_problem(5, 2);
  auto no_retain = p.udata;
  no_retain.retain = torch::empty({0}, torch::kLong);
  NullObserver obs;
  test::expect_invalid([&] { Scar(ScarOptions()).run(p.model, no_retain, RunContext(), obs); },
                       "retain set is empty");
}

}  // namespace
}  // namespace unlearn
