#include "unlearn/metrics/clinical.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <utility>
#include <variant>

#include "unlearn/core/error.h"

namespace unlearn {

namespace {

constexpr double kClinicalNaN = std::numeric_limits<double>::quiet_NaN();

void check_logits_and_labels(const torch::Tensor& logits, const torch::Tensor& labels,
                             const char* fn) {
  UNLEARN_CHECK(logits.defined() && labels.defined(), fn, ": logits or labels is undefined");
  UNLEARN_CHECK(logits.dim() == 2 && logits.size(1) >= 1, fn,
                ": logits: expected shape N×C with C >= 1, got ", logits.sizes());
  UNLEARN_CHECK(logits.is_floating_point(), fn, ": logits: expected a floating dtype, got ",
                logits.scalar_type());
  UNLEARN_CHECK(labels.dim() == 1 && labels.size(0) == logits.size(0), fn, ": ", labels.numel(),
                " labels but ", logits.size(0), " logit rows");
  UNLEARN_CHECK(at::isIntegralType(labels.scalar_type(), /*includeBool=*/false), fn,
                ": labels: expected an integer dtype, got ", labels.scalar_type());
  if (labels.numel() > 0) {
    const int64_t lo = labels.min().item<int64_t>();
    const int64_t hi = labels.max().item<int64_t>();
    UNLEARN_CHECK(lo >= 0 && hi < logits.size(1), fn, ": labels: class indices must lie in [0, ",
                  logits.size(1), "), got [", lo, ", ", hi, "]");
  }
}

double percent_of(int64_t part, int64_t whole) {
  return whole == 0 ? kClinicalNaN : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

}  // namespace

double auroc(const torch::Tensor& scores, const torch::Tensor& positive) {
  constexpr const char* kFn = "auroc";
  UNLEARN_CHECK(scores.defined() && positive.defined(), kFn, ": scores or positive is undefined");
  UNLEARN_CHECK(scores.dim() == 1 && positive.dim() == 1 && scores.numel() == positive.numel(), kFn,
                ": expected two 1-D tensors of one length, got ", scores.sizes(), " and ",
                positive.sizes());
  const auto s = scores.to(torch::kCPU, torch::kDouble).contiguous();
  const auto p = positive.to(torch::kCPU, torch::kBool).contiguous();
  const int64_t n = s.numel();
  std::vector<std::pair<double, bool>> rows(static_cast<size_t>(n));
  const double* sd = s.data_ptr<double>();
  const bool* pd = p.data_ptr<bool>();
  for (int64_t i = 0; i < n; ++i) {
    UNLEARN_CHECK(!std::isnan(sd[i]), kFn, ": scores must not be NaN (row ", i, ")");
    rows[static_cast<size_t>(i)] = {sd[i], pd[i]};
  }
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  // Sum of the positives' ranks (1-based), tied runs sharing the mean of their ranks.
  double rank_sum = 0;
  int64_t n_pos = 0;
  for (size_t start = 0; start < rows.size();) {
    size_t end = start;
    while (end < rows.size() && rows[end].first == rows[start].first) ++end;
    const double mean_rank = 0.5 * static_cast<double>(start + 1 + end);  // ranks start+1..end
    for (size_t i = start; i < end; ++i) {
      if (rows[i].second) {
        rank_sum += mean_rank;
        ++n_pos;
      }
    }
    start = end;
  }
  const int64_t n_neg = n - n_pos;
  if (n_pos == 0 || n_neg == 0) return kClinicalNaN;
  const auto np = static_cast<double>(n_pos);
  return (rank_sum - np * (np + 1) / 2) / (np * static_cast<double>(n_neg));
}

std::vector<ClassReport> per_class_report(const torch::Tensor& logits, const torch::Tensor& labels,
                                          int64_t num_classes) {
  constexpr const char* kFn = "per_class_report";
  check_logits_and_labels(logits, labels, kFn);
  UNLEARN_CHECK(logits.size(1) == num_classes, kFn, ": logits have ", logits.size(1),
                " columns but num_classes is ", num_classes);
  const auto probs = torch::softmax(logits.to(torch::kCPU, torch::kDouble), 1);
  const auto predicted = probs.argmax(1);
  const auto y = labels.to(torch::kCPU, torch::kLong);
  std::vector<ClassReport> out(static_cast<size_t>(num_classes));
  for (int64_t k = 0; k < num_classes; ++k) {
    const auto is_k = y.eq(k);
    const auto said_k = predicted.eq(k);
    const int64_t pos = is_k.sum().item<int64_t>();
    const int64_t neg = y.numel() - pos;
    const int64_t tp = (is_k & said_k).sum().item<int64_t>();
    const int64_t tn = (~is_k & ~said_k).sum().item<int64_t>();
    auto& r = out[static_cast<size_t>(k)];
    r.support = pos;
    r.sensitivity = percent_of(tp, pos);
    r.specificity = percent_of(tn, neg);
    r.auroc = auroc(probs.select(1, k), is_k);
  }
  return out;
}

double expected_calibration_error(const torch::Tensor& logits, const torch::Tensor& labels,
                                  int64_t bins) {
  constexpr const char* kFn = "expected_calibration_error";
  check_logits_and_labels(logits, labels, kFn);
  UNLEARN_CHECK(bins >= 1, kFn, ": bins: expected >= 1, got ", bins);
  const int64_t n = labels.numel();
  if (n == 0) return kClinicalNaN;
  const auto probs = torch::softmax(logits.to(torch::kCPU, torch::kDouble), 1);
  const auto [confidence, predicted] = probs.max(1);
  const auto correct = predicted.eq(labels.to(torch::kCPU, torch::kLong)).to(torch::kDouble);
  // Bin b holds (b/bins, (b+1)/bins]: index ceil(c · bins) − 1, with c = 0 in bin 0.
  const auto bin =
      (confidence * static_cast<double>(bins)).ceil().to(torch::kLong).sub(1).clamp(0, bins - 1);
  const auto count =
      torch::zeros({bins}, torch::kDouble).index_add(0, bin, torch::ones_like(confidence));
  const auto conf_sum = torch::zeros({bins}, torch::kDouble).index_add(0, bin, confidence);
  const auto hit_sum = torch::zeros({bins}, torch::kDouble).index_add(0, bin, correct);
  // Σ_b (n_b/N) |acc_b − conf_b| = Σ_b |hits_b − Σc_b| / N; empty bins contribute 0.
  return 100.0 * (hit_sum - conf_sum).abs().sum().item<double>() / static_cast<double>(n);
}

std::string group_key(const Column& column, int64_t row) {
  if (column.is_string()) return column.text(row);
  if (const auto* ints = std::get_if<std::vector<int64_t>>(&column.values)) {
    return std::to_string((*ints)[static_cast<size_t>(row)]);
  }
  const double v = column.number(row);
  char buf[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

namespace {

// Adds one table's rows of `column` into `groups`, on the train (`train` true) or test side.
void add_group_side(std::map<std::string, GroupAccuracy>& groups, const Column& column,
                    const torch::Tensor& predictions, const torch::Tensor& labels, bool train) {
  UNLEARN_CHECK(predictions.defined() && labels.defined() && predictions.numel() == column.size() &&
                    labels.numel() == column.size(),
                "per_group_accuracy: column '", column.name, "' has ", column.size(),
                " rows but there are ", predictions.defined() ? predictions.numel() : 0,
                " predictions and ", labels.defined() ? labels.numel() : 0, " labels");
  const auto hit = predictions.to(torch::kCPU, torch::kLong)
                       .eq(labels.to(torch::kCPU, torch::kLong))
                       .contiguous();
  const bool* h = hit.data_ptr<bool>();
  std::map<std::string, std::pair<int64_t, int64_t>> tally;  // value -> (correct, total)
  for (int64_t i = 0; i < column.size(); ++i) {
    auto& t = tally[group_key(column, i)];
    t.first += h[i] ? 1 : 0;
    ++t.second;
  }
  for (const auto& [value, t] : tally) {
    auto it = groups.find(value);
    if (it == groups.end()) {
      it = groups.emplace(value, GroupAccuracy{kClinicalNaN, kClinicalNaN, 0, 0}).first;
    }
    if (train) {
      it->second.train_acc = percent_of(t.first, t.second);
      it->second.n_train = t.second;
    } else {
      it->second.test_acc = percent_of(t.first, t.second);
      it->second.n_test = t.second;
    }
  }
}

}  // namespace

GroupTable per_group_accuracy(const std::vector<std::string>& columns, const Metadata& train,
                              const torch::Tensor& train_predictions,
                              const torch::Tensor& train_labels, const Metadata& test,
                              const torch::Tensor& test_predictions,
                              const torch::Tensor& test_labels) {
  GroupTable table;
  for (const auto& name : columns) {
    const bool in_train = train.has(name);
    const bool in_test = test.has(name);
    if (!in_train && !in_test) continue;
    auto& groups = table[name];
    if (in_train) {
      add_group_side(groups, train.column(name), train_predictions, train_labels, true);
    }
    if (in_test) add_group_side(groups, test.column(name), test_predictions, test_labels, false);
  }
  return table;
}

}  // namespace unlearn
