#pragma once
// One batched pass per model per data set; every metric of docs/metrics.md comes from the same
// logits.

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "unlearn/core/data_parallel.h"
#include "unlearn/core/observer.h"
#include "unlearn/data/dataset.h"
#include "unlearn/metrics/clinical.h"
#include "unlearn/metrics/gap.h"
#include "unlearn/models/model.h"
#include "unlearn/select/selection.h"

namespace unlearn {

/// Train and test data in one model's input format, converted once and shared by every model
/// with the same InputSpec.
struct EvalData {
  torch::Tensor train_inputs, train_labels;
  torch::Tensor test_inputs, test_labels;
  std::vector<std::string> class_names;
  /// The metadata tables of train and test, for accuracy per subgroup (may be empty).
  Metadata train_metadata, test_metadata;
};

/// Converts `bundle` to `spec`'s input format (see to_model_input).
EvalData make_eval_data(const DataBundle& bundle, const InputSpec& spec);

/// Logits of a model on every train and test row.
struct ModelOutputs {
  torch::Tensor train_logits;  // float, N_train×K, CPU
  torch::Tensor test_logits;   // float, N_test×K, CPU
};

/// Logits for every row of `inputs`, in eval mode without autograd, in batches.
torch::Tensor predict_logits(const Model& model, const torch::Tensor& inputs, int64_t batch,
                             Observer* observer = nullptr);

/// Penultimate features (N×D, flattened) for every row of `inputs`, the same way.
torch::Tensor predict_features(const Model& model, const torch::Tensor& inputs, int64_t batch);

ModelOutputs compute_outputs(const Model& model, const EvalData& data, int64_t batch = 512,
                             Observer* observer = nullptr);

/// compute_outputs split across a data-parallel `group`: each rank predicts its contiguous block
/// of rows and every rank receives all the logits, in row order. Alone (a null group), it is
/// compute_outputs.
ModelOutputs compute_outputs_across_ranks(DataParallelGroup* group, const Model& model,
                                          const EvalData& data, int64_t batch = 512,
                                          Observer* observer = nullptr);

/// The metrics of one model on one split.
struct ModelMetrics {
  /// UA, RA, TA, FTA, RTA (absent without a test part), MIA_efficacy, MIA_entropy, ECE; percent.
  MetricMap metrics;
  /// Test accuracy per class, percent (NaN for a class absent from the test set).
  std::vector<double> per_class_test;
  /// Test-set sensitivity, specificity and one-vs-rest AUROC per class.
  std::vector<ClassReport> per_class;
  /// Accuracy per value of every metadata column the selection reads, on train and test.
  GroupTable per_group;
};

/// Options for `evaluate`.  Example: evaluate(out, data, split, EvalOptions().seed(3))
struct EvalOptions {
  TORCH_ARG(uint64_t, seed) = 0;  // the MIA attacks' subsamples
  /// Cap on each MIA attack's training samples per class (MiaOptions::max_samples; 0 = none).
  TORCH_ARG(int64_t, mia_max_samples) = 0;
};

/// Every metric of docs/metrics.md that reads one model's logits, in one pass over `outputs`:
/// the accuracy family, MIA_efficacy and MIA_entropy (both attacks see the same seeded draws),
/// ECE (15 bins, test set), per-class accuracy and clinical figures (test set), and accuracy per
/// subgroup for the metadata columns of `split.expression` (none when it is empty).
ModelMetrics evaluate(const ModelOutputs& outputs, const EvalData& data, const Split& split,
                      const EvalOptions& options = {});

}  // namespace unlearn
