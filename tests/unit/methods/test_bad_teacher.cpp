#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "methods/tiny_problem.h"
#include "test_util.h"
#include "unlearn/core/error.h"
#include "unlearn/methods/bad_teacher.h"
#include "unlearn/methods/registry.h"

namespace unlearn {
namespace {

using test::forget_accuracy;
using test::make_problem;
using test::retain_accuracy;

BadTeacherOptions fast_options() {
  return BadTeacherOptions().epochs(20).lr(0.01).batch(16).retain_fraction(0.5);
}

TEST(BadTeacher, ForgetsTheForgetSetAndNeverMutatesItsInput) {
  auto p = make_problem(51);
  Model before = p.model.clone();
  ASSERT_GT(forget_accuracy(p.model, p), 90.0);
  CollectingObserver obs;
  auto result = BadTeacher(fast_options()).run(p.model, p.udata, RunContext(), obs);
  EXPECT_TRUE(test::same_state(p.model, before));
  std::printf("bad-teacher: forget %.1f%%, retain %.1f%%\n", forget_accuracy(result.model, p),
              retain_accuracy(result.model, p));
  EXPECT_LT(forget_accuracy(result.model, p), 50.0);
  EXPECT_GT(retain_accuracy(result.model, p), 80.0);
  // 40 forget + 40 sampled retain rows, batches of 16, 20 passes.
  EXPECT_EQ(result.trace.size(), 100u);
  EXPECT_EQ(result.summary["retain_rows"], 40);
}

TEST(BadTeacher, TheIncompetentTeacherIsSeeded) {
  auto spec = test::point_model(2, 3, 1, 0).spec();
  torch::manual_seed(1);
  auto a = incompetent_teacher(spec, 7);
  torch::manual_seed(2);
  EXPECT_TRUE(test::same_state(a, incompetent_teacher(spec, 7)));
  EXPECT_FALSE(test::same_state(a, incompetent_teacher(spec, 8)));
  // A whole run is a function of --method-seed and the run seed.
  auto p = make_problem(52);
  NullObserver obs;
  auto opts = fast_options().epochs(2);
  auto r1 = BadTeacher(opts).run(p.model, p.udata, RunContext().seed(4), obs);
  auto r2 = BadTeacher(opts).run(p.model, p.udata, RunContext().seed(4), obs);
  EXPECT_TRUE(test::same_state(r1.model, r2.model));
  opts.method_seed(1);
  auto r3 = BadTeacher(opts).run(p.model, p.udata, RunContext().seed(4), obs);
  EXPECT_FALSE(test::same_state(r1.model, r3.model));
}

TEST(BadTeacher, AnEmptyForgetSetChangesNothing) {
  auto p = make_problem(53);
  p.udata.forget = torch::empty({0}, torch::kInt64);
  NullObserver obs;
  auto result = BadTeacher(BadTeacherOptions()).run(p.model, p.udata, RunContext(), obs);
  EXPECT_TRUE(test::same_state(result.model, p.model));
  EXPECT_TRUE(result.trace.empty());
}

TEST(BadTeacher, BadOptionsAreUsageErrorsNamingTheFlag) {
  for (const auto& [flag, value] :
       std::vector<std::pair<std::string, std::string>>{{"retain-fraction", "1.5"},
                                                        {"retain-fraction", "0"},
                                                        {"temperature", "0"},
                                                        {"epochs", "-1"}}) {
    try {
      make_method("bad-teacher", {{flag, value}});
      ADD_FAILURE() << flag << ": no error";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("--" + flag), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace unlearn
