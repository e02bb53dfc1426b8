#include "unlearn/data/image_ops.h"

#include <torch/torch.h>

#include "unlearn/core/error.h"

namespace unlearn {

torch::Tensor resize_square(const torch::Tensor& image, int64_t size) {
  UNLEARN_CHECK(image.dim() == 3, "resize_square: expected C×H×W, got ", image.dim(), " dims");
  UNLEARN_CHECK(size > 0, "resize_square: size must be > 0, got ", size);
  if (image.size(1) == size && image.size(2) == size) return image.contiguous();
  namespace F = torch::nn::functional;
  const bool shrinking = image.size(1) > size || image.size(2) > size;
  // Area averaging when shrinking avoids the aliasing plain bilinear sampling gives.
  auto options = F::InterpolateFuncOptions().size(std::vector<int64_t>{size, size});
  if (shrinking) {
    options.mode(torch::kArea);
  } else {
    options.mode(torch::kBilinear).align_corners(false);
  }
  const torch::Tensor out = F::interpolate(image.unsqueeze(0).to(torch::kFloat32), options);
  return out.squeeze(0).round().clamp(0, 255).to(torch::kUInt8).contiguous();
}

torch::Tensor to_channels(const torch::Tensor& image, int64_t channels) {
  UNLEARN_CHECK(image.dim() == 3, "to_channels: expected C×H×W, got ", image.dim(), " dims");
  UNLEARN_CHECK(channels == 1 || channels == 3, "to_channels: channels must be 1 or 3, got ",
                channels);
  torch::Tensor img = image;
  if (img.size(0) == 2) img = img.narrow(0, 0, 1);  // grey + alpha
  if (img.size(0) == 4) img = img.narrow(0, 0, 3);  // RGBA
  UNLEARN_CHECK(img.size(0) == 1 || img.size(0) == 3, "to_channels: unsupported channel count ",
                image.size(0));
  if (img.size(0) == channels) return img.contiguous();
  if (channels == 3) return img.expand({3, img.size(1), img.size(2)}).contiguous();
  const torch::Tensor weights =
      torch::tensor({0.299, 0.587, 0.114}, torch::kFloat64).view({3, 1, 1});
  return (img.to(torch::kFloat64) * weights).sum(0, true).round().clamp(0, 255).to(torch::kUInt8);
}

}  // namespace unlearn
