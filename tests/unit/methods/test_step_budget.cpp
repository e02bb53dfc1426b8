#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "methods/tiny_problem.h"
#include "unlearn/methods/registry.h"
#include "unlearn/methods/step_budget.h"
#include "unlearn/train/trainer.h"

namespace unlearn {
namespace {

using namespace std::chrono_literals;
using Clock = StepBudget::Clock;

/// A clock that moves `step` forward each time it is read after the start: one read per step.
struct FakeClock {
  Clock::time_point t = Clock::time_point{} + 1h;
  Clock::duration step = 10ms;
  Clock::time_point operator()() {
    const auto now = t;
    t += step;
    return now;
  }
};

std::vector<int64_t> positions(StepBudget& budget) {
  std::vector<int64_t> out;
  while (const auto t = budget.next()) out.push_back(*t);
  return out;
}

TEST(StepBudget, WithoutADeadlineEveryPlannedStepRunsInOrder) {
  StepBudget budget(5, std::nullopt);
  EXPECT_EQ(positions(budget), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_FALSE(budget.cut());
  EXPECT_EQ(budget.taken(), 5);
}

TEST(StepBudget, AnAmpleDeadlineChangesNothing) {
  FakeClock clock;
  StepBudget budget(5, clock.t + 1h, std::ref(clock));
  EXPECT_EQ(positions(budget), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_FALSE(budget.cut());
}

TEST(StepBudget, ATightDeadlineThinsThePlanEvenlyToItsLastStep) {
  // 10 ms a step and 55 ms: five steps fit into a plan of 100, spread to its end so that a
  // schedule over the plan keeps its shape.
  FakeClock clock;
  StepBudget budget(100, clock.t + 55ms, std::ref(clock));
  const auto taken = positions(budget);
  EXPECT_TRUE(budget.cut());
  ASSERT_EQ(taken.size(), 5u);
  EXPECT_EQ(taken.front(), 0);
  EXPECT_EQ(taken.back(), 99);
  for (size_t i = 1; i < taken.size(); ++i) EXPECT_GT(taken[i], taken[i - 1]);
}

TEST(StepBudget, ADeadlineAlreadyPastStillRunsOneStep) {
  FakeClock clock;
  StepBudget budget(50, clock.t - 1s, std::ref(clock));
  EXPECT_EQ(positions(budget), (std::vector<int64_t>{0}));
  EXPECT_TRUE(budget.cut());
}

TEST(StepBudget, AnEmptyPlanRunsNothing) {
  StepBudget budget(0, std::nullopt);
  EXPECT_FALSE(budget.next().has_value());
}

// Every iterative method honours a deadline: one already past leaves it one step (PSG, the
// fine-tuning family) and a summary that says how many were planned. Blobs of 300 rows a class,
// so that every method's default plan has many steps.
TEST(StepBudget, EveryIterativeMethodStopsAtAPastDeadline) {
  const auto data = test::blobs(3, 300, 3);
  Model model = test::point_model(2, 3, 2, 3);
  NullObserver quiet;
  const auto all = torch::arange(data.y.size(0), torch::kInt64);
  train_model(model, data.x, data.y, all, TrainOptions().epochs(2).batch(32).lr(0.1).seed(3),
              RunContext(), quiet);
  const UnlearnData udata{data.x, data.y, torch::nonzero(data.y.eq(0)).flatten(),
                          torch::nonzero(data.y.ne(0)).flatten()};
  const RunContext context = RunContext().threads(1).deadline(Clock::now() - 1s);
  for (const std::string name : {"finetune", "gradient-ascent", "neggrad-plus", "random-label",
                                 "l1-sparse", "scrub", "bad-teacher", "delete", "eu-k", "cf-k",
                                 "salun", "boundary-expanding", "boundary-shrink", "psg"}) {
    SCOPED_TRACE(name);
    const auto method = make_method(name, {});
    const MethodResult r = method->run(model, udata, context, quiet);
    EXPECT_EQ(r.summary.value("steps", int64_t{-1}), 1);
    ASSERT_TRUE(r.summary.contains("planned_steps"));
    EXPECT_GT(r.summary["planned_steps"].get<int64_t>(), 1);
  }
}

}  // namespace
}  // namespace unlearn
