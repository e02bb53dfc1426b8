#include "unlearn/models/input_spec.h"

#include <torch/nn/functional/upsampling.h>
#include <torch/torch.h>

#include "unlearn/core/error.h"

namespace unlearn {

void InputSpec::validate() const {
  UNLEARN_CHECK(channels >= 1, "input spec: channels must be positive, got ", channels);
  UNLEARN_CHECK(size >= 1, "input spec: size must be positive, got ", size);
  UNLEARN_CHECK(
      static_cast<int64_t>(mean.size()) == channels && static_cast<int64_t>(std.size()) == channels,
      "input spec: mean and std need ", channels, " entries, got ", mean.size(), " and ",
      std.size());
  for (double s : std) UNLEARN_CHECK(s > 0, "input spec: std must be > 0, got ", s);
}

torch::Tensor to_model_input(const torch::Tensor& images_u8, const InputSpec& spec) {
  UNLEARN_CHECK(images_u8.dim() == 4, "to_model_input: expected N×C×H×W images, got ",
                images_u8.dim(), " dimensions");
  torch::Tensor x = images_u8.to(torch::kFloat32).div_(255.0);
  const int64_t c = x.size(1);
  if (c != spec.channels) {
    if (c == 1 && spec.channels == 3) {
      x = x.expand({-1, 3, -1, -1});
    } else if (c == 3 && spec.channels == 1) {
      x = x.mean(1, /*keepdim=*/true);
    } else {
      throw InvalidArgument(detail::concat("to_model_input: cannot convert ", c,
                                           " channels to the model's ", spec.channels));
    }
  }
  if (x.size(2) != spec.size || x.size(3) != spec.size) {
    namespace F = torch::nn::functional;
    x = F::interpolate(x, F::InterpolateFuncOptions()
                              .size(std::vector<int64_t>{spec.size, spec.size})
                              .mode(torch::kBilinear)
                              .align_corners(false));
  }
  return x.contiguous();
}

}  // namespace unlearn
