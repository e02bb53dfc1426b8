#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "unlearn/jobs/sweep.h"

namespace unlearn {
namespace {

DataBundle bundle_of(int64_t n_train, int64_t n_test) {
  DataBundle b;
  b.source = "tiny";
  for (auto [d, n, prefix] :
       {std::tuple{&b.train, n_train, "train-"}, std::tuple{&b.test, n_test, "test-"}}) {
    d->images = torch::zeros({n, 1, 2, 2}, torch::kUInt8);
    d->labels = torch::arange(n, torch::kLong).remainder(3);
    d->class_names = {"a", "b", "c"};
    d->metadata = Metadata::with_ids(n, prefix, "file");
  }
  return b;
}

std::set<std::string> ids(const Dataset& d) {
  const auto& v = std::get<std::vector<std::string>>(d.metadata.column("id").values);
  return {v.begin(), v.end()};
}

TEST(CarveValidation, HoldsOutTrainingRowsOnlyAndNeverTheTestSet) {
  const DataBundle full = bundle_of(100, 30);
  const DataBundle carved = carve_validation(full, 0.2, 7);
  EXPECT_EQ(carved.train.size(), 80);
  EXPECT_EQ(carved.test.size(), 20);
  const auto train = ids(carved.train), val = ids(carved.test);
  for (const auto& id : val) {
    EXPECT_EQ(id.rfind("train-", 0), 0u) << id << " is not a training row";
    EXPECT_EQ(train.count(id), 0u) << id << " is in both splits";
  }
  EXPECT_EQ(train.size() + val.size(), 100u);
  // Seeded: the same seed gives the same split, another seed another one.
  EXPECT_EQ(ids(carve_validation(full, 0.2, 7).test), val);
  EXPECT_NE(ids(carve_validation(full, 0.2, 8).test), val);
}

TEST(SweepTrials, AGridIsTheFullProductOverTheFixedOptions) {
  SweepPlan plan;
  plan.fixed = {{"batch", "8"}};
  plan.space = {{"lr", {"0.1", "0.2", "0.3"}, "", 0, 0}, {"passes", {"1", "2"}, "", 0, 0}};
  const auto trials = sweep_trials(plan);
  ASSERT_EQ(trials.size(), 6u);
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& t : trials) {
    EXPECT_EQ(t.at("batch"), "8");
    seen.insert({t.at("lr"), t.at("passes")});
  }
  EXPECT_EQ(seen.size(), 6u);
}

TEST(SweepTrials, RandomDrawsAreSeededAndStayInTheirRanges) {
  SweepPlan plan;
  plan.search = "random";
  plan.trials = 50;
  plan.space = {{"lr", {}, "log-uniform", 1e-4, 1e-2},
                {"passes", {}, "int-uniform", 1, 5},
                {"norm", {"linf", "l2"}, "", 0, 0}};
  const auto a = sweep_trials(plan);
  ASSERT_EQ(a.size(), 50u);
  EXPECT_EQ(a, sweep_trials(plan));
  std::set<std::string> norms;
  for (const auto& t : a) {
    const double lr = std::stod(t.at("lr"));
    EXPECT_GE(lr, 1e-4 * 0.999);
    EXPECT_LE(lr, 1e-2 * 1.001);
    const int passes = std::stoi(t.at("passes"));
    EXPECT_GE(passes, 1);
    EXPECT_LE(passes, 5);
    norms.insert(t.at("norm"));
  }
  EXPECT_EQ(norms.size(), 2u);
  plan.seed = 1;
  EXPECT_NE(a, sweep_trials(plan));
}

TEST(ParetoFront, KeepsExactlyTheUndominatedPoints) {
  // forget (lower better), keep (higher better):
  //   0: (10, 90)  front
  //   1: ( 5, 80)  front
  //   2: (10, 85)  dominated by 0
  //   3: ( 0, 60)  front
  //   4: ( 6, 79)  dominated by 1
  //   5: NaN       skipped
  const std::vector<double> forget = {10, 5, 10, 0, 6, NAN}, keep = {90, 80, 85, 60, 79, 99};
  EXPECT_EQ(pareto_front(forget, keep), (std::vector<size_t>{0, 1, 3}));
}

}  // namespace
}  // namespace unlearn
