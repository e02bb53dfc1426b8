#pragma once
// Arithmetic precision of the forward passes: fp32, or bfloat16 through LibTorch's autocast.

#include <torch/types.h>

#include <string>

namespace unlearn {

/// fp32 everywhere, or bf16 autocast for forward passes (weights, optimiser state and
/// gradients of the weights stay fp32).
enum class Precision { fp32, bf16 };

/// Parses "fp32" or "bf16"; throws UsageError naming `flag` otherwise.
Precision parse_precision(const std::string& text, const std::string& flag = "--precision");
std::string precision_name(Precision precision);

/// While alive, forward passes on `device` run under autocast to bfloat16 (nothing for fp32).
/// Scope it around forwards only, one step at a time: leaving the outermost scope drops
/// autocast's cache of cast weights, which an optimiser step makes stale.
/// Example: { AutocastScope amp(context.precision(), device); logits = model.logits(x); }
class AutocastScope {
 public:
  AutocastScope(Precision precision, const torch::Device& device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool was_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kBFloat16;
};

}  // namespace unlearn
