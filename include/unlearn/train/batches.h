#pragma once
// Mini-batch index streams over a fixed set of rows. The data stay in one tensor; a batch is an
// index_select, never a per-sample copy loop.

#include <torch/types.h>

#include <cstdint>
#include <optional>

#include "unlearn/core/data_parallel.h"

namespace unlearn {

/// Yields batches of `rows` (int64 indices) in a seeded random order, reshuffling after each pass.
/// Example: BatchStream s(retain_idx, 64, seed); auto b = s.next();
///
/// With a `shard` of a data-parallel group, every rank draws the same seeded order and takes
/// its share of each global batch of `batch_size` x size rows, as DistributedSampler does: a
/// pass is padded with its first rows to a multiple of the group size, and rank r takes rows
/// r, r + size, ... of the global batch. The union of the ranks' i-th batches is then the i-th
/// batch a single process would draw with batch `batch_size` x size.
class BatchStream {
 public:
  BatchStream(torch::Tensor rows, int64_t batch_size, uint64_t seed, bool shuffle = true,
              bool drop_last = false, Shard shard = {});
  /// The next batch of row indices; starts a new pass when the current one is exhausted.
  torch::Tensor next();
  /// Advances by `batches` batches, as if next() had been called that often (a resumed run).
  void skip(int64_t batches);
  /// Batches in one pass (global batches, in a data-parallel group).
  int64_t batches_per_pass() const;
  /// Completed passes so far.
  int64_t passes() const { return passes_; }
  int64_t size() const { return rows_.numel(); }

 private:
  void reshuffle();

  torch::Tensor rows_;
  torch::Tensor order_;
  int64_t batch_size_;  // the global batch: the per-rank batch x the shard's size
  Shard shard_;
  bool shuffle_;
  bool drop_last_;
  int64_t cursor_ = 0;
  int64_t passes_ = 0;
  torch::Generator generator_;
};

}  // namespace unlearn
