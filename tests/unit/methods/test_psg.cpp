#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include "methods/tiny_problem.h"
#include "test_util.h"
#include "unlearn/core/error.h"
#include "unlearn/methods/psg.h"
#include "unlearn/methods/registry.h"
#include "unlearn/metrics/accuracy.h"
#include "unlearn/models/flops.h"
#include "unlearn/train/trainer.h"

namespace unlearn {
namespace {

using test::forget_accuracy;
using test::make_problem;
using test::Problem;

// Epsilon large enough to cross the blobs' boundaries, lr large enough to move a tiny model.
PsgOptions fast_options() {
  return PsgOptions()
      .epsilon(0.5)
      .inner_steps(4)
      .quantize(false)
      .lr(0.5)
      .passes(20)
      .batch(8)
      .retain_weight(0)
      .target_forget_acc(-1);
}

class PsgSeeds : public ::testing::TestWithParam<uint64_t> {};

TEST_P(PsgSeeds, ForgetsTheForgetSetAndNeverMutatesItsInput) {
  auto p = make_problem(GetParam());
  Model before = p.model.clone();
  ASSERT_GT(forget_accuracy(p.model, p), 90.0);
  CollectingObserver obs;
  auto result = Psg(fast_options()).run(p.model, p.udata, RunContext().seed(GetParam()), obs);
  EXPECT_TRUE(test::same_state(p.model, before));
  EXPECT_LT(forget_accuracy(result.model, p), 20.0);
  EXPECT_FALSE(result.trace.empty());
  EXPECT_EQ(obs.records.size(), result.trace.size());
}

INSTANTIATE_TEST_SUITE_P(Seeds, PsgSeeds, ::testing::Values(1, 2, 3, 4));

TEST(Psg, Bf16AutocastStillForgetsAndKeepsWeightsInFp32) {
  auto p = make_problem(2);
  NullObserver obs;
  auto result =
      Psg(fast_options()).run(p.model, p.udata, RunContext().precision(Precision::bf16), obs);
  EXPECT_LT(forget_accuracy(result.model, p), 20.0);
  for (const auto& t : result.model.parameters()) EXPECT_EQ(t.scalar_type(), torch::kFloat32);
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
}

TEST(Psg, SummaryCountsTheLoopsFlopsAndTime) {
  auto p = make_problem(3);
  NullObserver obs;
  auto result = Psg(fast_options().passes(1)).run(p.model, p.udata, RunContext(), obs);
  // 40 forget rows in 5 batches of 8; per row: search (4 forwards + 4 input backwards), the
  // reference logits, and the update (forward + weight backward).
  const ForwardCost cost = forward_cost(p.model);
  const double expected = pass_flops(cost, 40, 5, 4, 0) + pass_flops(cost, 40, 1, 0, 1);
  EXPECT_DOUBLE_EQ(result.summary["flops"].get<double>(), expected);
  EXPECT_GT(result.summary["loop_seconds"].get<double>(), 0.0);
  EXPECT_GT(result.summary["gflops_per_second"].get<double>(), 0.0);
}

TEST(Psg, OneStepSearchesOfTheFrozenOriginalReuseEachSamplesGradientAfterThePassItIsMadeIn) {
  auto p = make_problem(4);
  NullObserver obs;
  auto result =
      Psg(fast_options().inner_steps(1).passes(3)).run(p.model, p.udata, RunContext(), obs);
  EXPECT_TRUE(result.summary["gradient_cache"].get<bool>());
  // 40 forget rows: their search gradients once, then per drawn row the reference logits at x*
  // and the update's forward and weight backward, over 3 passes.
  const ForwardCost cost = forward_cost(p.model);
  EXPECT_DOUBLE_EQ(result.summary["flops"].get<double>(),
                   pass_flops(cost, 40, 1, 1, 0) + pass_flops(cost, 120, 2, 0, 1));
  EXPECT_LT(forget_accuracy(result.model, p), 20.0);
  auto current = Psg(fast_options().inner_steps(1).reference(BoundaryReference::current))
                     .run(p.model, p.udata, RunContext(), obs);
  EXPECT_FALSE(current.summary["gradient_cache"].get<bool>());
}

TEST(Psg, RunsOnCudaWhereAGpuIsPresent) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  auto p = make_problem(1);
  NullObserver obs;
  auto result = Psg(fast_options()).run(p.model, p.udata, RunContext().device(torch::kCUDA), obs);
  result.model.to(torch::kCPU);
  EXPECT_LT(forget_accuracy(result.model, p), 20.0);
  EXPECT_TRUE(p.model.device().is_cpu());
}

TEST(Psg, AnEmptyForgetSetChangesNothing) {
  auto p = make_problem(6);
  p.udata.forget = torch::empty({0}, torch::kInt64);
  NullObserver obs;
  auto result = Psg(PsgOptions()).run(p.model, p.udata, RunContext(), obs);
  EXPECT_TRUE(test::same_state(result.model, p.model));
  EXPECT_TRUE(result.trace.empty());
}

TEST(Psg, TraceRecordsTheConvergenceQuantitiesPerOuterStep) {
  auto p = make_problem(5);
  NullObserver obs;
  auto result = Psg(fast_options().passes(2)).run(p.model, p.udata, RunContext(), obs);
  ASSERT_EQ(result.trace.size(), 10u);  // 40 forget samples / batch 8 × 2 passes
  for (const char* key :
       {"flip_rate", "lower_objective", "forget_loss", "retain_loss", "total_loss", "grad_norm"}) {
    EXPECT_TRUE(result.trace[0].values.count(key)) << key;
  }
  EXPECT_EQ(result.trace[3].step, 4);
  EXPECT_EQ(result.summary["relabel_counts"].size(), 3u);
}

TEST(Psg, OuterLossDecreasesInExpectation) {
  // Logistic regression (convex in θ): averaged over seeds, the forget loss per outer step
  // goes down window by window.
  constexpr int kSeeds = 6, kSteps = 50, kWindows = 5;
  std::vector<double> mean_loss(kSteps, 0.0);
  for (int s = 0; s < kSeeds; ++s) {
    auto p = make_problem(10 + s, /*hidden=*/0);
    NullObserver obs;
    auto opts = fast_options().lr(0.05).passes(10).gamma(1e-3);
    auto result = Psg(opts).run(p.model, p.udata, RunContext().seed(s), obs);
    ASSERT_EQ(result.trace.size(), static_cast<size_t>(kSteps));
    for (int t = 0; t < kSteps; ++t)
      mean_loss[t] += result.trace[t].values.at("forget_loss") / kSeeds;
  }
  double previous = 1e9;
  for (int w = 0; w < kWindows; ++w) {
    double window = 0;
    for (int t = w * 10; t < (w + 1) * 10; ++t) window += mean_loss[t] / 10;
    EXPECT_LT(window, previous) << "window " << w;
    previous = window;
  }
}

TEST(Psg, RetainTermKeepsRetainAccuracy) {
  auto p = make_problem(7);
  NullObserver obs;
  auto retain_accuracy = [&](double phi) {
    auto r =
        Psg(fast_options().lr(0.1).retain_weight(phi)).run(p.model, p.udata, RunContext(), obs);
    torch::NoGradGuard g;
    auto xr = p.data.x.index_select(0, p.udata.retain);
    auto yr = p.data.y.index_select(0, p.udata.retain);
    return accuracy_percent(r.model.logits(xr), yr);
  };
  const double without = retain_accuracy(0.0), with = retain_accuracy(1.0);
  std::printf("retain accuracy: phi=0 %.1f%%, phi=1 %.1f%%\n", without, with);
  EXPECT_GE(with, without);
  EXPECT_GT(with, 90.0);
}

TEST(Psg, EarlyStoppingEndsTheRunOnceTheTargetIsReached) {
  auto p = make_problem(8);
  NullObserver obs;
  auto result =
      Psg(fast_options().passes(50).target_forget_acc(10)).run(p.model, p.udata, RunContext(), obs);
  EXPECT_LT(result.trace.size(), 250u);
  EXPECT_EQ(result.summary["stop_reason"], "running forget accuracy reached the target");
}

TEST(Psg, EveryLabelModeAndBatchNormModeRuns) {
  auto p = make_problem(9);
  NullObserver obs;
  for (const auto& mode : ChoiceTable<LabelMode>::kAll) {
    auto r = Psg(fast_options().passes(1).label_mode(mode.value).top_k(2))
                 .run(p.model, p.udata, RunContext(), obs);
    EXPECT_TRUE(std::isfinite(r.trace.back().values.at("total_loss"))) << mode.name;
  }
  for (const auto& bn : ChoiceTable<BnMode>::kAll) {
    for (const auto& target : ChoiceTable<RetainTarget>::kAll) {
      auto r = Psg(fast_options().passes(1).bn_mode(bn.value).retain_weight(0.5).retain_target(
                       target.value))
                   .run(p.model, p.udata, RunContext(), obs);
      // Raw logits as target "probabilities" make a cross-entropy of any sign.
      const double retain_loss = r.trace.back().values.at("retain_loss");
      if (target.value == RetainTarget::raw_logits) {
        EXPECT_NE(retain_loss, 0.0) << bn.name << " " << target.name;
      } else {
        EXPECT_GT(retain_loss, 0.0) << bn.name << " " << target.name;
      }
      EXPECT_EQ(r.summary["bn_mode"], bn.name);
    }
  }
  auto r = Psg(fast_options()
                   .passes(1)
                   .reference(BoundaryReference::current)
                   .optimizer(OptimizerKind::adam))
               .run(p.model, p.udata, RunContext(), obs);
  EXPECT_EQ(r.trace.size(), 5u);
}

TEST(Psg, LambdaSchedulesWorkedByHand) {
  auto o = PsgOptions().lambda(1.0).lambda_rate(0.5);
  EXPECT_DOUBLE_EQ(scheduled_lambda(o.lambda_schedule(LambdaSchedule::constant), 3, 10), 1.0);
  EXPECT_DOUBLE_EQ(scheduled_lambda(o.lambda_schedule(LambdaSchedule::inverse), 4, 10), 0.25);
  EXPECT_NEAR(scheduled_lambda(o.lambda_schedule(LambdaSchedule::exponential), 2, 10),
              std::exp(-1.0), 1e-12);
  EXPECT_DOUBLE_EQ(scheduled_lambda(o.lambda_schedule(LambdaSchedule::linear), 5, 10), 0.5);
}

TEST(Registry, BoundaryShrinkIsPsgWithItsFixedConfiguration) {
  auto m = make_method("boundary-shrink");
  auto j = m->options_json();
  EXPECT_EQ(m->name(), "boundary-shrink");
  EXPECT_EQ(j["inner-steps"], 1);
  EXPECT_EQ(j["step-size"], 0.0);
  EXPECT_EQ(j["gamma"], 0.0);
  EXPECT_EQ(j["lambda"], 0.0);
  EXPECT_EQ(j["retain-weight"], 0.0);
  EXPECT_THROW(make_method("boundary-shrink", {{"gamma", "0.1"}}), UsageError);
}

TEST(Registry, AuthorsPresetRestoresThePublishedValuesAndFlagsOverrideIt) {
  auto j = make_method("psg", {{"preset", "authors"}})->options_json();
  EXPECT_EQ(j["lr"], 1e-5);
  EXPECT_EQ(j["passes"], 10);
  EXPECT_EQ(j["gamma"], 1e-4);
  EXPECT_EQ(j["bn-mode"], "train");
  EXPECT_EQ(j["target-forget-acc"], -1.0);
  EXPECT_EQ(j["authors-exact"], false);
  auto k = make_method("psg", {{"preset", "authors-exact"}, {"lr", "0.01"}})->options_json();
  EXPECT_EQ(k["authors-exact"], true);
  EXPECT_EQ(k["lr"], 0.01);
}

TEST(Registry, ThoroughPresetRecalibratesAfterOneFullPass) {
  auto j = make_method("psg", {{"preset", "thorough"}})->options_json();
  EXPECT_EQ(j["bn-mode"], "recalibrate");
  EXPECT_EQ(j["passes"], 1);
  EXPECT_EQ(j["target-forget-acc"], -1.0);
  EXPECT_EQ(j["retain-weight"], 1.0);
  EXPECT_EQ(j["lr"], 2e-3);
}

TEST(Registry, BadOptionsAreUsageErrorsNamingTheFlag) {
  auto message = [](const OptionValues& v) {
    try {
      make_method("psg", v);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({{"epsilon", "abc"}}).find("--epsilon"), std::string::npos);
  EXPECT_NE(message({{"norm", "l3"}}).find("--norm"), std::string::npos);
  EXPECT_NE(message({{"bogus", "1"}}).find("--bogus"), std::string::npos);
  EXPECT_NE(message({{"lr", "-1"}}).find("--lr"), std::string::npos);
  EXPECT_NE(message({{"preset", "mine"}}).find("--preset"), std::string::npos);
  EXPECT_THROW(make_method("nope"), UsageError);
}

}  // namespace
}  // namespace unlearn
