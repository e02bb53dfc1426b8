#include <gtest/gtest.h>
#include <torch/torch.h>

#include "unlearn/core/data_parallel.h"
#include "unlearn/models/sync_batch_norm.h"

namespace unlearn {
namespace {

/// A stand-in for a group of two ranks whose other rank holds exactly this rank's data: every
/// sum over the ranks is twice the local one.
class MirrorGroup : public DataParallelGroup {
 public:
  int rank() const override { return 0; }
  int size() const override { return 2; }
  void broadcast(std::vector<torch::Tensor>&) override {}
  void all_reduce_sum(std::vector<torch::Tensor>& tensors) override {
    for (auto& t : tensors) t.mul_(2);
    ++reductions;
  }
  torch::Tensor all_gather(const torch::Tensor& local) override {
    return torch::stack({local, local});
  }
  int reductions = 0;
};

TEST(SyncBatchNorm2d, MatchesBatchNorm2dAlone) {
  torch::manual_seed(0);
  SyncBatchNorm2d ours(3);
  torch::nn::BatchNorm2d theirs(3);
  auto x = torch::randn({4, 3, 5, 5}) * 2 + 1;
  EXPECT_TRUE(torch::allclose(ours(x), theirs(x), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(ours->running_var, theirs->running_var, 1e-6, 1e-7));
  ours->eval();
  theirs->eval();
  EXPECT_TRUE(torch::allclose(ours(x), theirs(x), 1e-5, 1e-6));
}

TEST(SyncBatchNorm2d, AcrossMirroredRanksEqualsLocalStatisticsAndGradients) {
  torch::manual_seed(1);
  SyncBatchNorm2d synced(3);
  torch::nn::BatchNorm2d local(3);
  {
    torch::NoGradGuard g;
    synced->weight.copy_(torch::rand({3}) + 0.5);
    synced->bias.copy_(torch::rand({3}));
    local->weight.copy_(synced->weight);
    local->bias.copy_(synced->bias);
  }
  auto x1 = (torch::randn({4, 3, 5, 5}) * 2 + 1).requires_grad_(true);
  auto x2 = x1.detach().clone().requires_grad_(true);
  const auto probe = torch::randn({4, 3, 5, 5});
  MirrorGroup mirror;
  synced->sync_over(&mirror);
  auto y1 = synced(x1);
  (y1 * probe).sum().backward();
  auto y2 = local(x2);
  (y2 * probe).sum().backward();
  EXPECT_EQ(mirror.reductions, 2);  // one in the forward pass, one in the backward
  EXPECT_TRUE(torch::allclose(y1, y2, 1e-5, 1e-5));
  EXPECT_TRUE(torch::allclose(x1.grad(), x2.grad(), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(synced->weight.grad(), local->weight.grad(), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(synced->bias.grad(), local->bias.grad(), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(synced->running_mean, local->running_mean, 1e-5, 1e-6));
  // The running variance is unbiased over the global count: 2 x 100 values per channel here.
  const auto biased = x2.detach().var({0, 2, 3}, /*unbiased=*/false);
  EXPECT_TRUE(torch::allclose(synced->running_var, 0.9 + 0.1 * biased * 200.0 / 199.0, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(local->running_var, 0.9 + 0.1 * biased * 100.0 / 99.0, 1e-5, 1e-6));
}

}  // namespace
}  // namespace unlearn
