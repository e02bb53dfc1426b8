#pragma once
// One batched pass per model per data set; every metric of docs/metrics.md comes from the same
// logits.

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "unlearn/core/observer.h"
#include "unlearn/data/dataset.h"
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

ModelOutputs compute_outputs(const Model& model, const EvalData& data, int64_t batch = 512,
                             Observer* observer = nullptr);

/// The metrics of one model on one split.
struct ModelMetrics {
  /// UA, RA, TA, FTA, RTA (absent without a test part), MIA_efficacy; percent.
  MetricMap metrics;
  /// Test accuracy per class, percent (NaN for a class absent from the test set).
  std::vector<double> per_class_test;
};

/// Options for `evaluate`.
struct EvalOptions {
  TORCH_ARG(uint64_t, seed) = 0;  // MIA's retain subsample
};

ModelMetrics evaluate(const ModelOutputs& outputs, const EvalData& data, const Split& split,
                      const EvalOptions& options = {});

}  // namespace unlearn
