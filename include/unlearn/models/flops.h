#pragma once
// Analytic operation counts of a network's convolution and linear layers, for reporting how
// close a loop comes to the machine's arithmetic limit (docs/performance.md).

#include <cstdint>
#include <optional>
#include <vector>

#include "unlearn/models/model.h"

namespace unlearn {

/// Multiply-accumulates of one image's forward pass.
struct ForwardCost {
  int64_t macs = 0;        // every convolution and linear layer
  int64_t first_macs = 0;  // the first layer alone: no backward pass needs its input gradient
};

/// Walks the network's layers in order, tracking the activation shape from the model's input
/// spec. Counts convolutions and linear layers only (batch norm, ReLU and pooling are memory
/// bound and small). Throws InvalidArgument for a network that is not a chain of supported
/// layers (ResNet-18's residual blocks).
ForwardCost forward_cost(const Model& model);
/// forward_cost, or nullopt for a network that is not such a chain (its FLOPs are then unknown).
std::optional<ForwardCost> chain_forward_cost(const Model& model);

/// FLOPs (2 per multiply-accumulate) of the passes one training-style step makes over `images`:
/// `forwards` forward passes, `input_backwards` backward passes to the input (boundary search),
/// `weight_backwards` backward passes to the weights only (the first layer's input gradient is
/// not needed there).
double pass_flops(const ForwardCost& cost, int64_t images, int forwards, int input_backwards,
                  int weight_backwards);

}  // namespace unlearn
