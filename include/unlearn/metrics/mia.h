#pragma once
// Membership inference (docs/metrics.md): MIA-efficacy with the SalUn convention, and
// MIA-entropy with the convention of the SCRUB / SSD / Bad-Teacher family.

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
  // libsvm's kernel cache, in MB. Forget evaluates several models' attacks at once
  // (evaluate_entries), each with its own cache, so it counts towards peak memory that many times.
  TORCH_ARG(double, cache_mb) = 100;
};

/// MIA-efficacy in percent. Trains an RBF-SVM (libsvm) to separate members (retain-train
/// features, label 1) from non-members (test features, label 0) with the same number of samples
/// in each class: the larger class (and, with `max_samples`, both) is drawn at random with
/// `seed`. Returns the share of forget samples the attack classifies as non-members. Inputs are N×F
/// or N float tensors of features (for the SalUn convention: the true-class probability). NaN if
/// forget is empty.
double mia_efficacy(const torch::Tensor& retain_features, const torch::Tensor& test_features,
                    const torch::Tensor& forget_features, const MiaOptions& options = {});

/// Shannon entropy (natural log) of softmax(logits) for every row (float64, N). Rows of a
/// one-hot softmax give 0, a uniform softmax over K classes gives ln K.
torch::Tensor softmax_entropy(const torch::Tensor& logits);

/// MIA-entropy in percent, the opposite convention to `mia_efficacy`: returns the share of forget
/// samples the attack classifies as *members*.
///
/// The attack is a logistic regression on the features plus a bias, with balanced class weights
/// (each class's weights sum to half the training set) and an L2 penalty of 1/2 |w|^2 on the
/// weights, not the bias (C = 1, as in scikit-learn's default `LogisticRegression`), fitted by
/// Newton's method in float64: deterministic, no learning rate. Members are the retain-train
/// features (label 1), non-members the test features (label 0). The training rows are drawn
/// exactly as `mia_efficacy` draws them with the same options: retain rows down to the number of
/// test rows, then both classes down to `max_samples` when set, seeded by `seed` (`c` and `gamma`
/// are not used). A forget row is a member when w·x + b > 0. NaN if forget is empty.
double mia_entropy(const torch::Tensor& retain_features, const torch::Tensor& test_features,
                   const torch::Tensor& forget_features, const MiaOptions& options = {});

}  // namespace unlearn
