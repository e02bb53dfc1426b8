#include "unlearn/methods/step_budget.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace unlearn {

StepBudget::StepBudget(int64_t planned, Deadline deadline, std::function<Clock::time_point()> now)
    : planned_(std::max<int64_t>(planned, 0)),
      deadline_(deadline),
      now_(std::move(now)),
      start_(now_()) {}

std::optional<int64_t> StepBudget::next() {
  const int64_t remaining = planned_ - 1 - last_;  // planned steps not yet reached
  if (remaining <= 0) return std::nullopt;
  int64_t stride = 1;
  if (deadline_ && taken_ > 0) {
    const auto now = now_();
    const double left = std::chrono::duration<double>(*deadline_ - now).count();
    const double per_step =
        std::chrono::duration<double>(now - start_).count() / static_cast<double>(taken_);
    const double fit = per_step > 0 ? std::floor(left / per_step) : static_cast<double>(remaining);
    if (fit < 1) {
      cut_ = true;
      return std::nullopt;
    }
    if (fit < static_cast<double>(remaining)) {
      cut_ = true;
      // `fit` more steps, the last of them on the plan's last step.
      stride = static_cast<int64_t>(std::ceil(static_cast<double>(remaining) / fit));
      stride = std::min(stride, remaining);
    }
  }
  last_ += stride;
  ++taken_;
  return last_;
}

}  // namespace unlearn
