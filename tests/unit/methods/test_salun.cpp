#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "expect_error.h"
#include "methods/tiny_problem.h"
#include "test_util.h"
#include "unlearn/methods/registry.h"
#include "unlearn/methods/salun.h"
#include "unlearn/methods/update_loop.h"

namespace unlearn {
namespace {

using test::forget_accuracy;
using test::make_problem;
using test::retain_accuracy;

SalunOptions fast_salun(double threshold = 0.5) {
  return SalunOptions().threshold(threshold).relabel(
      RandomLabelOptions().epochs(10).update(UpdateOptions().lr(0.05).batch(8)));
}

class SalunSeeds : public ::testing::TestWithParam<uint64_t> {};

TEST_P(SalunSeeds, ForgetsAndKeepsRetainAccuracyAndNeverMutatesItsInput) {
  auto p = make_problem(GetParam());
  Model before = p.model.clone();
  ASSERT_GT(forget_accuracy(p.model, p), 90.0);
  CollectingObserver obs;
  auto result = Salun(fast_salun()).run(p.model, p.udata, RunContext().seed(GetParam()), obs);
  EXPECT_TRUE(test::same_state(p.model, before));
  EXPECT_LT(forget_accuracy(result.model, p), 20.0);
  EXPECT_GT(retain_accuracy(result.model, p), 90.0);
  EXPECT_EQ(result.trace.size(), 50u);
  EXPECT_EQ(obs.messages.size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Seeds, SalunSeeds, ::testing::Values(1, 2, 3));

TEST(Salun, MaskHoldsTheRequestedShareOfTheLargestForgetGradients) {
  auto p = make_problem(4);
  Model model = working_copy(p.model, RunContext());
  // The reference gradient, computed here in one batch over all of D_f.
  model.train(false);
  auto xf = p.data.x.index_select(0, p.udata.forget);
  auto yf = p.data.y.index_select(0, p.udata.forget);
  torch::nn::functional::cross_entropy(model.logits(xf), yf).backward();
  std::vector<torch::Tensor> grads;
  for (const auto& prm : model.parameters()) grads.push_back(prm.grad().abs().flatten().clone());
  const auto all = torch::cat(grads);
  model.module().zero_grad(/*set_to_none=*/true);
  model.train(true);

  for (double threshold : {0.1, 0.5, 0.9, 1.0}) {
    auto mask = saliency_mask(model, p.udata, /*batch=*/16, threshold, torch::kCPU);
    std::vector<torch::Tensor> flat;
    for (const auto& m : mask.masks) flat.push_back(m.flatten());
    const auto selected = torch::cat(flat).to(torch::kBool);
    EXPECT_EQ(mask.total, all.numel());
    EXPECT_EQ(mask.selected, std::llround(threshold * static_cast<double>(all.numel())));
    EXPECT_EQ(selected.sum().item<int64_t>(), mask.selected) << threshold;
    if (threshold < 1) {
      const double smallest_in = all.index({selected}).min().item<double>();
      const double largest_out = all.index({selected.logical_not()}).max().item<double>();
      EXPECT_GE(smallest_in, largest_out * (1 + 1e-4)) << threshold;
    }
  }
  EXPECT_TRUE(model.is_training());
  for (const auto& prm : model.parameters()) EXPECT_FALSE(prm.grad().defined());
}

TEST(Salun, WeightsOutsideTheMaskStayExactlyUnchanged) {
  auto p = make_problem(5);
  for (const auto& kind : ChoiceTable<OptimizerKind>::kAll) {
    const char* optimizer = kind.name;
    // Strong weight decay and momentum: without masking the decay they would move every weight.
    auto options = fast_salun(0.3);
    options.relabel().update().optimizer(kind.value).weight_decay(0.1).momentum(0.9);
    if (kind.value == OptimizerKind::adam) options.relabel().update().lr(0.01);
    Model copy = working_copy(p.model, RunContext());
    auto mask = saliency_mask(copy, p.udata, 8, 0.3, torch::kCPU);
    NullObserver obs;
    auto result = Salun(options).run(p.model, p.udata, RunContext(), obs);
    const auto before = p.model.parameters(), after = result.model.parameters();
    int64_t moved = 0;
    for (size_t i = 0; i < before.size(); ++i) {
      const auto outside = mask.masks[i].eq(0);
      EXPECT_TRUE(torch::equal(before[i].index({outside}), after[i].index({outside})))
          << optimizer << " parameter " << i;
      moved += before[i].ne(after[i]).sum().item<int64_t>();
    }
    EXPECT_GT(moved, 0) << optimizer;
    EXPECT_LE(moved, mask.selected) << optimizer;
    EXPECT_EQ(result.summary["masked_weights"], mask.selected);
    EXPECT_NEAR(result.summary["mask_share"].get<double>(), 0.3, 0.01);
  }
}

TEST(Salun, AnEmptyForgetSetChangesNothing) {
  auto p = make_problem(6);
  p.udata.forget = torch::empty({0}, torch::kInt64);
  NullObserver obs;
  auto result = Salun(SalunOptions()).run(p.model, p.udata, RunContext(), obs);
  EXPECT_TRUE(test::same_state(result.model, p.model));
  EXPECT_TRUE(result.trace.empty());
}

TEST(Salun, BadOptionsAreUsageErrorsNamingTheFlag) {
  auto message = [](const OptionValues& v) {
    return test::message_of<UsageError>([&] { make_method("salun", v); });
  };
  EXPECT_NE(message({{"threshold", "0"}}).find("--threshold"), std::string::npos);
  EXPECT_NE(message({{"threshold", "1.5"}}).find("--threshold"), std::string::npos);
  EXPECT_NE(message({{"retain-weight", "-1"}}).find("--retain-weight"), std::string::npos);
  auto j = make_method("salun", {{"threshold", "0.25"}})->options_json();
  EXPECT_EQ(j["threshold"], 0.25);
  EXPECT_EQ(j["epochs"], 5.0);
}

}  // namespace
}  // namespace unlearn
