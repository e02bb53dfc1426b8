#pragma once
// Membership inference: MIA-efficacy with the SalUn convention (docs/metrics.md).

#include <torch/arg.h>
#include <torch/types.h>

#include <cstdint>

namespace unlearn {

/// Probability of the true class for every row (float64, N): softmax(logits)[i, labels[i]].
torch::Tensor true_class_probability(const torch::Tensor& logits, const torch::Tensor& labels);

/// Options for `mia_efficacy`.  Example: mia_efficacy(r, t, f, MiaOptions().seed(3))
struct MiaOptions {
  TORCH_ARG(double, c) = 3.0;      // SVM cost
  TORCH_ARG(double, gamma) = 0.0;  // RBF gamma; 0 means 1 / n_features
  TORCH_ARG(uint64_t, seed) = 0;   // which samples are drawn when a class is subsampled
  // Cap on training samples per class (0 = none). Training is superlinear: 10000 per class takes
  // about 5 s on one core, so a quick run may cap it; the cap is then drawn at random with `seed`.
  TORCH_ARG(int64_t, max_samples) = 0;
};

/// MIA-efficacy in percent. Trains an RBF-SVM (libsvm) to separate members (retain-train
/// features, label 1) from non-members (test features, label 0) with the same number of samples
/// in each class: the larger class (and, with `max_samples`, both) is drawn at random with
/// `seed`. Returns the share of forget samples the attack classifies as non-members. Inputs are N×F
/// or N float tensors of features (for the SalUn convention: the true-class probability). NaN if
/// forget is empty.
double mia_efficacy(const torch::Tensor& retain_features, const torch::Tensor& test_features,
                    const torch::Tensor& forget_features, const MiaOptions& options = {});

}  // namespace unlearn
