// The composite search: the candidates it tries and the rule it chooses by.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "expect_error.h"
#include "methods/tiny_problem.h"
#include "unlearn/compose/search.h"

namespace unlearn {
namespace {

using test::message_of;

/// The tiny problem's model (knows class 0) and a copy whose head never predicts class 0.
struct TwoRuns {
  test::Problem p;
  Model forgetting;
  EvalData data;
  Split split;
};

TwoRuns two_runs() {
  auto p = test::make_problem(1);
  Model forgetting = p.model.clone();
  {
    torch::NoGradGuard g;
    auto bias = forgetting.group_parameters("classifier").back();
    bias[0] -= 100;
  }
  auto test_blobs = test::blobs(3, 40, 101);
  EvalData data;
  data.train_inputs = p.data.x;
  data.train_labels = p.data.y;
  data.test_inputs = test_blobs.x;
  data.test_labels = test_blobs.y;
  data.class_names = {"a", "b", "c"};
  Split split;
  split.train = {p.udata.forget, p.udata.retain};
  split.test = {torch::nonzero(test_blobs.y.eq(0)).flatten(),
                torch::nonzero(test_blobs.y.ne(0)).flatten()};
  return {p, forgetting, data, split};
}

TEST(CompositeSearch, TriesEveryGridCombinationOrFallsBackForManyGroups) {
  auto r = two_runs();
  EXPECT_EQ(composite_candidates(r.p.model, 2, CompositeSearchOptions().grid(3)).size(), 9u);
  EXPECT_EQ(composite_candidates(r.p.model, 3, CompositeSearchOptions()).size(), 9u);  // 3^2
  // Six ResNet-18 groups: 5^6 mixes exceed the cap, so one shared weight (5) plus 2^6 swaps.
  ModelSpec spec;
  spec.arch = "resnet18";
  spec.options = ArchOptions(3).in_channels(1).input_size(8).width(0.0625);
  spec.input.size = 8;
  Model resnet = Model::create(spec);
  EXPECT_EQ(composite_candidates(resnet, 2, CompositeSearchOptions()).size(), 5u + 64u);
  const std::string msg = message_of<UsageError>(
      [&] { composite_candidates(resnet, 3, CompositeSearchOptions().max_candidates(100)); });
  EXPECT_NE(msg.find("name fewer --groups"), std::string::npos) << msg;
}

TEST(CompositeSearch, ChoosesTheMostRetentionAmongCandidatesThatForget) {
  auto r = two_runs();
  NullObserver quiet;
  const auto found =
      search_composites({{&r.p.model, "keep"}, {&r.forgetting, "forget"}}, r.data, r.split, nullptr,
                        CompositeSearchOptions().grid(3).max_forget_acc(5), RunContext(), quiet);
  const auto& s = found.summary;
  ASSERT_EQ(s["candidates"].size(), 9u);
  EXPECT_TRUE(s["met"].get<bool>());
  const auto& chosen = s["candidates"][s["chosen"].get<size_t>()];
  EXPECT_LE(chosen["metrics"]["FTA"].get<double>(), 5.0);
  EXPECT_EQ(chosen["weights"]["classifier"][1].get<double>() > 0, true);
  for (const auto& c : s["candidates"]) {
    EXPECT_EQ(c["feasible"].get<bool>(), c["metrics"]["FTA"].get<double>() <= 5.0);
    if (c["feasible"].get<bool>()) {
      EXPECT_LE(c["metrics"]["RTA"].get<double>(), chosen["metrics"]["RTA"].get<double>());
    }
  }
  EXPECT_FALSE(s["pareto_front"].empty());
}

TEST(CompositeSearch, MatchRetrainUsesTheRetrainsFigures) {
  auto r = two_runs();
  NullObserver quiet;
  const std::vector<MergeSource> sources{{&r.p.model, "keep"}, {&r.forgetting, "forget"}};
  const auto found = search_composites(
      sources, r.data, r.split, &r.forgetting,
      CompositeSearchOptions().grid(3).goal(CompositeGoal::match_retrain).max_gap(0.0),
      RunContext(), quiet);
  // The forgetting run itself is a candidate and matches the "retrain" exactly.
  EXPECT_TRUE(found.summary["met"].get<bool>());
  // With no gap allowed, the chosen candidate's UA and MIA are exactly the retrain's.
  const auto& chosen = found.summary["candidates"][found.summary["chosen"].get<size_t>()];
  EXPECT_EQ(chosen["metrics"]["UA"].get<double>(),
            found.summary["retrain_metrics"]["UA"].get<double>());
  EXPECT_EQ(chosen["metrics"]["MIA_efficacy"].get<double>(),
            found.summary["retrain_metrics"]["MIA_efficacy"].get<double>());

  std::string msg = message_of<UsageError>([&] {
    search_composites(sources, r.data, r.split, nullptr, CompositeSearchOptions().grid(3),
                      RunContext(), quiet);
  });
  EXPECT_NE(msg.find("needs --max-forget-acc or --retrain"), std::string::npos) << msg;
  msg = message_of<UsageError>([&] {
    search_composites(sources, r.data, r.split, nullptr,
                      CompositeSearchOptions().goal(CompositeGoal::match_retrain), RunContext(),
                      quiet);
  });
  EXPECT_NE(msg.find("match-retrain goal needs --retrain"), std::string::npos) << msg;
}

TEST(CompositeSearch, SubsamplingKeepsForgetAndRetainInProportion) {
  auto r = two_runs();
  const auto [data, split] = subsample_train(r.data, r.split, 30, 0);
  EXPECT_EQ(split.train.forget.numel(), 10);
  EXPECT_EQ(split.train.retain.numel(), 20);
  EXPECT_EQ(data.train_inputs.size(0), 30);
  EXPECT_TRUE(data.train_labels.slice(0, 0, 10).eq(0).all().item<bool>());
  EXPECT_TRUE(data.train_labels.slice(0, 10).ne(0).all().item<bool>());
  EXPECT_EQ(data.test_inputs.size(0), r.data.test_inputs.size(0));
}

}  // namespace
}  // namespace unlearn
