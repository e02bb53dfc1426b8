#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>

#include "expect_error.h"
#include "methods/tiny_problem.h"
#include "test_util.h"
#include "unlearn/core/error.h"
#include "unlearn/methods/registry.h"
#include "unlearn/methods/retrain.h"

namespace unlearn {
namespace {

using test::forget_accuracy;
using test::make_problem;
using test::retain_accuracy;

/// A fresh model-cache folder for the test's lifetime, handed to runs in their context.
class ScopedCacheDir {
 public:
  RunContext context() const { return RunContext().model_cache_dir(dir_.path()); }

 private:
  test::TempDir dir_;
};

RetrainOptions tiny_recipe() { return RetrainOptions().epochs(15).batch(16).lr(0.1); }

TEST(Retrain, TrainsOnTheRetainSetOnlyAndNeverMutatesItsInput) {
  ScopedCacheDir cache;
  auto p = make_problem(1);
  Model before = p.model.clone();
  NullObserver obs;
  auto result = Retrain(tiny_recipe()).run(p.model, p.udata, cache.context(), obs);
  EXPECT_TRUE(test::same_state(p.model, before));
  // Never shown class 0, the retrained model cannot predict it.
  EXPECT_LT(forget_accuracy(result.model, p), 5.0);
  EXPECT_GT(retain_accuracy(result.model, p), 90.0);
  EXPECT_FALSE(result.summary["cache_hit"].get<bool>());
}

TEST(Retrain, ASecondRunWithTheSameRecipeComesFromTheCache) {
  ScopedCacheDir cache;
  auto p = make_problem(2);
  NullObserver obs;
  auto first = Retrain(tiny_recipe()).run(p.model, p.udata, cache.context(), obs);
  auto second = Retrain(tiny_recipe()).run(p.model, p.udata, cache.context(), obs);
  EXPECT_TRUE(second.summary["cache_hit"].get<bool>());
  EXPECT_TRUE(test::same_state(first.model, second.model));
  // The hit reports the training time measured when the model was trained (time budgets).
  EXPECT_EQ(second.summary["train_time_s"], first.summary["train_time_s"]);
  // Another seed is another training run.
  auto other = Retrain(tiny_recipe().train_seed(9)).run(p.model, p.udata, cache.context(), obs);
  EXPECT_FALSE(other.summary["cache_hit"].get<bool>());
  EXPECT_FALSE(test::same_state(first.model, other.model));
}

TEST(Retrain, ACachedModelWithoutItsTrainingTimeIsTrainedAgain) {
  ScopedCacheDir cache;
  auto p = make_problem(4);
  NullObserver obs;
  auto first = Retrain(tiny_recipe()).run(p.model, p.udata, cache.context(), obs);
  // As a model cached before the time was kept: the same file without it.
  const std::string file = first.summary["cache_file"].get<std::string>();
  Model stored = Model::load(file);
  stored.spec().provenance.erase("train_time_s");
  stored.save(file, /*force=*/true);
  auto second = Retrain(tiny_recipe()).run(p.model, p.udata, cache.context(), obs);
  EXPECT_FALSE(second.summary["cache_hit"].get<bool>());
  EXPECT_TRUE(second.summary.contains("train_time_s"));
  EXPECT_TRUE(test::same_state(first.model, second.model));  // the same deterministic run
}

TEST(Retrain, InheritsTheRecipeFromTheOriginalsProvenance) {
  auto p = make_problem(3);
  p.model.spec().provenance["recipe"] = {{"epochs", 7}, {"lr", 0.02}, {"seed", 5}};
  const auto r = Retrain(RetrainOptions()).recipe_for(p.model);
  EXPECT_EQ(r.epochs(), 7);
  EXPECT_DOUBLE_EQ(r.lr(), 0.02);
  EXPECT_EQ(r.seed(), 5u);
  EXPECT_EQ(r.batch(), TrainOptions().batch());
  const auto overridden = Retrain(RetrainOptions().epochs(2)).recipe_for(p.model);
  EXPECT_EQ(overridden.epochs(), 2);
}

TEST(Retrain, AnEmptyForgetSetChangesNothingAndBadOptionsNameTheFlag) {
  auto p = make_problem(4);
  p.udata.forget = torch::empty({0}, torch::kInt64);
  NullObserver obs;
  auto result = Retrain(tiny_recipe()).run(p.model, p.udata, RunContext(), obs);
  EXPECT_TRUE(test::same_state(result.model, p.model));
  const auto message = test::message_of<UsageError>([] {
    make_method("retrain", {{"epochs", "0"}});
  });
  EXPECT_NE(message.find("--epochs"), std::string::npos);
}

}  // namespace
}  // namespace unlearn
