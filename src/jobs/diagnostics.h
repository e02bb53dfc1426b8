#pragma once
// The result's `diagnostics` block: what the HTML report draws beyond the metrics. Internal to
// jobs/.

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "evaluation.h"

namespace unlearn::internal {

/// `diagnostics` of a run (README, "Result JSON"):
/// - `membership`: for every evaluated role, histograms (percent per bin, 20 bins over [0,1]) of
///   the true-class probability, the feature of the MIA-efficacy attack, on D_f, D_r and the test
///   set.
/// - `embedding`: up to 300 seeded forget and 300 retain training rows, their penultimate
///   features under `before` and `after` projected on the first two principal components of
///   `before`'s features (both views share one set of axes). Absent when `after` is null or the
///   two feature sizes differ.
nlohmann::json diagnostics_entry(const std::map<std::string, Evaluated>& models,
                                 const EvalData& data, const Split& split, const Model& before,
                                 const Model* after, uint64_t seed);

}  // namespace unlearn::internal
