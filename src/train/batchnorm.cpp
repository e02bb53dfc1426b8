#include "unlearn/train/batchnorm.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/torch.h>

#include <vector>

#include "unlearn/core/error.h"
#include "unlearn/models/sync_batch_norm.h"

namespace unlearn {

namespace {

template <typename Fn>
void for_each_batchnorm(const Model& model, Fn&& fn) {
  for (auto& m : model.module().modules()) {
    if (auto* own = dynamic_cast<SyncBatchNorm2dImpl*>(m.get())) fn(*own);
    if (auto* bn2 = dynamic_cast<torch::nn::BatchNorm2dImpl*>(m.get())) fn(*bn2);
    if (auto* bn1 = dynamic_cast<torch::nn::BatchNorm1dImpl*>(m.get())) fn(*bn1);
  }
}

}  // namespace

bool has_batchnorm(const Model& model) {
  bool found = false;
  for_each_batchnorm(model, [&](auto&) { found = true; });
  return found;
}

void recalibrate_batchnorm(Model& model, const torch::Tensor& inputs01, const torch::Tensor& rows,
                           int64_t max_samples, int64_t batch, uint64_t seed) {
  UNLEARN_CHECK(batch > 0 && max_samples > 0, "recalibrate_batchnorm: batch and sample count ",
                "must be positive");
  if (!has_batchnorm(model) || rows.numel() == 0) return;
  auto gen = at::detail::createCPUGenerator(seed);
  auto chosen = rows.index_select(0, torch::randperm(rows.numel(), gen, torch::kInt64))
                    .slice(0, 0, std::min<int64_t>(max_samples, rows.numel()));
  // momentum = none makes running stats the cumulative average over all batches seen.
  std::vector<c10::optional<double>> saved;
  for_each_batchnorm(model, [&](auto& bn) {
    saved.push_back(bn.options.momentum());
    bn.options.momentum(c10::nullopt);
    bn.reset_running_stats();
  });
  model.train(true);
  {
    torch::NoGradGuard no_grad;
    const auto device = model.device();
    for (int64_t start = 0; start < chosen.numel(); start += batch) {
      auto idx = chosen.slice(0, start, std::min(start + batch, chosen.numel()));
      model.logits(inputs01.index_select(0, idx).to(device));
    }
  }
  size_t i = 0;
  for_each_batchnorm(model, [&](auto& bn) { bn.options.momentum(saved[i++]); });
  model.train(false);
}

}  // namespace unlearn
