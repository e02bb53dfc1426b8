#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "methods/tiny_problem.h"
#include "test_util.h"
#include "unlearn/core/error.h"
#include "unlearn/methods/boundary_expanding.h"
#include "unlearn/methods/registry.h"

namespace unlearn {
namespace {

using test::forget_accuracy;
using test::make_problem;

BoundaryExpandingOptions fast_options() {
  return BoundaryExpandingOptions().epochs(10).lr(0.05).batch(8);
}

TEST(BoundaryExpanding, ForgetsTheForgetSetAndNeverMutatesItsInput) {
  auto p = make_problem(41);
  Model before = p.model.clone();
  ASSERT_GT(forget_accuracy(p.model, p), 90.0);
  CollectingObserver obs;
  auto result = BoundaryExpanding(fast_options()).run(p.model, p.udata, RunContext(), obs);
  EXPECT_TRUE(test::same_state(p.model, before));
  EXPECT_LT(forget_accuracy(result.model, p), 50.0);
  ASSERT_EQ(result.trace.size(), 50u);  // 40 forget rows / 8 × 10 passes
  EXPECT_EQ(obs.records.size(), result.trace.size());
  // The forget rows end up in the shadow class.
  EXPECT_GT(result.trace.back().values.at("shadow_share"), 0.5);
}

TEST(BoundaryExpanding, ReturnsTheOriginalNumberOfOutputs) {
  auto p = make_problem(42);
  NullObserver obs;
  auto result =
      BoundaryExpanding(fast_options().epochs(1)).run(p.model, p.udata, RunContext(), obs);
  EXPECT_EQ(result.model.num_classes(), 3);
  torch::NoGradGuard no_grad;
  EXPECT_EQ(result.model.logits(p.data.x).size(1), 3);
  EXPECT_EQ(result.model.named_parameters().size(), p.model.named_parameters().size());
}

TEST(BoundaryExpanding, AnEmptyForgetSetChangesNothing) {
  auto p = make_problem(43);
  p.udata.forget = torch::empty({0}, torch::kInt64);
  NullObserver obs;
  auto result =
      BoundaryExpanding(BoundaryExpandingOptions()).run(p.model, p.udata, RunContext(), obs);
  EXPECT_TRUE(test::same_state(result.model, p.model));
  EXPECT_TRUE(result.trace.empty());
}

TEST(BoundaryExpanding, BadOptionsAreUsageErrorsNamingTheFlag) {
  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{
           {"epochs", "0"}, {"batch", "0"}, {"momentum", "1.5"}}) {
    try {
      make_method("boundary-expanding", {{flag, value}});
      ADD_FAILURE() << flag << ": no error";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("--" + flag), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace unlearn
