#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "test_util.h"
#include "unlearn/core/error.h"
#include "unlearn/metrics/accuracy.h"
#include "unlearn/models/sync_batch_norm.h"
#include "unlearn/train/batches.h"
#include "unlearn/train/batchnorm.h"
#include "unlearn/train/trainer.h"

namespace unlearn {
namespace {

TEST(BatchStream, EveryRowOncePerPassInASeededOrder) {
  auto rows = torch::arange(10, 20, torch::kInt64);
  BatchStream a(rows, 3, 7), b(rows, 3, 7);
  EXPECT_EQ(a.batches_per_pass(), 4);
  std::multiset<int64_t> seen;
  for (int i = 0; i < 4; ++i) {
    auto ba = a.next(), bb = b.next();
    EXPECT_TRUE(torch::equal(ba, bb));
    for (int64_t j = 0; j < ba.numel(); ++j) seen.insert(ba[j].item<int64_t>());
  }
  EXPECT_EQ(a.passes(), 1);
  EXPECT_EQ(seen, (std::multiset<int64_t>{10, 11, 12, 13, 14, 15, 16, 17, 18, 19}));
}

TEST(BatchStream, DropLastSkipsTheShortRemainder) {
  BatchStream s(torch::arange(10, torch::kInt64), 4, 0, true, /*drop_last=*/true);
  EXPECT_EQ(s.batches_per_pass(), 2);
  EXPECT_EQ(s.next().numel(), 4);
  EXPECT_EQ(s.next().numel(), 4);
  EXPECT_EQ(s.passes(), 1);
}

TEST(Schedule, CosineAndStepValuesWorkedByHand) {
  auto o = TrainOptions().lr(0.1).schedule(LrSchedule::cosine);
  EXPECT_DOUBLE_EQ(scheduled_lr(o, 0, 100), 0.1);
  EXPECT_NEAR(scheduled_lr(o, 50, 100), 0.05, 1e-12);  // cos(pi/2) = 0
  EXPECT_NEAR(scheduled_lr(o, 100, 100), 0.0, 1e-12);
  o.schedule(LrSchedule::step);
  EXPECT_DOUBLE_EQ(scheduled_lr(o, 49, 100), 0.1);
  EXPECT_NEAR(scheduled_lr(o, 60, 100), 0.01, 1e-12);
  EXPECT_NEAR(scheduled_lr(o, 80, 100), 0.001, 1e-12);
}

TEST(Trainer, LearnsSeparableBlobsAndTracesEveryEpoch) {
  auto data = test::blobs(3, 60, 1);
  Model m = test::point_model(2, 3, 1, 1);
  CollectingObserver obs;
  auto rows = torch::arange(data.y.size(0), torch::kInt64);
  auto report = train_model(m, data.x, data.y, rows,
                            TrainOptions().epochs(8).batch(16).lr(0.1).seed(3), RunContext(), obs);
  EXPECT_EQ(obs.records.size(), 8u);
  EXPECT_GT(report.seconds, 0);
  torch::NoGradGuard g;
  EXPECT_GT(accuracy_percent(m.logits(data.x), data.y), 95.0);
}

TEST(Trainer, SameSeedSameWeights) {
  auto data = test::blobs(3, 20, 2);
  auto rows = torch::arange(data.y.size(0), torch::kInt64);
  Model a = test::point_model(2, 3, 1, 5), b = test::point_model(2, 3, 1, 5);
  NullObserver obs;
  train_model(a, data.x, data.y, rows, TrainOptions().epochs(2).batch(8).seed(9), RunContext(),
              obs);
  train_model(b, data.x, data.y, rows, TrainOptions().epochs(2).batch(8).seed(9), RunContext(),
              obs);
  EXPECT_TRUE(test::same_state(a, b));
}

TEST(Trainer, NanLossStopsWithTheStepNumber) {
  auto data = test::blobs(2, 8, 3);
  data.x[0] = std::nan("");
  Model m = test::point_model(2, 2, 0, 1);
  NullObserver obs;
  auto rows = torch::arange(data.y.size(0), torch::kInt64);
  try {
    train_model(m, data.x, data.y, rows, TrainOptions().epochs(1).batch(16).seed(0), RunContext(),
                obs);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("at step 1"), std::string::npos) << e.what();
  }
}

TEST(Trainer, RejectsBadRecipes) {
  EXPECT_THROW(TrainOptions().epochs(0).validate(), InvalidArgument);
  EXPECT_THROW(TrainOptions().lr(-1).validate(), InvalidArgument);
  EXPECT_THROW(parse_choice<LrSchedule>("warp", "schedule"), UsageError);
}

TEST(BatchNorm, RecalibrationRecomputesRunningStatisticsOnTheChosenRows) {
  ModelSpec spec;
  spec.arch = "small-cnn";
  spec.options = ArchOptions(2).in_channels(1).input_size(8).width(0.25);
  spec.input.size = 8;
  Model m = Model::create(spec);
  ASSERT_TRUE(has_batchnorm(m));
  auto x = torch::rand({64, 1, 8, 8}) * 0.1 + 0.7;
  recalibrate_batchnorm(m, x, torch::arange(64, torch::kInt64), 64, 64, 0);
  // The first BN layer follows a conv of the normalised input; after recalibrating on one
  // batch of 64 its running mean equals that batch's mean of the conv output.
  auto* conv = dynamic_cast<torch::nn::Conv2dImpl*>(m.module().modules()[2].get());
  auto* bn = dynamic_cast<SyncBatchNorm2dImpl*>(m.module().modules()[3].get());
  ASSERT_NE(conv, nullptr);
  ASSERT_NE(bn, nullptr);
  torch::NoGradGuard g;
  auto z = conv->forward((x - 0.5) / 0.5);
  EXPECT_TRUE(torch::allclose(bn->running_mean, z.mean({0, 2, 3}), 1e-4, 1e-5));
  EXPECT_FALSE(m.is_training());
}

}  // namespace
}  // namespace unlearn
