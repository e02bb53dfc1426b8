#pragma once
// SCAR: Bonato, Cotogni and Sabetta, "Is Retain Set All You Need in Machine Unlearning?
// Restoring Performance of Unlearned Models with Out-of-Distribution Images", ECCV 2024
// (arXiv 2404.12922). See docs/methods/scar.md.

#include <torch/arg.h>
#include <torch/types.h>

#include <cstdint>
#include <string>

#include "unlearn/methods/method.h"
#include "unlearn/methods/option_table.h"
#include "unlearn/methods/update_loop.h"

namespace unlearn {

/// Options for `Scar`.  Example: Scar m(ScarOptions().epochs(3));
struct ScarOptions {
  TORCH_ARG(UpdateOptions, update) = UpdateOptions().lr(1e-3).weight_decay(0);
  TORCH_ARG(double, epochs) = 5;            // passes over D_f; fractions allowed
  TORCH_ARG(double, forget_weight) = 1;     // λ1: the Mahalanobis pull
  TORCH_ARG(double, distill_weight) = 5;    // λ2: distillation from the original on D_r
  TORCH_ARG(double, temperature) = 4;       // of the distillation
  TORCH_ARG(double, shrinkage) = 3;         // γ of the covariance shrinkage
  TORCH_ARG(int64_t, stat_samples) = 5000;  // retain rows the class statistics come from
  TORCH_ARG(int64_t, seed) = 0;             // --method-seed

 public:
  /// Throws UsageError naming the first bad option.
  void validate() const;
};

/// Per-class Gaussian statistics of penultimate features, for Mahalanobis distances.
struct ClassStatistics {
  torch::Tensor means;     // K×D; rows of classes without samples are unused
  torch::Tensor inverses;  // K×D×D inverse shrunk covariances
  torch::Tensor present;   // K bool: the class had at least two samples
};

/// Means and inverse covariances of `features` (N×D) per class of `labels` (N) among
/// `classes`. Each covariance Σ is shrunk towards a well-conditioned matrix before inversion:
/// Σ + γ·mean(diag Σ)·I + γ·mean(offdiag Σ)·(1 − I), as in the authors' code, so that a class
/// with fewer samples than dimensions still has an inverse.
ClassStatistics class_statistics(const torch::Tensor& features, const torch::Tensor& labels,
                                 int64_t classes, double shrinkage);

/// Mahalanobis distances N×K of `features` (N×D) to every class of `stats`; +inf for classes
/// that are not present.
torch::Tensor mahalanobis_distances(const torch::Tensor& features, const ClassStatistics& stats);

/// Each forget sample's penultimate features are pulled, in Mahalanobis distance, towards the
/// nearest class other than its own (class statistics from the original's features on retain
/// rows), while the model is distilled from the original on retain batches so that the rest is
/// kept. The authors distil on out-of-distribution images when no retain set is at hand; we
/// distil on D_r.
class Scar : public OptionsMethod<Scar, ScarOptions> {
 public:
  using OptionsMethod::OptionsMethod;
  static OptionTable option_table(Options& options);

  std::string name() const override { return "scar"; }
  MethodResult run(const Model& original, const UnlearnData& data, const RunContext& context,
                   Observer& observer) const override;
};

}  // namespace unlearn
