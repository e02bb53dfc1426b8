#pragma once
// The data-parallel group a run belongs to, as the training and unlearning loops see it. A command
// joins one at start (dist/gloo_group.h) and hands it to the library in its RunContext
// (`RunContext::group()`); there is no process-wide group. Without one (a null group), every
// function below is the single-process identity.

#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>
#include <vector>

namespace unlearn {

/// This process's part of a data set split across ranks: rank `rank` of `size`.
struct Shard {
  int rank = 0;
  int size = 1;
};

/// The collective operations the loops need. Implemented on c10d/Gloo by dist::GlooGroup.
class DataParallelGroup {
 public:
  virtual ~DataParallelGroup() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// Replaces every rank's tensors with rank 0's, in place.
  virtual void broadcast(std::vector<torch::Tensor>& tensors) = 0;
  /// Sums `tensors` over the ranks, in place.
  virtual void all_reduce_sum(std::vector<torch::Tensor>& tensors) = 0;
  /// Every rank's `local` (same shape on each rank) stacked along a new first dimension.
  virtual torch::Tensor all_gather(const torch::Tensor& local) = 0;
};

/// This process's shard of `group`: {rank, size}, or {0, 1} without a group.
Shard shard_of(const DataParallelGroup* group);

/// Rank 0, or a process running alone: the one that writes files.
bool is_writing_rank(const DataParallelGroup* group);

/// Makes every rank's `tensors` equal to rank 0's (a no-op without a group).
void broadcast_from_first_rank(DataParallelGroup* group, const std::vector<torch::Tensor>& tensors);

/// Makes every rank's parameters and buffers of `module` equal to rank 0's (a no-op alone).
void broadcast_module(DataParallelGroup* group, torch::nn::Module& module);

/// Averages the gradients of `params` over the ranks in place, in flat buckets of about 4 MB
/// per all-reduce. A parameter without a gradient on this rank contributes zeros, so every rank
/// takes part in the same collectives. A no-op alone.
void average_gradients(DataParallelGroup* group, const std::vector<torch::Tensor>& params);

/// Sum over the ranks of a few scalars (counts, losses), or the values themselves alone.
std::vector<double> sum_over_ranks(DataParallelGroup* group, const std::vector<double>& values);

/// Rows of `inputs` split into `shard.size` contiguous blocks; this shard's block as
/// [begin, end). The blocks differ in size by at most one row.
std::pair<int64_t, int64_t> block_of_rows(int64_t rows, const Shard& shard);

/// Every rank's block of rows (see block_of_rows), each computed locally as `local`, joined in
/// rank order: the full result on every rank. Alone, `local` is returned unchanged.
torch::Tensor gather_row_blocks(DataParallelGroup* group, const torch::Tensor& local,
                                int64_t total_rows);

}  // namespace unlearn
