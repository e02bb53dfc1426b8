#include "unlearn/data/dataset.h"

#include <torch/torch.h>

#include "unlearn/core/error.h"

namespace unlearn {

Dataset Dataset::subset(const torch::Tensor& indices) const {
  UNLEARN_CHECK(indices.dim() == 1, "Dataset::subset: expected a 1-D index tensor, got ",
                indices.dim(), " dimensions");
  const torch::Tensor idx = indices.to(torch::kCPU, torch::kLong);
  if (idx.numel() > 0) {
    const int64_t lo = idx.min().item<int64_t>();
    const int64_t hi = idx.max().item<int64_t>();
    UNLEARN_CHECK(lo >= 0 && hi < size(), "Dataset::subset: index ", lo < 0 ? lo : hi,
                  " out of range for a data set of ", size(), " samples");
  }
  Dataset out;
  // index_select copies, so the result is contiguous and independent of this Dataset.
  out.images = images.index_select(0, idx.to(images.device()));
  out.labels = labels.index_select(0, idx.to(labels.device()));
  out.class_names = class_names;
  out.metadata = metadata.select(idx);
  return out;
}

void Dataset::validate(const std::string& where) const {
  UNLEARN_CHECK_AS(FormatError, images.defined() && labels.defined(), where,
                   ": data set has no images or labels");
  UNLEARN_CHECK_AS(FormatError, images.dim() == 4, where, ": images must be N×C×H×W, got ",
                   images.dim(), " dimensions");
  UNLEARN_CHECK_AS(FormatError, images.scalar_type() == torch::kUInt8, where,
                   ": images must be uint8, got ", images.scalar_type());
  UNLEARN_CHECK_AS(FormatError, images.is_contiguous(), where, ": images must be contiguous");
  UNLEARN_CHECK_AS(FormatError, labels.dim() == 1, where, ": labels must be 1-D, got ",
                   labels.dim(), " dimensions");
  UNLEARN_CHECK_AS(FormatError, labels.scalar_type() == torch::kLong, where,
                   ": labels must be int64, got ", labels.scalar_type());
  UNLEARN_CHECK_AS(FormatError, images.size(0) == labels.size(0), where, ": ", images.size(0),
                   " images but ", labels.size(0), " labels");
  UNLEARN_CHECK_AS(FormatError, metadata.rows() == labels.size(0), where, ": metadata has ",
                   metadata.rows(), " rows but there are ", labels.size(0), " samples");
  UNLEARN_CHECK_AS(FormatError, metadata.has("id") && metadata.has("source"), where,
                   ": metadata must have the columns 'id' and 'source'");
  UNLEARN_CHECK_AS(FormatError, !class_names.empty(), where, ": no class names");
  if (labels.numel() > 0) {
    const int64_t lo = labels.min().item<int64_t>();
    const int64_t hi = labels.max().item<int64_t>();
    UNLEARN_CHECK_AS(FormatError, lo >= 0 && hi < num_classes(), where, ": label ",
                     lo < 0 ? lo : hi, " out of range for ", num_classes(), " classes");
  }
}

}  // namespace unlearn
