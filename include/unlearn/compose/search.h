#pragma once
// The search behind `unlearn compose --search`: merges of two or more runs, each judged on data
// that are not the test set, and the one that keeps the most retain accuracy while meeting the
// goal's forgetting constraint. See docs/compose.md.

#include <torch/arg.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "unlearn/compose/merge.h"
#include "unlearn/core/choices.h"
#include "unlearn/core/context.h"
#include "unlearn/core/observer.h"
#include "unlearn/metrics/evaluator.h"

namespace unlearn {

/// What the search asks of a candidate: forgetting at or below a bound (suppress), or UA and MIA
/// close to the retrain's (match-retrain).
enum class CompositeGoal { suppress, match_retrain };
template <>
struct ChoiceTable<CompositeGoal> {
  static constexpr Choice<CompositeGoal> kAll[] = {{CompositeGoal::suppress, "suppress"},
                                                   {CompositeGoal::match_retrain, "match-retrain"}};
};

/// Example: CompositeSearchOptions().goal(CompositeGoal::suppress).max_forget_acc(5).grid(5)
struct CompositeSearchOptions {
  /// Mixing weights tried per group for two runs: 0, 1/(grid-1), ..., 1 of the second run.
  TORCH_ARG(int64_t, grid) = 5;
  /// Groups searched independently (default: the model's module groups).
  TORCH_ARG(std::vector<std::string>, groups) = {};
  TORCH_ARG(CompositeGoal, goal) = CompositeGoal::suppress;
  /// suppress: the highest forget-side accuracy allowed (percent); < 0: the retrain's plus
  /// `tolerance` (a retrain is then required).
  TORCH_ARG(double, max_forget_acc) = -1;
  TORCH_ARG(double, tolerance) = 1.0;
  /// match-retrain: the largest |UA − UA_retrain| and |MIA − MIA_retrain| allowed (points).
  TORCH_ARG(double, max_gap) = 2.0;
  /// More combinations than this: fall back to one shared weight plus whole-group swaps.
  TORCH_ARG(int64_t, max_candidates) = 256;
  /// Cap per side on the MIA attack's training samples for each candidate (the full attack on
  /// thousands of rows costs more than the rest of a candidate's evaluation).
  TORCH_ARG(int64_t, mia_samples) = 1000;
  TORCH_ARG(bool, recalibrate) = true;
  TORCH_ARG(int64_t, recalibrate_samples) = 2048;
  TORCH_ARG(uint64_t, seed) = 0;

 public:
  /// Throws UsageError naming the first bad option.
  void validate() const;
};

/// The weights of every candidate: for two runs, every combination of grid weights over the
/// groups; for more, every choice of one run per group.
std::vector<MergeWeights> composite_candidates(const Model& model, size_t sources,
                                               const CompositeSearchOptions& options);

struct CompositeSearch {
  MergeWeights chosen;
  /// goal, constraint, whether it was met, every candidate with its metrics, the Pareto front.
  nlohmann::json summary;
};

/// Judges every candidate on `data`/`split` (the test role played by a validation split):
/// merge, recalibrate batch norm on the split's retain rows, evaluate. `retrain` (may be null)
/// sets the match-retrain targets and the default suppress bound.
CompositeSearch search_composites(const std::vector<MergeSource>& sources, const EvalData& data,
                                  const Split& split, const Model* retrain,
                                  const CompositeSearchOptions& options, const RunContext& context,
                                  Observer& observer);

/// `data` and `split` with at most `max_rows` training rows (seeded; forget and retain rows in
/// proportion, at least one of each that exists), to make judging a candidate cheaper. The test
/// part is kept whole; metadata are dropped.
std::pair<EvalData, Split> subsample_train(const EvalData& data, const Split& split,
                                           int64_t max_rows, uint64_t seed);

}  // namespace unlearn
