#pragma once
// Building blocks shared by the convolutional architectures (private to src/models).

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "unlearn/models/sync_batch_norm.h"

namespace unlearn::models_detail {

/// Appends conv (no bias: batch norm follows) + batch norm + ReLU to `seq`.
inline void append_conv_bn_relu(torch::nn::Sequential& seq, int64_t in, int64_t out, int64_t kernel,
                                int64_t stride) {
  seq->push_back(torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false)));
  seq->push_back(SyncBatchNorm2d(out));
  seq->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
}

/// A layer width scaled by `width`, at least 1.
inline int64_t scaled(int64_t base, double width) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::lround(base * width)));
}

}  // namespace unlearn::models_detail
