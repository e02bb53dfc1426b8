#pragma once
// Shape fixes that readers of decoded images share: every sample of a Dataset must have the same
// channels and size.

#include <torch/types.h>

#include <cstdint>

namespace unlearn {

/// A C×H×W uint8 image resized to size×size (bilinear, antialiased when shrinking), or
/// returned as is when it already has that size.
torch::Tensor resize_square(const torch::Tensor& image, int64_t size);

/// A C×H×W uint8 image with `channels` channels: grey becomes RGB by repetition, RGB becomes
/// grey by ITU-R BT.601 luma; RGBA/grey-alpha lose the alpha channel first.
torch::Tensor to_channels(const torch::Tensor& image, int64_t channels);

}  // namespace unlearn
