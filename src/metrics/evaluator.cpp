#include "unlearn/metrics/evaluator.h"

#include <torch/torch.h>

#include <cmath>

#include "unlearn/core/data_parallel.h"
#include "unlearn/core/error.h"
#include "unlearn/metrics/accuracy.h"
#include "unlearn/metrics/mia.h"

namespace unlearn {

EvalData make_eval_data(const DataBundle& bundle, const InputSpec& spec) {
  EvalData d;
  d.train_inputs = to_model_input(bundle.train.images, spec);
  d.train_labels = bundle.train.labels;
  d.test_inputs = to_model_input(bundle.test.images, spec);
  d.test_labels = bundle.test.labels;
  d.class_names = bundle.train.class_names;
  d.train_metadata = bundle.train.metadata;
  d.test_metadata = bundle.test.metadata;
  return d;
}

namespace {

/// `forward` over every row of `inputs` in batches, in eval mode without autograd; the model's
/// mode is restored afterwards.
template <typename Forward>
torch::Tensor predict_batched(const Model& model, const torch::Tensor& inputs, int64_t batch,
                              Observer* observer, Forward forward) {
  UNLEARN_CHECK(batch > 0, "predict: batch must be positive, got ", batch);
  const bool was_training = model.is_training();
  const_cast<Model&>(model).train(false);
  torch::InferenceMode guard;
  const auto device = model.device();
  const int64_t n = inputs.size(0);
  std::vector<torch::Tensor> parts;
  if (observer) observer->begin("evaluate", n);
  for (int64_t start = 0; start < n; start += batch) {
    const int64_t end = std::min(start + batch, n);
    parts.push_back(forward(inputs.slice(0, start, end).to(device)).to(torch::kCPU));
    if (observer) observer->progress(end, "");
  }
  if (observer) observer->end();
  const_cast<Model&>(model).train(was_training);
  return parts.empty() ? torch::Tensor() : torch::cat(parts);
}

}  // namespace

torch::Tensor predict_logits(const Model& model, const torch::Tensor& inputs, int64_t batch,
                             Observer* observer) {
  auto out = predict_batched(model, inputs, batch, observer,
                             [&](const torch::Tensor& x) { return model.logits(x); });
  return out.defined() ? out : torch::zeros({0, model.num_classes()});
}

torch::Tensor predict_features(const Model& model, const torch::Tensor& inputs, int64_t batch) {
  auto out = predict_batched(model, inputs, batch, nullptr,
                             [&](const torch::Tensor& x) { return model.embed(x).flatten(1); });
  return out.defined() ? out : torch::zeros({0, 0});
}

ModelOutputs compute_outputs(const Model& model, const EvalData& data, int64_t batch,
                             Observer* observer) {
  return {predict_logits(model, data.train_inputs, batch, observer),
          predict_logits(model, data.test_inputs, batch, observer)};
}

ModelOutputs compute_outputs_across_ranks(DataParallelGroup* group, const Model& model,
                                          const EvalData& data, int64_t batch, Observer* observer) {
  const Shard shard = shard_of(group);
  if (shard.size == 1) return compute_outputs(model, data, batch, observer);
  const auto share = [&](const torch::Tensor& inputs) {
    const auto [begin, end] = block_of_rows(inputs.size(0), shard);
    return gather_row_blocks(
        group, predict_logits(model, inputs.slice(0, begin, end), batch, observer), inputs.size(0));
  };
  return {share(data.train_inputs), share(data.test_inputs)};
}

ModelMetrics evaluate(const ModelOutputs& out, const EvalData& data, const Split& split,
                      const EvalOptions& options) {
  auto rows = [](const torch::Tensor& t, const torch::Tensor& idx) {
    return t.index_select(0, idx);
  };
  ModelMetrics m;
  const auto& tr = split.train;
  m.metrics["UA"] = 100.0 - accuracy_percent(rows(out.train_logits, tr.forget),
                                             rows(data.train_labels, tr.forget));
  m.metrics["RA"] =
      accuracy_percent(rows(out.train_logits, tr.retain), rows(data.train_labels, tr.retain));
  m.metrics["TA"] = accuracy_percent(out.test_logits, data.test_labels);
  if (split.has_test_part) {
    const auto& te = split.test;
    if (te.forget.numel() > 0) {
      m.metrics["FTA"] =
          accuracy_percent(rows(out.test_logits, te.forget), rows(data.test_labels, te.forget));
    }
    if (te.retain.numel() > 0) {
      m.metrics["RTA"] =
          accuracy_percent(rows(out.test_logits, te.retain), rows(data.test_labels, te.retain));
    }
  }
  // MIA-efficacy (SalUn): members are retain-train samples, non-members the test samples.
  const auto retain_logits = rows(out.train_logits, tr.retain);
  const auto forget_logits = rows(out.train_logits, tr.forget);
  auto retain_p = true_class_probability(retain_logits, rows(data.train_labels, tr.retain));
  auto test_p = true_class_probability(out.test_logits, data.test_labels);
  auto forget_p = true_class_probability(forget_logits, rows(data.train_labels, tr.forget));
  const auto mia = MiaOptions().seed(options.seed()).max_samples(options.mia_max_samples());
  m.metrics["MIA_efficacy"] = mia_efficacy(retain_p, test_p, forget_p, mia);
  // MIA-entropy (SCRUB/SSD): same members and non-members, the opposite reported share.
  m.metrics["MIA_entropy"] =
      mia_entropy(softmax_entropy(retain_logits), softmax_entropy(out.test_logits),
                  softmax_entropy(forget_logits), mia);
  m.metrics["ECE"] = expected_calibration_error(out.test_logits, data.test_labels, 15);

  const auto num_classes = static_cast<int64_t>(data.class_names.size());
  const auto test_predictions = out.test_logits.argmax(1);
  m.per_class_test = per_class_accuracy(test_predictions, data.test_labels, num_classes);
  m.per_class = per_class_report(out.test_logits, data.test_labels, num_classes);
  if (!split.expression.empty()) {
    m.per_group =
        per_group_accuracy(Selection::parse(split.expression).columns(), data.train_metadata,
                           out.train_logits.argmax(1), data.train_labels, data.test_metadata,
                           test_predictions, data.test_labels);
  }
  return m;
}

}  // namespace unlearn
