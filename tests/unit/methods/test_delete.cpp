#include <gtest/gtest.h>
#include <torch/torch.h>

#include <limits>

#include "expect_error.h"
#include "methods/tiny_problem.h"
#include "test_util.h"
#include "unlearn/methods/delete.h"
#include "unlearn/methods/registry.h"

namespace unlearn {
namespace {

using test::forget_accuracy;
using test::make_problem;
using test::retain_accuracy;

DeleteOptions fast_delete() {
  return DeleteOptions().epochs(10).update(UpdateOptions().lr(0.05).batch(8).weight_decay(0));
}

TEST(DeleteTarget, TheTrueClassGetsNoMassAndTheOthersKeepTheirRatios) {
  const auto logits = torch::tensor({{2.0, 1.0, 0.0}, {0.5, 3.0, -1.0}});
  const auto labels = torch::tensor({0, 1}, torch::kLong);
  const auto target = masked_teacher_target(logits, labels);
  EXPECT_EQ(target[0][0].item<double>(), 0.0);
  EXPECT_EQ(target[1][1].item<double>(), 0.0);
  EXPECT_TRUE(torch::allclose(target.sum(1), torch::ones({2})));
  // Row 0: classes 1 and 2 in the ratio e^1 : e^0.
  EXPECT_NEAR(target[0][1].item<double>() / target[0][2].item<double>(), std::exp(1.0), 1e-5);
  EXPECT_NEAR(target[1][0].item<double>() / target[1][2].item<double>(), std::exp(1.5), 1e-5);
  test::expect_invalid([&] { masked_teacher_target(logits, labels.slice(0, 0, 1)); }, "N labels");
}

class DeleteSeeds : public ::testing::TestWithParam<uint64_t> {};

TEST_P(DeleteSeeds, ForgetsTheClassKeepsTheRestAndNeverMutatesItsInput) {
  auto p = make_problem(GetParam());
  const Model before = p.model.clone();
  ASSERT_GT(forget_accuracy(p.model, p), 90.0);
  CollectingObserver obs;
  auto result = Delete(fast_delete()).run(p.model, p.udata, RunContext().seed(GetParam()), obs);
  EXPECT_TRUE(test::same_state(p.model, before));
  EXPECT_LT(forget_accuracy(result.model, p), 20.0);
  EXPECT_GT(retain_accuracy(result.model, p), 80.0);
  // 40 forget rows in batches of 8, 10 passes; the true class's probability falls.
  ASSERT_EQ(result.trace.size(), 50u);
  EXPECT_LT(result.trace.back().values.at("true_class_probability"),
            result.trace.front().values.at("true_class_probability"));
}

INSTANTIATE_TEST_SUITE_P(Seeds, DeleteSeeds, ::testing::Values(1, 2, 3));

TEST(Delete, NeverReadsTheRetainRows) {
  auto p = make_problem(4);
  auto poisoned = p.udata;
  poisoned.inputs = p.udata.inputs.clone();
  poisoned.inputs.index_fill_(0, p.udata.retain, std::numeric_limits<float>::quiet_NaN());
  NullObserver obs;
  auto clean = Delete(fast_delete()).run(p.model, p.udata, RunContext(), obs);
  auto blind = Delete(fast_delete()).run(p.model, poisoned, RunContext(), obs);
  EXPECT_TRUE(test::same_state(clean.model, blind.model));
}

TEST(Delete, RegisteredWithItsDefaultsAndCheckedOptions) {
  const auto method = make_method("delete");
  EXPECT_EQ(method->options_json()["lr"], 1e-3);
  EXPECT_EQ(method->options_json()["epochs"], 5);
  EXPECT_EQ(method->options_json()["bn-mode"], "train");
  const std::string msg = test::message_of<UsageError>([] {
    make_method("delete", {{"epochs", "0"}});
  });
  EXPECT_NE(msg.find("--epochs"), std::string::npos);
  auto p = make_problem(5);
  p.udata.forget = torch::empty({0}, torch::kInt64);
  NullObserver obs;
  EXPECT_TRUE(test::same_state(method->run(p.model, p.udata, RunContext(), obs).model, p.model));
}

}  // namespace
}  // namespace unlearn
