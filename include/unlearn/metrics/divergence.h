#pragma once
// Output divergence to the retrained gold standard (docs/metrics.md, "Distance to the gold
// standard"): the real Jensen–Shannon divergence between softmax outputs.

#include <torch/types.h>

#include <nlohmann/json.hpp>

#include "unlearn/metrics/evaluator.h"
#include "unlearn/select/selection.h"

namespace unlearn {

/// Per-row Jensen–Shannon divergence between softmax(logits_p) and softmax(logits_q), in nats
/// (natural log), float64 N, each in [0, ln 2]:
///   JS(p, q) = ½ KL(p ‖ m) + ½ KL(q ‖ m),  m = ½ (p + q).
/// Computed from log-softmax in float64 with log m = logsumexp(log p, log q) − ln 2, and with
/// 0·log 0 = 0. This is not KL(m ‖ p), which some public code labels "JS".
torch::Tensor js_divergence(const torch::Tensor& logits_p, const torch::Tensor& logits_q);

/// Mean JS divergence between `model`'s and `retrain`'s outputs:
///   {"JS_forget": mean over D_f (training forget rows),
///    "JS_test_retain": mean over T_r (test retain rows)}.
/// When the split has no test part (random(), id), T_r is every test row, as in `Split`. A key is
/// left out when its row set is empty. Throws InvalidArgument when the two outputs differ in shape.
nlohmann::json output_divergence(const ModelOutputs& model, const ModelOutputs& retrain,
                                 const Split& split);

}  // namespace unlearn
