#pragma once
// Weight-space merges of unlearning runs of one original: swap module groups, interpolate,
// average (soup) and add task vectors. Each is a per-tensor linear combination of the sources,
// so they share one checked core, merge_weighted(). See docs/compose.md.

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "unlearn/models/model.h"

namespace unlearn {

/// A model taking part in a merge, with the name messages use for it (usually its path).
struct MergeSource {
  const Model* model = nullptr;
  std::string name;
};

/// The names of the parameters and buffers a group token covers: a module group of the model
/// (Model::groups(), e.g. "features" or "layer3") or else a prefix of parameter names, for
/// models without named groups ("conv1.", "layer4.1."). Throws UsageError listing the groups
/// when the token matches nothing.
std::vector<std::string> group_tensors(const Model& model, const std::string& group);

/// Weights of a merge, one per source. `per_group` entries are applied in order on top of
/// `weights`, so a later group wins where two overlap.
struct MergeWeights {
  std::vector<double> weights;
  std::vector<std::pair<std::string, std::vector<double>>> per_group;
};

/// Refuses, naming the tensor and both sources, when the sources differ in architecture,
/// parameter names or shapes.
void check_same_shapes(const std::vector<MergeSource>& sources);

/// θ = Σ_i w_i θ_i for every parameter and floating-point buffer, summed in double and rounded
/// once, so N identical sources with weights summing to 1 give the source back bit for bit. A
/// tensor whose weights are one-hot is copied. Integer buffers (batch-norm counters) come from
/// the source with the largest weight. The result has the first source's spec.
Model merge_weighted(const std::vector<MergeSource>& sources, const MergeWeights& weights);

/// Every tensor from sources[0], except the groups in `take`: group name -> source index.
Model swap_groups(const std::vector<MergeSource>& sources,
                  const std::vector<std::pair<std::string, size_t>>& take);

/// (1-α)θ_A + αθ_B; `per_group` overrides α for named groups. Every α must lie in [0, 1].
Model interpolate(const MergeSource& a, const MergeSource& b, double alpha,
                  const std::vector<std::pair<std::string, double>>& per_group = {});

/// Σ w_i θ_i with weights that sum to 1 (empty: the uniform average).
Model soup(const std::vector<MergeSource>& sources, std::vector<double> weights = {});

/// θ_0 + Σ s_i(θ_i − θ_0): `base` is θ_0, `scales` one per run (empty: all 1).
Model task_vector(const MergeSource& base, const std::vector<MergeSource>& runs,
                  std::vector<double> scales = {});

/// Throws UsageError naming `flag` unless the weights sum to 1 (within 1e-6).
void check_sum_to_one(const std::vector<double>& weights, const std::string& flag);

}  // namespace unlearn
