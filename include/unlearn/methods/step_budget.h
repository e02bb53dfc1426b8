#pragma once
// Fitting a method's planned steps into a time budget (forget --time-budget, the bench's
// budgets). The steps that do not fit are dropped evenly across the plan rather than from its
// end, so a schedule (a decaying weight, SCRUB's max and min phases, PSG's lambda) keeps its
// shape: a run at a tenth of its time is a compressed run, not the first tenth of one.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include "unlearn/core/context.h"

namespace unlearn {

/// Which planned step to run next. Without a deadline: 0, 1, ..., planned - 1. With one: after
/// each step, the steps that still fit at the mean step time so far, and a stride over the
/// remaining plan that spreads them to its end. At least one step always runs.
/// Example: StepBudget budget(n, context.deadline());
///          while (auto t = budget.next()) run_step(*t);
class StepBudget {
 public:
  using Clock = std::chrono::steady_clock;
  /// `now` reads the clock (a test passes its own).
  StepBudget(int64_t planned, Deadline deadline,
             std::function<Clock::time_point()> now = Clock::now);
  /// The planned step (0-based) to run now, or nullopt when the plan is done or no further
  /// step fits before the deadline.
  std::optional<int64_t> next();
  int64_t planned() const { return planned_; }
  /// Steps handed out so far.
  int64_t taken() const { return taken_; }
  /// Whether the budget dropped planned steps.
  bool cut() const { return cut_; }

 private:
  int64_t planned_;
  Deadline deadline_;
  std::function<Clock::time_point()> now_;
  Clock::time_point start_;
  int64_t taken_ = 0;
  int64_t last_ = -1;  // the last planned step handed out
  bool cut_ = false;
};

}  // namespace unlearn
