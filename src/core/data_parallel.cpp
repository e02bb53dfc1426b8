#include "unlearn/core/data_parallel.h"

#include <torch/torch.h>

namespace unlearn {

namespace {

// Gradients go out in buckets of about this many bytes: one collective per bucket instead of
// one per tensor, without one huge copy of every gradient at once.
constexpr int64_t kBucketBytes = 4 << 20;

void reduce_bucket(DataParallelGroup& group, const std::vector<torch::Tensor>& grads) {
  std::vector<torch::Tensor> flat{torch::cat(
      [&] {
        std::vector<torch::Tensor> parts;
        parts.reserve(grads.size());
        for (const auto& g : grads) parts.push_back(g.reshape(-1));
        return parts;
      }(),
      0)};
  group.all_reduce_sum(flat);
  flat[0].div_(group.size());
  int64_t offset = 0;
  for (const auto& g : grads) {
    const int64_t n = g.numel();
    g.copy_(flat[0].slice(0, offset, offset + n).view_as(g));
    offset += n;
  }
}

}  // namespace

Shard shard_of(const DataParallelGroup* group) {
  return group ? Shard{group->rank(), group->size()} : Shard{};
}

bool is_writing_rank(const DataParallelGroup* group) { return shard_of(group).rank == 0; }

void broadcast_from_first_rank(DataParallelGroup* group,
                               const std::vector<torch::Tensor>& tensors) {
  if (!group || tensors.empty()) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> copies;
  copies.reserve(tensors.size());
  for (const auto& t : tensors) copies.push_back(t.detach());
  group->broadcast(copies);
}

void broadcast_module(DataParallelGroup* group, torch::nn::Module& module) {
  auto tensors = module.parameters();
  for (const auto& b : module.buffers()) tensors.push_back(b);
  broadcast_from_first_rank(group, tensors);
}

void average_gradients(DataParallelGroup* group, const std::vector<torch::Tensor>& params) {
  if (!group) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> bucket;
  int64_t bucket_bytes = 0;
  for (torch::Tensor p : params) {  // a handle copy shares the parameter's gradient slot
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    bucket.push_back(p.grad());
    bucket_bytes += p.numel() * static_cast<int64_t>(p.element_size());
    if (bucket_bytes >= kBucketBytes) {
      reduce_bucket(*group, bucket);
      bucket.clear();
      bucket_bytes = 0;
    }
  }
  if (!bucket.empty()) reduce_bucket(*group, bucket);
}

std::vector<double> sum_over_ranks(DataParallelGroup* group, const std::vector<double>& values) {
  if (!group || values.empty()) return values;
  std::vector<torch::Tensor> t{torch::tensor(values, torch::kFloat64)};
  group->all_reduce_sum(t);
  return std::vector<double>(t[0].data_ptr<double>(), t[0].data_ptr<double>() + t[0].numel());
}

std::pair<int64_t, int64_t> block_of_rows(int64_t rows, const Shard& shard) {
  const int64_t base = rows / shard.size, extra = rows % shard.size;
  const int64_t begin = shard.rank * base + std::min<int64_t>(shard.rank, extra);
  return {begin, begin + base + (shard.rank < extra ? 1 : 0)};
}

torch::Tensor gather_row_blocks(DataParallelGroup* group, const torch::Tensor& local,
                                int64_t total_rows) {
  if (!group) return local;
  const Shard any{0, group->size()};
  const int64_t widest = block_of_rows(total_rows, any).second;  // block 0 is the largest
  auto shape = local.sizes().vec();
  shape[0] = widest;
  auto padded = torch::zeros(shape, local.options());
  padded.slice(0, 0, local.size(0)).copy_(local);
  const auto stacked = group->all_gather(padded);
  std::vector<torch::Tensor> blocks;
  for (int r = 0; r < group->size(); ++r) {
    const auto [begin, end] = block_of_rows(total_rows, Shard{r, group->size()});
    blocks.push_back(stacked[r].slice(0, 0, end - begin));
  }
  return torch::cat(blocks, 0);
}

}  // namespace unlearn
