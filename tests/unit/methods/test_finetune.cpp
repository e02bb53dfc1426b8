#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "expect_error.h"
#include "methods/tiny_problem.h"
#include "test_util.h"
#include "unlearn/methods/finetune.h"
#include "unlearn/methods/registry.h"

namespace unlearn {
namespace {

using test::forget_accuracy;
using test::make_problem;
using test::retain_accuracy;

FinetuneOptions fast_finetune() {
  return FinetuneOptions().epochs(10).update(UpdateOptions().lr(0.1).batch(16));
}

class FinetuneSeeds : public ::testing::TestWithParam<uint64_t> {};

// Fine-tuning only trains on D_r: retain accuracy stays high and the model moves. It does not
// target D_f, so forget accuracy does not rise but falls only a little (100% to 92-98% here).
TEST_P(FinetuneSeeds, KeepsRetainAccuracyAndNeverMutatesItsInput) {
  auto p = make_problem(GetParam());
  Model before = p.model.clone();
  const double forget_before = forget_accuracy(p.model, p);
  CollectingObserver obs;
  auto result = Finetune(fast_finetune()).run(p.model, p.udata, RunContext().seed(GetParam()), obs);
  EXPECT_TRUE(test::same_state(p.model, before));
  EXPECT_FALSE(test::same_state(result.model, p.model));
  std::printf("forget %.1f%% -> %.1f%%, retain %.1f%%\n", forget_before,
              forget_accuracy(result.model, p), retain_accuracy(result.model, p));
  EXPECT_GT(retain_accuracy(result.model, p), 95.0);
  EXPECT_LE(forget_accuracy(result.model, p), forget_before);
  // 80 retain rows in batches of 16, 10 epochs.
  EXPECT_EQ(result.trace.size(), 50u);
  EXPECT_EQ(obs.records.size(), result.trace.size());
  EXPECT_EQ(result.summary["steps"], 50);
}

INSTANTIATE_TEST_SUITE_P(Seeds, FinetuneSeeds, ::testing::Values(1, 2, 3));

TEST(Finetune, NeverReadsTheForgetRows) {
  auto p = make_problem(4);
  auto poisoned = p.udata;
  poisoned.inputs = p.udata.inputs.clone();
  poisoned.inputs.index_fill_(0, p.udata.forget, std::numeric_limits<float>::quiet_NaN());
  NullObserver obs;
  auto clean = Finetune(fast_finetune()).run(p.model, p.udata, RunContext(), obs);
  auto blind = Finetune(fast_finetune()).run(p.model, poisoned, RunContext(), obs);
  EXPECT_TRUE(test::same_state(clean.model, blind.model));
}

TEST(Finetune, AnEmptyForgetSetChangesNothing) {
  auto p = make_problem(5);
  p.udata.forget = torch::empty({0}, torch::kInt64);
  NullObserver obs;
  auto result = Finetune(FinetuneOptions()).run(p.model, p.udata, RunContext(), obs);
  EXPECT_TRUE(test::same_state(result.model, p.model));
  EXPECT_TRUE(result.trace.empty());
}

TEST(Finetune, AnEmptyRetainSetIsAnError) {
  auto p = make_problem(5);
  p.udata.retain = torch::empty({0}, torch::kInt64);
  NullObserver obs;
  test::expect_invalid(
      [&] { Finetune(FinetuneOptions()).run(p.model, p.udata, RunContext(), obs); },
      "retain set is empty");
}

TEST(Finetune, BadOptionsAreUsageErrorsNamingTheFlag) {
  auto message = [](const OptionValues& v) {
    return test::message_of<UsageError>([&] { make_method("finetune", v); });
  };
  EXPECT_NE(message({{"epochs", "0"}}).find("--epochs"), std::string::npos);
  EXPECT_NE(message({{"epochs", "two"}}).find("--epochs"), std::string::npos);
  EXPECT_NE(message({{"lr", "-1"}}).find("--lr"), std::string::npos);
  EXPECT_NE(message({{"batch", "0"}}).find("--batch"), std::string::npos);
  auto j = make_method("finetune", {{"epochs", "0.5"}, {"method-seed", "3"}})->options_json();
  EXPECT_EQ(j["epochs"], 0.5);
  EXPECT_EQ(j["method-seed"], 3);
  EXPECT_EQ(j["optimizer"], "sgd");
}

}  // namespace
}  // namespace unlearn
