#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "unlearn/core/error.h"
#include "unlearn/models/flops.h"
#include "unlearn/models/model.h"

namespace unlearn {
namespace {

Model allcnn32() {
  ModelSpec s;
  s.arch = "allcnn";
  s.options = ArchOptions(10).in_channels(1).width(0.25).input_size(32);
  s.input.size = 32;
  return Model::create(s);
}

TEST(Flops, AllCnnAt32WorkedByHand) {
  // Widths 24 and 48; 3x3 convolutions (the last 1x1) at 32, 16 and 8 pixels; a 48x10 head.
  const int64_t first = 24 * 1 * 9 * 32 * 32;
  const int64_t expected = first + 24 * 24 * 9 * 1024 + 24 * 24 * 9 * 256 + 48 * 24 * 9 * 256 +
                           48 * 48 * 9 * 256 + 48 * 48 * 9 * 64 + 48 * 48 * 9 * 64 + 48 * 48 * 64 +
                           48 * 10;
  const ForwardCost cost = forward_cost(allcnn32());
  EXPECT_EQ(cost.first_macs, first);
  EXPECT_EQ(cost.macs, expected);
  EXPECT_EQ(expected, 17621472);
}

TEST(Flops, PassesCountTwoFlopsPerMacAndSkipTheFirstLayersInputGradient) {
  ForwardCost cost;
  cost.macs = 100;
  cost.first_macs = 10;
  EXPECT_DOUBLE_EQ(pass_flops(cost, 3, 1, 0, 0), 2.0 * 100 * 3);
  EXPECT_DOUBLE_EQ(pass_flops(cost, 1, 0, 1, 0), 2.0 * 100);
  EXPECT_DOUBLE_EQ(pass_flops(cost, 1, 0, 0, 1), 2.0 * (100 + 90));
}

TEST(Flops, ResidualNetworksAreRefusedByName) {
  ModelSpec s;
  s.arch = "resnet18";
  s.options = ArchOptions(10).in_channels(3).width(0.25).input_size(32);
  s.input.channels = 3;
  s.input.size = 32;
  s.input.mean.assign(3, 0.5);
  s.input.std.assign(3, 0.5);
  try {
    forward_cost(Model::create(s));
    FAIL() << "expected InvalidArgument";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("not supported"), std::string::npos) << e.what();
  }
}

TEST(Precision, Bf16LogitsComeBackInFp32CloseToTheFp32Ones) {
  torch::manual_seed(0);
  Model model = allcnn32();
  model.train(false);
  auto x = torch::rand({8, 1, 32, 32});
  torch::NoGradGuard no_grad;
  auto exact = model.logits(x, Precision::fp32);
  auto low = model.logits(x, Precision::bf16);
  EXPECT_EQ(low.scalar_type(), torch::kFloat32);
  EXPECT_FALSE(torch::equal(exact, low));  // the forward really ran in bf16
  EXPECT_TRUE(torch::allclose(exact, low, /*rtol=*/0.05, /*atol=*/0.05))
      << (exact - low).abs().max().item<float>();
  EXPECT_FALSE(at::autocast::is_cpu_enabled());  // the scope ended with the call
}

TEST(Precision, ScopesNestAndRestoreTheSettingsTheyFound) {
  ASSERT_FALSE(at::autocast::is_cpu_enabled());
  {
    AutocastScope outer(Precision::bf16, torch::kCPU);
    EXPECT_TRUE(at::autocast::is_cpu_enabled());
    {
      AutocastScope inner(Precision::bf16, torch::kCPU);
      AutocastScope nothing(Precision::fp32, torch::kCPU);
      EXPECT_TRUE(at::autocast::is_cpu_enabled());
    }
    EXPECT_TRUE(at::autocast::is_cpu_enabled());
  }
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
  EXPECT_EQ(parse_precision("bf16"), Precision::bf16);
  EXPECT_THROW(parse_precision("fp16"), UsageError);
}

}  // namespace
}  // namespace unlearn
