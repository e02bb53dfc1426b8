#include "unlearn/metrics/depth_audit.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "unlearn/core/error.h"
#include "unlearn/metrics/accuracy.h"
#include "unlearn/metrics/linear_probe.h"
#include "unlearn/metrics/relearn.h"
#include "unlearn/train/batches.h"
#include "unlearn/train/batchnorm.h"

namespace unlearn {

namespace {

constexpr int64_t kPredictBatch = 256;

/// `rows` in a seeded random order.
torch::Tensor shuffled(const torch::Tensor& rows, uint64_t seed) {
  auto gen = at::detail::createCPUGenerator(seed);
  return rows.index_select(0, torch::randperm(rows.numel(), gen, torch::kLong));
}

/// Accuracy (percent) of `model` on `rows` of (`inputs`, `labels`); NaN for no rows.
double accuracy_on(const Model& model, const torch::Tensor& inputs, const torch::Tensor& labels,
                   const torch::Tensor& rows) {
  if (rows.numel() == 0) return std::nan("");
  return accuracy_percent(predict_logits(model, inputs.index_select(0, rows), kPredictBatch),
                          labels.index_select(0, rows));
}

/// The audits share their measuring: UA on the measured forget rows, FTA on the forget test
/// rows when the selection has them.
class AuditRun {
 public:
  AuditRun(const EvalData& data, const Split& split, const DepthAuditOptions& options)
      : data_(data), split_(split), o_(options) {
    const torch::Tensor forget = split.train.forget.to(torch::kCPU, torch::kLong);
    forget_order_ = shuffled(forget, o_.seed());
    retain_order_ = shuffled(split.train.retain.to(torch::kCPU, torch::kLong), o_.seed() + 2);
    measured_ = forget_order_.slice(0, 0, std::min(o_.eval_rows(), forget_order_.numel()));
  }

  /// Whether the selection has forget test rows, where FTA is measured.
  bool has_forget_test() const { return split_.has_test_part && split_.test.forget.numel() > 0; }

  MetricMap forget_side(const Model& model, const torch::Tensor& measured) const {
    MetricMap m{
        {"UA", 100.0 - accuracy_on(model, data_.train_inputs, data_.train_labels, measured)}};
    if (has_forget_test()) {
      m["FTA"] = accuracy_on(model, data_.test_inputs, data_.test_labels, split_.test.forget);
    }
    return m;
  }

  MetricMap recalibration(const Model& model) const {
    Model copy = model.clone();
    recalibrate_batchnorm(copy, data_.train_inputs, split_.train.retain, o_.recalibrate_samples(),
                          kPredictBatch, o_.seed());
    return forget_side(copy, measured_);
  }

  MetricMap retain_relearn(const Model& model) const {
    Model copy = model.clone();
    copy.train(true);
    const auto device = copy.device();
    torch::optim::SGD optimizer(copy.parameters(),
                                torch::optim::SGDOptions(o_.retain_lr()).momentum(0.9));
    // Whole batches only: batch norm in training mode cannot normalise a batch of one.
    BatchStream stream(split_.train.retain.to(torch::kCPU, torch::kLong), o_.retain_batch(),
                       o_.seed(), /*shuffle=*/true, /*drop_last=*/true);
    for (int64_t step = 1; step <= o_.retain_steps(); ++step) {
      const auto idx = stream.next();
      copy.module().zero_grad(/*set_to_none=*/true);
      auto loss = torch::nn::functional::cross_entropy(
          copy.logits(data_.train_inputs.index_select(0, idx).to(device)),
          data_.train_labels.index_select(0, idx).to(device));
      UNLEARN_CHECK_AS(Error, std::isfinite(loss.item<double>()),
                       "depth audit: the relearning attack's loss became ", loss.item<double>(),
                       " at step ", step);
      loss.backward();
      optimizer.step();
    }
    copy.train(false);
    MetricMap m = forget_side(copy, measured_);
    m["steps"] = static_cast<double>(o_.retain_steps());
    return m;
  }

  /// Fine-tunes on the first k forget rows of the seeded order, each beside one of k seeded
  /// retain rows, and measures the other forget rows. The retain rows keep the batches from
  /// holding one class only: on those, any model (a retrain too) learns to name that class for
  /// every input, and the accuracy after the budget says nothing about depth.
  MetricMap few_shot(const Model& model, int64_t k, double target) const {
    const torch::Tensor taught = forget_order_.slice(0, 0, k);
    const torch::Tensor others = forget_order_.slice(0, k, k + o_.eval_rows());
    const torch::Tensor company = retain_order_.slice(0, 0, std::min(k, retain_order_.numel()));
    Relearned r = relearn(model, data_.train_inputs, data_.train_labels,
                          torch::cat({taught, company}), others, target,
                          RelearnOptions()
                              .lr(o_.few_shot_lr())
                              .batch(std::min<int64_t>(2 * k, 32))
                              .max_steps(o_.few_shot_steps())
                              .eval_rows(512)
                              .run_all_steps(true)
                              .train_batchnorm(true)
                              .seed(o_.seed()));
    MetricMap m = forget_side(r.model, others);
    m["reached"] = r.result.reached ? 1.0 : 0.0;
    if (r.result.reached) m["steps_to_original"] = static_cast<double>(r.result.steps_to_target);
    return m;
  }

  /// Fits on a seeded half of the test rows (every class, the forget class included) and scores
  /// the forget test rows of the other half, and the measured forget training rows.
  MetricMap probe(const Model& model) const {
    const int64_t n_test = data_.test_labels.size(0);
    const torch::Tensor order = shuffled(torch::arange(n_test, torch::kLong), o_.seed() + 1);
    const torch::Tensor fit_rows = order.slice(0, 0, n_test / 2);
    const torch::Tensor in_fit =
        torch::zeros({n_test}, torch::kBool).index_fill_(0, fit_rows, true);
    const auto features = [&](const torch::Tensor& inputs, const torch::Tensor& rows) {
      return predict_features(model, inputs.index_select(0, rows), kPredictBatch);
    };
    const LinearProbe probe = LinearProbe::fit(
        features(data_.test_inputs, fit_rows), data_.test_labels.index_select(0, fit_rows),
        model.num_classes(), ProbeOptions().l2(o_.probe_l2()).iterations(o_.probe_iterations()));
    const auto probe_accuracy = [&](const torch::Tensor& inputs, const torch::Tensor& labels,
                                    const torch::Tensor& rows) {
      return accuracy_percent_from_predictions(probe.predict(features(inputs, rows)),
                                               labels.index_select(0, rows));
    };
    MetricMap m{{"UA", 100.0 - probe_accuracy(data_.train_inputs, data_.train_labels, measured_)}};
    if (has_forget_test()) {
      const torch::Tensor test_forget = split_.test.forget.to(torch::kCPU, torch::kLong);
      const torch::Tensor scored = test_forget.index_select(
          0, torch::nonzero(in_fit.index_select(0, test_forget).logical_not()).flatten());
      if (scored.numel() > 0) {
        m["FTA"] = probe_accuracy(data_.test_inputs, data_.test_labels, scored);
      }
    }
    return m;
  }

  int64_t forget_rows() const { return forget_order_.numel(); }

 private:
  const EvalData& data_;
  const Split& split_;
  const DepthAuditOptions& o_;
  torch::Tensor forget_order_;  // D_f in a seeded order
  torch::Tensor retain_order_;  // D_r in a seeded order (the few-shot audit's company)
  torch::Tensor measured_;      // its first eval_rows: where UA is measured
};

}  // namespace

DepthAudit audit_depth(const Model& model, const EvalData& data, const Split& split,
                       double original_forget_accuracy, const DepthAuditOptions& options,
                       Observer* observer) {
  constexpr const char* kFn = "audit_depth";
  UNLEARN_CHECK(options.recalibrate_samples() >= 1 && options.retain_batch() >= 2 &&
                    options.retain_steps() >= 0 && options.few_shot_steps() >= 0 &&
                    options.eval_rows() >= 1,
                kFn,
                ": expected recalibrate_samples, eval_rows >= 1, retain_batch >= 2 and "
                "step counts >= 0");
  UNLEARN_CHECK(options.retain_lr() > 0 && options.few_shot_lr() > 0, kFn,
                ": expected learning rates > 0");
  for (const int64_t k : options.few_shot()) {
    UNLEARN_CHECK(k >= 1, kFn, ": few_shot: expected k >= 1, got ", k);
  }
  UNLEARN_CHECK(split.train.forget.numel() > 0, kFn, ": the forget set is empty");

  const auto start = std::chrono::steady_clock::now();
  DepthAudit out;
  const AuditRun run(data, split, options);
  // One audit that diverges (a relearning run whose loss stops being finite) is reported as
  // skipped with its reason; the others still run.
  const auto run_audit = [&](const std::string& name, const std::string& what, const auto& audit) {
    if (observer) observer->message("audit: " + what);
    try {
      out.audits[name] = audit();
    } catch (const Error& e) {
      out.skipped[name] = e.what();
    }
  };
  const int64_t n_retain = split.train.retain.numel();
  if (n_retain == 0) {
    out.skipped["recalibration"] = "no retain rows";
    out.skipped["retain_relearn"] = "no retain rows";
  } else {
    run_audit("recalibration", "recalibration", [&] { return run.recalibration(model); });
    if (n_retain < options.retain_batch()) {
      out.skipped["retain_relearn"] = "fewer retain rows than one batch";
    } else {
      run_audit("retain_relearn", "relearning attack on D_r",
                [&] { return run.retain_relearn(model); });
    }
  }
  for (const int64_t k : options.few_shot()) {
    const std::string name = "few_shot_" + std::to_string(k);
    if (run.forget_rows() <= k) {
      out.skipped[name] = detail::concat("no more than ", k, " forget rows");
      continue;
    }
    run_audit(name, "relearning on " + std::to_string(k) + " forget samples",
              [&] { return run.few_shot(model, k, original_forget_accuracy); });
  }
  if (data.test_labels.size(0) < 2) {
    out.skipped["probe"] = "no test data to fit the probe on";
  } else {
    run_audit("probe", "linear probe", [&] { return run.probe(model); });
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

std::optional<double> depth_gap(const std::map<std::string, MetricMap>& model,
                                const std::map<std::string, MetricMap>& retrain) {
  double sum = 0;
  int64_t n = 0;
  for (const auto& [audit, values] : model) {
    const auto other = retrain.find(audit);
    if (other == retrain.end()) continue;
    for (const std::string& metric : depth_metrics()) {
      const auto a = values.find(metric);
      const auto b = other->second.find(metric);
      if (a == values.end() || b == other->second.end()) continue;
      if (!std::isfinite(a->second) || !std::isfinite(b->second)) continue;
      sum += std::abs(a->second - b->second);
      ++n;
    }
  }
  if (n == 0) return std::nullopt;
  return sum / static_cast<double>(n);
}

}  // namespace unlearn
