#pragma once
// Options shared by the native architectures.

#include <torch/arg.h>

#include <cstdint>

namespace unlearn {

/// Options shared by the architectures.  Example:
/// AllCnn(ArchOptions(10).in_channels(1).width(0.25))
struct ArchOptions {
  explicit ArchOptions(int64_t num_classes) : num_classes_(num_classes) {}
  TORCH_ARG(int64_t, num_classes);
  TORCH_ARG(int64_t, in_channels) = 1;
  /// Multiplies every layer's width (AllCNN: 96 and 192; ResNet-18: 64..512).
  TORCH_ARG(double, width) = 1.0;
  /// Side of the square input; used by `mlp` for its first layer.
  TORCH_ARG(int64_t, input_size) = 28;
  /// Hidden layers of `mlp`; 0 gives multinomial logistic regression.
  TORCH_ARG(int64_t, hidden_layers) = 2;
};

}  // namespace unlearn
