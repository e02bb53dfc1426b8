#include "unlearn/metrics/accuracy.h"

#include <torch/torch.h>

#include <limits>
#include <string>

#include "unlearn/core/error.h"

namespace unlearn {
namespace {

void check_class_indices(const torch::Tensor& t, const char* fn, const char* name) {
  UNLEARN_CHECK(t.defined(), fn, ": ", name, " is undefined");
  UNLEARN_CHECK(t.dim() == 1, fn, ": ", name,
                ": expected a 1-D tensor of class indices, got shape ", t.sizes());
  UNLEARN_CHECK(at::isIntegralType(t.scalar_type(), /*includeBool=*/false), fn, ": ", name,
                ": expected an integer dtype, got ", t.scalar_type());
}

// Labels must be class indices in [0, num_classes); a negative label is usually an encoding
// trick (e.g. forget labels stored as -y-1) that would otherwise count silently as wrong.
void check_label_range(const torch::Tensor& labels, const char* fn, int64_t num_classes) {
  if (labels.numel() == 0) return;
  const int64_t lo = labels.min().item<int64_t>();
  const int64_t hi = labels.max().item<int64_t>();
  UNLEARN_CHECK(lo >= 0, fn, ": labels: expected class indices >= 0, got ", lo);
  UNLEARN_CHECK(num_classes < 0 || hi < num_classes, fn, ": labels: class index ", hi,
                " out of range for ", num_classes, " classes");
}

double percent_equal(const torch::Tensor& predictions, const torch::Tensor& labels) {
  const int64_t n = labels.numel();
  if (n == 0) return std::numeric_limits<double>::quiet_NaN();
  const auto correct =
      predictions.eq(labels.to(predictions.device(), torch::kLong)).sum().item<int64_t>();
  return 100.0 * static_cast<double>(correct) / static_cast<double>(n);
}

}  // namespace

double accuracy_percent(const torch::Tensor& logits, const torch::Tensor& labels) {
  constexpr const char* kFn = "accuracy_percent";
  UNLEARN_CHECK(logits.defined(), kFn, ": logits is undefined");
  UNLEARN_CHECK(logits.dim() == 2 && logits.size(1) >= 1, kFn,
                ": logits: expected shape N×C with C >= 1, got ", logits.sizes());
  UNLEARN_CHECK(logits.is_floating_point(), kFn, ": logits: expected a floating dtype, got ",
                logits.scalar_type());
  check_class_indices(labels, kFn, "labels");
  UNLEARN_CHECK(labels.size(0) == logits.size(0), kFn, ": ", labels.size(0), " labels but ",
                logits.size(0), " logit rows");
  check_label_range(labels, kFn, logits.size(1));
  return percent_equal(logits.argmax(1), labels);
}

double accuracy_percent_from_predictions(const torch::Tensor& predictions,
                                         const torch::Tensor& labels) {
  constexpr const char* kFn = "accuracy_percent_from_predictions";
  check_class_indices(predictions, kFn, "predictions");
  check_class_indices(labels, kFn, "labels");
  UNLEARN_CHECK(labels.size(0) == predictions.size(0), kFn, ": ", labels.size(0), " labels but ",
                predictions.size(0), " predictions");
  check_label_range(labels, kFn, -1);
  return percent_equal(predictions.to(torch::kLong), labels);
}

std::vector<double> per_class_accuracy(const torch::Tensor& predictions,
                                       const torch::Tensor& labels, int64_t num_classes) {
  constexpr const char* kFn = "per_class_accuracy";
  UNLEARN_CHECK(num_classes >= 1, kFn, ": num_classes: expected >= 1, got ", num_classes);
  check_class_indices(predictions, kFn, "predictions");
  check_class_indices(labels, kFn, "labels");
  UNLEARN_CHECK(labels.size(0) == predictions.size(0), kFn, ": ", labels.size(0), " labels but ",
                predictions.size(0), " predictions");
  check_label_range(labels, kFn, num_classes);

  const auto y = labels.to(torch::kCPU, torch::kLong);
  const auto hit = predictions.to(torch::kCPU, torch::kLong).eq(y);
  const auto total = torch::bincount(y, {}, num_classes);
  const auto correct = torch::bincount(y.masked_select(hit), {}, num_classes);
  const auto total_a = total.accessor<int64_t, 1>();
  const auto correct_a = correct.accessor<int64_t, 1>();

  std::vector<double> out(static_cast<size_t>(num_classes));
  for (int64_t k = 0; k < num_classes; ++k) {
    out[static_cast<size_t>(k)] = total_a[k] == 0 ? std::numeric_limits<double>::quiet_NaN()
                                                  : 100.0 * static_cast<double>(correct_a[k]) /
                                                        static_cast<double>(total_a[k]);
  }
  return out;
}

}  // namespace unlearn
