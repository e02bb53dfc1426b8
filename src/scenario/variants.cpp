#include "unlearn/scenario/variants.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>

#include "unlearn/core/error.h"
#include "unlearn/data/image_ops.h"

namespace unlearn {

const std::vector<std::string>& variant_names() {
  static const std::vector<std::string> names{"flip", "crop", "occlude"};
  return names;
}

torch::Tensor apply_variant(const torch::Tensor& image, const std::string& name,
                            uint64_t generator_seed) {
  UNLEARN_CHECK(image.dim() == 3, "apply_variant: expected C×H×W, got ", image.dim(), " dims");
  auto gen = at::detail::createCPUGenerator(generator_seed);
  auto draw = [&](int64_t hi) {  // uniform in [0, hi]
    return hi <= 0 ? 0 : torch::randint(hi + 1, {1}, gen, torch::kLong).item<int64_t>();
  };
  const int64_t h = image.size(1);
  const int64_t w = image.size(2);
  if (name == "flip") return image.flip({1, 2}).contiguous();
  if (name == "crop") {
    const int64_t ch = std::max<int64_t>(1, h / 2);
    const int64_t cw = std::max<int64_t>(1, w / 2);
    const torch::Tensor part = image.narrow(1, draw(h - ch), ch).narrow(2, draw(w - cw), cw);
    // resize_square makes it square; the sources here are square, so nothing is distorted.
    return resize_square(part.contiguous(), h);
  }
  if (name == "occlude") {
    torch::Tensor out = image.clone();
    const int64_t bh = std::max<int64_t>(1, h / 3);
    const int64_t bw = std::max<int64_t>(1, w / 3);
    out.narrow(1, draw(h - bh), bh).narrow(2, draw(w - bw), bw).fill_(0);
    return out;
  }
  throw InvalidArgument(detail::concat("unknown variant '", name, "' (flip, crop or occlude)"));
}

Dataset inject_variants(const Dataset& data, double share, uint64_t seed) {
  UNLEARN_CHECK(share >= 0 && share <= 1, "--share must be in [0, 1], got ", share);
  Dataset out = data;
  out.images = data.images.clone();
  std::vector<std::string> variant(static_cast<size_t>(data.size()), "none");
  auto gen = at::detail::createCPUGenerator(seed);
  const auto& names = variant_names();
  for (int64_t c = 0; c < data.num_classes(); ++c) {
    const torch::Tensor rows = torch::nonzero(data.labels.eq(c)).flatten();
    const auto take = static_cast<int64_t>(std::llround(share * static_cast<double>(rows.numel())));
    if (take == 0) continue;
    const torch::Tensor chosen =
        rows.index_select(0, torch::randperm(rows.numel(), gen, torch::kLong).slice(0, 0, take));
    for (int64_t k = 0; k < take; ++k) {
      const int64_t row = chosen[k].item<int64_t>();
      const std::string& name = names[static_cast<size_t>(k) % names.size()];
      out.images[row].copy_(apply_variant(data.images[row], name, seed * 1000003ULL + row));
      variant[static_cast<size_t>(row)] = name;
    }
  }
  out.metadata.set(Column{"variant", std::move(variant)});
  return out;
}

}  // namespace unlearn
