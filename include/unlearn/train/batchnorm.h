#pragma once
// Batch-norm running statistics: recompute them on chosen data (after unlearning or a merge).

#include <torch/types.h>

#include <cstdint>

#include "unlearn/models/model.h"

namespace unlearn {

/// Resets every batch-norm layer's running mean and variance and recomputes them as the exact
/// average over up to `max_samples` of `rows` (a seeded random subset), in batches of `batch`.
/// Weights are untouched; the model is left in eval mode.
void recalibrate_batchnorm(Model& model, const torch::Tensor& inputs01, const torch::Tensor& rows,
                           int64_t max_samples, int64_t batch, uint64_t seed);

/// True if the model has at least one batch-norm layer.
bool has_batchnorm(const Model& model);

}  // namespace unlearn
