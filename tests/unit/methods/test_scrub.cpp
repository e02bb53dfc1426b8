#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>

#include "methods/tiny_problem.h"
#include "test_util.h"
#include "unlearn/core/error.h"
#include "unlearn/methods/registry.h"
#include "unlearn/methods/scrub.h"

namespace unlearn {
namespace {

using test::forget_accuracy;
using test::make_problem;
using test::retain_accuracy;

ScrubOptions fast_options() {
  return ScrubOptions().epochs(6).max_steps(5).retain_batches(0).forget_batch(8).lr(0.05);
}

TEST(Scrub, DistillationKlWorkedByHand) {
  // Teacher softmax (1/2, 1/2), student log-softmax of logits (ln 3, 0) = (ln 3/4, ln 1/4):
  // KL = 1/2 ln(2/3) + 1/2 ln 2 = 1/2 ln(4/3); T = 1.
  auto s = torch::tensor({{std::log(3.0), 0.0}});
  auto t = torch::tensor({{0.0, 0.0}});
  EXPECT_NEAR(distillation_kl(s, t, 1).item<double>(), 0.5 * std::log(4.0 / 3.0), 1e-6);
  // T = 2 divides the logits and multiplies by 4.
  auto s2 = torch::tensor({{2 * std::log(3.0), 0.0}});
  EXPECT_NEAR(distillation_kl(s2, t, 2).item<double>(), 2 * std::log(4.0 / 3.0), 1e-6);
}

TEST(Scrub, ForgetsTheForgetSetAndNeverMutatesItsInput) {
  auto p = make_problem(31);
  Model before = p.model.clone();
  ASSERT_GT(forget_accuracy(p.model, p), 90.0);
  CollectingObserver obs;
  auto result = Scrub(fast_options()).run(p.model, p.udata, RunContext(), obs);
  EXPECT_TRUE(test::same_state(p.model, before));
  std::printf("scrub: forget %.1f%%, retain %.1f%%\n", forget_accuracy(result.model, p),
              retain_accuracy(result.model, p));
  EXPECT_LT(forget_accuracy(result.model, p), 50.0);
  EXPECT_EQ(obs.records.size(), result.trace.size());
}

TEST(Scrub, TheOptimiserMovesTheStudentAwayFromTheTeacher) {
  // The public code's pitfall: an optimiser built on another model leaves the student equal to
  // the teacher, so KL stays 0. Here the student starts at KL = 0; on this model (no batch norm,
  // no dropout) the first max steps sit at KL's minimum, where its gradient vanishes, but after
  // the first min step every max step drives the student further from the teacher.
  auto p = make_problem(32);
  NullObserver obs;
  auto result =
      Scrub(fast_options().epochs(3).max_steps(2)).run(p.model, p.udata, RunContext(), obs);
  // Per epoch: 5 max steps (40 forget rows / 8) while epoch <= 2, then one min step (80 retain
  // rows, one batch of 128).
  ASSERT_EQ(result.trace.size(), 13u);
  auto kl = [&](size_t t) { return result.trace[t].values.at("kl"); };
  EXPECT_EQ(result.trace[4].values.at("max_step"), 1.0);
  EXPECT_EQ(result.trace[5].values.at("max_step"), 0.0);
  EXPECT_EQ(result.trace[11].values.at("max_step"), 0.0);
  EXPECT_EQ(result.trace[12].values.at("epoch"), 3.0);
  EXPECT_LT(kl(0), 1e-5);  // zero up to float rounding
  for (size_t t = 7; t <= 10; ++t) EXPECT_GT(kl(t), 1.5 * kl(t - 1)) << "step " << t + 1;
  EXPECT_GT(kl(10), 0.01);
  EXPECT_FALSE(test::same_state(result.model, p.model));
  EXPECT_EQ(result.summary["max_steps"], 10);
  EXPECT_EQ(result.summary["min_steps"], 3);
}

TEST(Scrub, RetainBatchesCapsTheMinSteps) {
  auto p = make_problem(33);
  NullObserver obs;
  auto result = Scrub(fast_options().epochs(3).max_steps(0).retain_batches(1))
                    .run(p.model, p.udata, RunContext(), obs);
  EXPECT_EQ(result.trace.size(), 3u);
}

TEST(Scrub, AnEmptyForgetSetChangesNothing) {
  auto p = make_problem(34);
  p.udata.forget = torch::empty({0}, torch::kInt64);
  NullObserver obs;
  auto result = Scrub(ScrubOptions()).run(p.model, p.udata, RunContext(), obs);
  EXPECT_TRUE(test::same_state(result.model, p.model));
  EXPECT_TRUE(result.trace.empty());
}

TEST(Scrub, BadOptionsAreUsageErrorsNamingTheFlag) {
  for (const auto& [flag, value] :
       std::vector<std::pair<std::string, std::string>>{{"temperature", "0"},
                                                        {"max-steps", "-1"},
                                                        {"retain-batches", "-2"},
                                                        {"alpha", "-1"},
                                                        {"optimizer", "rmsprop"}}) {
    try {
      make_method("scrub", {{flag, value}});
      ADD_FAILURE() << flag << ": no error";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("--" + flag), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace unlearn
