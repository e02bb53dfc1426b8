#include "unlearn/train/batches.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "unlearn/core/error.h"

namespace unlearn {

BatchStream::BatchStream(torch::Tensor rows, int64_t batch_size, uint64_t seed, bool shuffle,
                         bool drop_last, Shard shard)
    : rows_(std::move(rows)),
      batch_size_(batch_size * shard.size),
      shard_(shard),
      shuffle_(shuffle),
      drop_last_(drop_last),
      generator_(at::detail::createCPUGenerator(seed)) {
  UNLEARN_CHECK(batch_size_ > 0, "batch size must be positive, got ", batch_size_);
  UNLEARN_CHECK(rows_.numel() > 0, "cannot draw batches from an empty set of samples");
  rows_ = rows_.to(torch::kInt64).flatten();
  reshuffle();
}

void BatchStream::reshuffle() {
  order_ = shuffle_
               ? rows_.index_select(0, torch::randperm(rows_.numel(), generator_, torch::kInt64))
               : rows_;
  // Every rank gets the same number of rows per batch: the pass is padded with its first rows.
  const int64_t short_by = (shard_.size - order_.numel() % shard_.size) % shard_.size;
  if (short_by > 0) {
    order_ = torch::cat({order_, order_.slice(0, 0, short_by)
                                     .repeat({(short_by + order_.numel() - 1) / order_.numel()})
                                     .slice(0, 0, short_by)});
  }
  cursor_ = 0;
}

void BatchStream::skip(int64_t batches) {
  for (int64_t i = 0; i < batches; ++i) next();
}

int64_t BatchStream::batches_per_pass() const {
  const int64_t n = order_.numel();
  if (drop_last_ && n >= batch_size_) return n / batch_size_;
  return (n + batch_size_ - 1) / batch_size_;
}

torch::Tensor BatchStream::next() {
  const int64_t n = order_.numel();
  const int64_t end = std::min(cursor_ + batch_size_, n);
  auto batch = order_.slice(0, cursor_, end);
  if (shard_.size > 1) batch = batch.slice(0, shard_.rank, batch.numel(), shard_.size);
  cursor_ = end;
  // With drop_last, a short remainder ends the pass instead of becoming a batch.
  const bool pass_done =
      cursor_ >= n || (drop_last_ && n >= batch_size_ && cursor_ + batch_size_ > n);
  if (pass_done) {
    ++passes_;
    reshuffle();
  }
  return batch;
}

}  // namespace unlearn
