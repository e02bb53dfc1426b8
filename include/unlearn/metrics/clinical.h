#pragma once
// Clinical reporting (docs/metrics.md, "Clinical reporting"): per-class sensitivity, specificity
// and one-vs-rest AUROC, expected calibration error, and accuracy per subgroup.

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "unlearn/data/metadata.h"

namespace unlearn {

/// One class's test-set figures, one-vs-rest. NaN where undefined.
struct ClassReport {
  double sensitivity = 0;  // percent: predicted k among rows labelled k (NaN without such rows)
  double specificity = 0;  // percent: not predicted k among rows not labelled k
  double auroc = 0;        // in [0, 1]: softmax probability of k ranking rows labelled k first
  int64_t support = 0;     // rows labelled k
};

/// Area under the ROC curve of `scores` for the binary `positive` labels (bool or 0/1, same
/// length), by ranks: (R₊ − n₊(n₊+1)/2) / (n₊ n₋), where R₊ is the sum of the positives' ranks and
/// tied scores share their mean rank (a tie between a positive and a negative counts ½). NaN
/// when either class is empty.
double auroc(const torch::Tensor& scores, const torch::Tensor& positive);

/// Sensitivity, specificity (from the argmax prediction) and one-vs-rest AUROC (from the softmax)
/// for each of `num_classes` classes.
std::vector<ClassReport> per_class_report(const torch::Tensor& logits, const torch::Tensor& labels,
                                          int64_t num_classes);

/// Expected calibration error in percent: rows are put into `bins` equal-width bins of their
/// confidence c = max softmax probability, bin b covering (b/bins, (b+1)/bins] (the first bin
/// also takes c = 0), and ECE = 100 · Σ_b (n_b / N) · |acc_b − mean c_b|. NaN for no rows.
double expected_calibration_error(const torch::Tensor& logits, const torch::Tensor& labels,
                                  int64_t bins = 15);

/// Accuracy of one subgroup (the rows with one value of one metadata column).
struct GroupAccuracy {
  double train_acc = 0;  // percent; NaN when the value has no train row
  double test_acc = 0;   // percent; NaN when the value has no test row
  int64_t n_train = 0;
  int64_t n_test = 0;
};

/// column name -> value (as text) -> accuracy.
using GroupTable = std::map<std::string, std::map<std::string, GroupAccuracy>>;

/// A metadata value as the group's key: strings as they are, integers in decimal, reals in the
/// shortest form that reads back the same (%.17g trimmed).
std::string group_key(const Column& column, int64_t row);

/// Accuracy per distinct value of each of `columns`, on train and test. A column missing from one
/// table contributes only the other's side; a column missing from both is skipped. Predictions
/// are class indices (argmax of the logits), one per metadata row.
GroupTable per_group_accuracy(const std::vector<std::string>& columns, const Metadata& train,
                              const torch::Tensor& train_predictions,
                              const torch::Tensor& train_labels, const Metadata& test,
                              const torch::Tensor& test_predictions,
                              const torch::Tensor& test_labels);

}  // namespace unlearn
