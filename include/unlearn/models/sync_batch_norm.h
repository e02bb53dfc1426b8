#pragma once
// The 2-D batch norm of every native convolutional architecture. Outside a data-parallel run it
// computes exactly what torch::nn::BatchNorm2d computes, with the same parameters, buffers and
// file layout. In a data-parallel run with --sync-bn (`sync_over`, which Model::sync_batchnorm
// sets on every layer) its training-mode statistics are taken over the global batch, as PyTorch's
// SyncBatchNorm does: the per-channel sums are all-reduced in the forward pass, and the sums the
// input gradient needs in the backward pass.
//
// It is a sibling of BatchNorm2dImpl (both are NormImplBase), not a subclass: LibTorch does not
// export what a subclass of BatchNorm2dImpl needs to link. Code that looks for batch-norm
// layers checks for both types.

#include <torch/nn/modules/batchnorm.h>

#include "unlearn/core/data_parallel.h"

namespace unlearn {

class SyncBatchNorm2dImpl
    : public torch::nn::NormImplBase<2, SyncBatchNorm2dImpl, torch::nn::BatchNormOptions> {
 public:
  explicit SyncBatchNorm2dImpl(int64_t features)
      : SyncBatchNorm2dImpl(torch::nn::BatchNormOptions(features)) {}
  explicit SyncBatchNorm2dImpl(const torch::nn::BatchNormOptions& settings)
      : NormImplBase(settings) {}
  torch::Tensor forward(const torch::Tensor& input);
  /// --sync-bn: take training-mode statistics over every rank of `group` (null: this batch
  /// only, the default). Not saved with the model.
  void sync_over(DataParallelGroup* group) { group_ = group; }
  void pretty_print(std::ostream& stream) const override;

 protected:
  void _check_input_dim(const torch::Tensor& input) override;

 private:
  DataParallelGroup* group_ = nullptr;
};
TORCH_MODULE(SyncBatchNorm2d);

}  // namespace unlearn
