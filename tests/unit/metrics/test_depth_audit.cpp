#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "expect_error.h"
#include "test_util.h"
#include "unlearn/metrics/accuracy.h"
#include "unlearn/metrics/depth_audit.h"
#include "unlearn/metrics/linear_probe.h"
#include "unlearn/train/batchnorm.h"
#include "unlearn/train/trainer.h"

namespace unlearn {
namespace {

constexpr int64_t kClasses = 3;

/// 8×8 grey images: class k is noise with a bright 3×3 patch in its own corner.
struct Images {
  torch::Tensor x, y;
};
Images patch_images(int64_t per_class, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  auto x = 0.1 * torch::rand({kClasses * per_class, 1, 8, 8}, gen);
  auto y = torch::arange(kClasses, torch::kLong).repeat_interleave(per_class);
  const int64_t corner[kClasses][2] = {{0, 0}, {0, 5}, {5, 0}};
  for (int64_t k = 0; k < kClasses; ++k) {
    x.slice(0, k * per_class, (k + 1) * per_class)
        .slice(2, corner[k][0], corner[k][0] + 3)
        .slice(3, corner[k][1], corner[k][1] + 3)
        .add_(0.8);
  }
  return {x.to(torch::kFloat32), y};
}

/// A small CNN with batch norm, trained on `rows` of the training images.
Model trained_cnn(const EvalData& data, const torch::Tensor& rows, uint64_t seed) {
  torch::manual_seed(seed);
  ModelSpec spec;
  spec.arch = "small-cnn";
  spec.options = ArchOptions(kClasses).in_channels(1).input_size(8).width(0.25);
  spec.input.size = 8;
  Model m = Model::create(spec);
  NullObserver obs;
  train_model(m, data.train_inputs, data.train_labels, rows,
              TrainOptions().epochs(8).batch(16).lr(0.05).seed(seed), RunContext(), obs);
  m.train(false);
  return m;
}

struct Scene {
  EvalData data;
  Split split;
  Model original;
};

/// Class `forget` of the patch images as the forget set; the original sees every class.
Scene make_scene(int64_t forget, uint64_t seed) {
  const Images train = patch_images(60, seed), test = patch_images(40, seed + 100);
  EvalData data;
  data.train_inputs = train.x;
  data.train_labels = train.y;
  data.test_inputs = test.x;
  data.test_labels = test.y;
  data.class_names = {"a", "b", "c"};
  const auto rows_where = [](const torch::Tensor& y, bool eq, int64_t k) {
    return torch::nonzero(eq ? y.eq(k) : y.ne(k)).flatten();
  };
  Split split;
  split.expression = "class == " + std::to_string(forget);
  split.train = {rows_where(train.y, true, forget), rows_where(train.y, false, forget)};
  split.test = {rows_where(test.y, true, forget), rows_where(test.y, false, forget)};
  Model original = trained_cnn(data, torch::arange(train.y.size(0), torch::kLong), seed);
  return {std::move(data), std::move(split), std::move(original)};
}

double forget_accuracy(const Model& m, const Scene& s) {
  torch::NoGradGuard g;
  const auto rows = s.split.train.forget;
  return accuracy_percent(m.logits(s.data.train_inputs.index_select(0, rows)),
                          s.data.train_labels.index_select(0, rows));
}

/// The head's bias (the last parameter with one value per class).
torch::Tensor head_bias(Model& m) {
  torch::Tensor bias;
  for (const auto& p : m.named_parameters()) {
    if (p.key().find("bias") != std::string::npos && p.value().numel() == kClasses) {
      bias = p.value();
    }
  }
  return bias;
}

DepthAuditOptions fast_options() {
  return DepthAuditOptions()
      .retain_steps(60)
      .retain_batch(16)
      .few_shot({10})
      .few_shot_steps(60)
      .few_shot_lr(0.02)
      .probe_iterations(50);
}

TEST(DepthAudit, ForgettingThatIsOnlyBatchNormStatisticsReboundsUnderRecalibration) {
  // The "unlearned" model is the original with every batch-norm layer's running mean moved:
  // its weights are those of a model that knows class 0, and its outputs say otherwise.
  const Scene s = make_scene(0, 1);
  const double known = forget_accuracy(s.original, s);
  ASSERT_GT(known, 95.0);
  Model drifted = s.original.clone();
  int64_t moved = 0;
  for (const auto& b : drifted.named_buffers()) {
    if (b.key().find("running_mean") != std::string::npos) {
      b.value().add_(3.0);
      ++moved;
    }
  }
  ASSERT_GT(moved, 0);
  ASSERT_LT(forget_accuracy(drifted, s), 50.0) << "the drift must look like forgetting";

  const DepthAudit audit = audit_depth(drifted, s.data, s.split, known, fast_options());
  const MetricMap& recal = audit.audits.at("recalibration");
  EXPECT_NEAR(recal.at("UA"), 100.0 - known, 5.0) << "a full rebound";
  EXPECT_GT(recal.at("FTA"), 90.0);
  // Fine-tuning on D_r with batch norm in training mode re-estimates the statistics too.
  EXPECT_LT(audit.audits.at("retain_relearn").at("UA"), 50.0);
  EXPECT_GT(audit.seconds, 0.0);
  EXPECT_TRUE(audit.skipped.empty());

  // A model trained without class 0 stays put under the same audit.
  const Model retrain = trained_cnn(s.data, s.split.train.retain, 1);
  const DepthAudit gold = audit_depth(retrain, s.data, s.split, known, fast_options());
  EXPECT_GT(gold.audits.at("recalibration").at("UA"), 95.0);
  EXPECT_LT(gold.audits.at("recalibration").at("FTA"), 5.0);
  // So the depth gap between them is large, and zero between a model and itself.
  const std::optional<double> gap = depth_gap(audit.audits, gold.audits);
  ASSERT_TRUE(gap.has_value());
  EXPECT_GT(*gap, 40.0);
  EXPECT_DOUBLE_EQ(depth_gap(gold.audits, gold.audits).value(), 0.0);
}

TEST(DepthAudit, HeadOnlyForgettingIsSeenByTheProbeAndUndoneByFewShotRelearning) {
  // Forgetting by a very negative bias on class 1's logit: the features are untouched.
  const Scene s = make_scene(1, 2);
  const double known = forget_accuracy(s.original, s);
  ASSERT_GT(known, 95.0);
  Model suppressed = s.original.clone();
  {
    torch::NoGradGuard g;
    torch::Tensor bias = head_bias(suppressed);
    ASSERT_TRUE(bias.defined());
    bias[1].sub_(30.0);
  }
  ASSERT_LT(forget_accuracy(suppressed, s), 5.0);

  const DepthAudit audit = audit_depth(suppressed, s.data, s.split, known, fast_options());
  // The probe on the frozen features still names class 1.
  const MetricMap& probe = audit.audits.at("probe");
  EXPECT_GT(probe.at("FTA"), 90.0);
  EXPECT_LT(probe.at("UA"), 10.0);
  // Ten labelled samples bring the class back within the budget.
  const MetricMap& few = audit.audits.at("few_shot_10");
  EXPECT_EQ(few.at("reached"), 1.0);
  EXPECT_GT(few.at("steps_to_original"), 0.0);
  EXPECT_GT(few.at("FTA"), 90.0);
  // The input model is not changed by any audit.
  EXPECT_LT(forget_accuracy(suppressed, s), 5.0);
  // Deterministic for a seed.
  const DepthAudit again = audit_depth(suppressed, s.data, s.split, known, fast_options());
  EXPECT_EQ(again.audits, audit.audits);
}

TEST(DepthAudit, AuditsThatCannotRunAreSkippedWithAReason) {
  Scene s = make_scene(0, 3);
  // Only 5 forget rows: no few-shot audit with k = 10.
  s.split.train.forget = s.split.train.forget.slice(0, 0, 5);
  const DepthAudit audit = audit_depth(s.original, s.data, s.split, 100.0, fast_options());
  EXPECT_EQ(audit.audits.count("few_shot_10"), 0u);
  EXPECT_EQ(audit.skipped.at("few_shot_10"), "no more than 10 forget rows");
  EXPECT_EQ(audit.audits.count("probe"), 1u);
  // Without a test part, there is no FTA, and UA alone makes the gap.
  s.split.has_test_part = false;
  s.split.test.forget = torch::empty({0}, torch::kLong);
  const DepthAudit no_test = audit_depth(s.original, s.data, s.split, 100.0, fast_options());
  EXPECT_EQ(no_test.audits.at("recalibration").count("FTA"), 0u);
  EXPECT_EQ(no_test.audits.at("probe").count("FTA"), 0u);
  EXPECT_TRUE(depth_gap(no_test.audits, no_test.audits).has_value());
  // An audit whose training diverges is skipped with the reason; the others still run.
  const DepthAudit wild = audit_depth(s.original, s.data, s.split, 100.0,
                                      fast_options().retain_lr(1e6).retain_steps(20));
  EXPECT_EQ(wild.audits.count("retain_relearn"), 0u);
  EXPECT_NE(wild.skipped.at("retain_relearn").find("loss became"), std::string::npos);
  EXPECT_EQ(wild.audits.count("probe"), 1u);
  test::expect_invalid(
      [&] { audit_depth(s.original, s.data, s.split, 100.0, DepthAuditOptions().retain_lr(0)); },
      "learning rates");
}

TEST(DepthGap, AveragesUaAndFtaOverSharedAudits) {
  const std::map<std::string, MetricMap> a{{"recalibration", {{"UA", 90}, {"FTA", 10}}},
                                           {"probe", {{"UA", 50}, {"steps", 7}}},
                                           {"few_shot_10", {{"UA", 1}}}};
  const std::map<std::string, MetricMap> b{{"recalibration", {{"UA", 100}, {"FTA", 0}}},
                                           {"probe", {{"UA", 70}, {"steps", 700}}}};
  // (10 + 10 + 20) / 3: steps are not averaged, few_shot_10 is not in both.
  EXPECT_DOUBLE_EQ(depth_gap(a, b).value(), 40.0 / 3.0);
  EXPECT_FALSE(depth_gap(a, {}).has_value());
}

TEST(LinearProbe, SeparatesSeparableFeaturesAndChecksItsInputs) {
  auto gen = at::detail::createCPUGenerator(5);
  const auto y = torch::arange(3, torch::kLong).repeat_interleave(50);
  // Two informative dimensions and one constant (dead) unit.
  auto f = torch::randn({150, 3}, gen) * 0.1;
  f.select(1, 0).add_(y.to(torch::kFloat32));
  f.select(1, 1).add_((y == 1).to(torch::kFloat32) * 3);
  f.select(1, 2).fill_(7.0);
  const LinearProbe probe = LinearProbe::fit(f, y, 3);
  EXPECT_TRUE(torch::equal(probe.predict(f), y));
  // Labels the features do not carry are not invented.
  const auto shuffled = y.index_select(0, torch::randperm(150, gen, torch::kLong));
  const LinearProbe blind = LinearProbe::fit(f, shuffled, 3, ProbeOptions().l2(1.0));
  EXPECT_LT(blind.predict(f).eq(shuffled).to(torch::kFloat64).mean().item<double>(), 0.7);
  test::expect_invalid([&] { LinearProbe::fit(f, y.slice(0, 0, 10), 3); }, "labels");
  test::expect_invalid([&] { LinearProbe::fit(f, y, 2); }, "labels");
  test::expect_invalid([&] { probe.predict(torch::zeros({2, 5})); }, "N×3");
}

}  // namespace
}  // namespace unlearn
