#pragma once
// What a model expects as input. The model owns it, so a model file can be applied to any data
// without extra flags: images are converted to the model's channels and size batch-wise.

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace unlearn {

/// Channels, square size and per-channel normalisation. Pixels are first scaled to [0,1];
/// the network then sees (x - mean) / std.
struct InputSpec {
  int64_t channels = 1;
  int64_t size = 28;
  std::vector<double> mean{0.5};
  std::vector<double> std{0.5};

  /// Throws InvalidArgument if the fields disagree (mean/std length != channels, std <= 0, ...).
  void validate() const;
};

/// Converts uint8 images N×C×H×W to float [0,1] in the model's channel count and size:
/// 1→3 channels repeats the grey channel, 3→1 averages, other sizes are resized bilinearly.
/// Whole-tensor work, no per-sample loop; callers cache the result.
torch::Tensor to_model_input(const torch::Tensor& images_u8, const InputSpec& spec);

}  // namespace unlearn
