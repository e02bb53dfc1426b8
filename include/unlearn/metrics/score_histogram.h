#pragma once
// Histograms of per-sample scores in [0,1], as shares, so sets of different sizes compare: the
// report's membership-inference charts.

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace unlearn {

/// The share (percent) of `scores` (any float tensor of values in [0,1]) in each of `bins` equal
/// bins over [0,1]; the last bin includes 1. Values outside [0,1] are clamped into the end bins,
/// NaNs are left out. All zeros when `scores` is empty. Throws InvalidArgument for bins < 1.
std::vector<double> score_histogram(const torch::Tensor& scores, int64_t bins);

}  // namespace unlearn
