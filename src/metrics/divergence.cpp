#include "unlearn/metrics/divergence.h"

#include <torch/torch.h>

#include <cmath>

#include "unlearn/core/error.h"

namespace unlearn {

namespace {

constexpr const char* kJsFn = "js_divergence";

void check_js_logits(const torch::Tensor& t, const char* name) {
  UNLEARN_CHECK(t.defined(), kJsFn, ": ", name, " is undefined");
  UNLEARN_CHECK(t.dim() == 2 && t.size(1) >= 1, kJsFn, ": ", name,
                ": expected shape N×C with C >= 1, got ", t.sizes());
  UNLEARN_CHECK(t.is_floating_point(), kJsFn, ": ", name, ": expected a floating dtype, got ",
                t.scalar_type());
}

// Σ_k p_k (log p_k − log m_k) per row, with terms where p_k = 0 taken as 0.
torch::Tensor kl_rows(const torch::Tensor& log_p, const torch::Tensor& log_m) {
  const auto p = log_p.exp();
  return torch::where(p > 0, p * (log_p - log_m), torch::zeros_like(p)).sum(1);
}

}  // namespace

torch::Tensor js_divergence(const torch::Tensor& logits_p, const torch::Tensor& logits_q) {
  check_js_logits(logits_p, "logits_p");
  check_js_logits(logits_q, "logits_q");
  UNLEARN_CHECK(logits_p.sizes() == logits_q.sizes(), kJsFn, ": logits_p has shape ",
                logits_p.sizes(), " but logits_q has shape ", logits_q.sizes());
  const auto log_p = torch::log_softmax(logits_p.to(torch::kCPU, torch::kDouble), 1);
  const auto log_q = torch::log_softmax(logits_q.to(torch::kCPU, torch::kDouble), 1);
  const auto log_m = torch::logsumexp(torch::stack({log_p, log_q}), 0) - std::log(2.0);
  const auto js = 0.5 * kl_rows(log_p, log_m) + 0.5 * kl_rows(log_q, log_m);
  // Rounding can step a hair outside the exact range.
  return js.clamp(0.0, std::log(2.0)).contiguous();
}

nlohmann::json output_divergence(const ModelOutputs& model, const ModelOutputs& retrain,
                                 const Split& split) {
  UNLEARN_CHECK(model.train_logits.sizes() == retrain.train_logits.sizes() &&
                    model.test_logits.sizes() == retrain.test_logits.sizes(),
                "output_divergence: the model's outputs (train ", model.train_logits.sizes(),
                ", test ", model.test_logits.sizes(), ") and the retrained model's (train ",
                retrain.train_logits.sizes(), ", test ", retrain.test_logits.sizes(), ") differ");
  nlohmann::json out = nlohmann::json::object();
  auto mean_js = [](const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& rows) {
    return js_divergence(a.index_select(0, rows), b.index_select(0, rows)).mean().item<double>();
  };
  if (split.train.forget.numel() > 0) {
    out["JS_forget"] = mean_js(model.train_logits, retrain.train_logits, split.train.forget);
  }
  if (split.test.retain.numel() > 0) {
    out["JS_test_retain"] = mean_js(model.test_logits, retrain.test_logits, split.test.retain);
  }
  return out;
}

}  // namespace unlearn
