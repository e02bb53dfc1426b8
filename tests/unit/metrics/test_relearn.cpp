#include <gtest/gtest.h>
#include <torch/torch.h>

#include "expect_error.h"
#include "methods/tiny_problem.h"
#include "unlearn/metrics/relearn.h"

namespace unlearn {
namespace {

using test::expect_invalid;

TEST(Relearn, ModelAlreadyAtTargetTakesNoSteps) {
  auto p = test::make_problem(1);
  const double target = test::forget_accuracy(p.model, p);
  const auto r = relearn_steps(p.model, p.data.x, p.data.y, p.udata.forget, target);
  EXPECT_TRUE(r.reached);
  EXPECT_EQ(r.steps, 0);
  EXPECT_DOUBLE_EQ(r.accuracy, target);
}

TEST(Relearn, ForgottenModelRelearnsWithoutTouchingTheInput) {
  // The "forgotten" model is trained on D_r only, so it never predicts class 0.
  auto p = test::make_problem(2);
  const double target = test::forget_accuracy(p.model, p);
  Model forgotten = test::point_model(2, 3, 1, 2);
  NullObserver obs;
  train_model(forgotten, p.data.x, p.data.y, p.udata.retain,
              TrainOptions().epochs(15).batch(16).lr(0.1).seed(2), RunContext(), obs);
  ASSERT_LT(test::forget_accuracy(forgotten, p), target);
  const Model before = forgotten.clone();
  const auto opts = RelearnOptions().lr(0.05).batch(8).max_steps(500).seed(4);
  const auto r = relearn_steps(forgotten, p.data.x, p.data.y, p.udata.forget, target, opts);
  EXPECT_TRUE(r.reached);
  EXPECT_GT(r.steps, 0);
  EXPECT_LE(r.steps, 500);
  EXPECT_GE(r.accuracy, target);
  EXPECT_TRUE(test::same_state(forgotten, before));
  // Deterministic for a seed.
  EXPECT_EQ(relearn_steps(forgotten, p.data.x, p.data.y, p.udata.forget, target, opts).steps,
            r.steps);
  EXPECT_EQ(r.steps_to_target, r.steps);
  // With run_all_steps the budget is spent, and the step that reached the target is kept;
  // training on some rows and checking others gives back the fine-tuned copy.
  const int64_t half = p.udata.forget.numel() / 2;
  const auto all = relearn(forgotten, p.data.x, p.data.y, p.udata.forget.slice(0, 0, half),
                           p.udata.forget.slice(0, half), target,
                           RelearnOptions(opts).max_steps(r.steps + 20).run_all_steps(true));
  EXPECT_EQ(all.result.steps, r.steps + 20);
  EXPECT_TRUE(all.result.reached);
  EXPECT_LT(all.result.steps_to_target, all.result.steps);
  EXPECT_FALSE(test::same_state(all.model, forgotten));
  // An unreachable target runs out of steps.
  const auto never = relearn_steps(forgotten, p.data.x, p.data.y, p.udata.forget, 101.0,
                                   RelearnOptions().max_steps(3));
  EXPECT_FALSE(never.reached);
  EXPECT_EQ(never.steps, 3);
}

TEST(Relearn, InvalidInputs) {
  auto p = test::make_problem(3);
  expect_invalid(
      [&] {
        relearn_steps(p.model, p.data.x, p.data.y, p.udata.forget, 90, RelearnOptions().lr(0));
      },
      "lr");
  expect_invalid(
      [&] { relearn_steps(p.model, p.data.x, p.data.y, torch::empty({0}, torch::kLong), 90); },
      "forget_rows");
}

}  // namespace
}  // namespace unlearn
