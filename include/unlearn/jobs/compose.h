#pragma once
// `unlearn compose`: merge unlearning runs of one original (swap, interpolate, soup, task
// vector, or a search over swaps and mixes), recalibrate batch norm on retain data, optionally
// fine-tune, and evaluate the composite beside the original and the retrain. docs/compose.md.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "unlearn/compose/polish.h"
#include "unlearn/compose/search.h"
#include "unlearn/core/context.h"
#include "unlearn/core/observer.h"
#include "unlearn/data/source.h"
#include "unlearn/jobs/jobs.h"

namespace unlearn {

/// How `unlearn compose` makes its composite.
enum class ComposeOperator { swap, interpolate, soup, task_vector, search };
template <>
struct ChoiceTable<ComposeOperator> {
  static constexpr Choice<ComposeOperator> kAll[] = {{ComposeOperator::swap, "swap"},
                                                     {ComposeOperator::interpolate, "interpolate"},
                                                     {ComposeOperator::soup, "soup"},
                                                     {ComposeOperator::task_vector, "task-vector"},
                                                     {ComposeOperator::search, "search"}};
};

/// The operators `unlearn compose` knows, "search" included.
const std::vector<std::string>& compose_operators();

struct ComposeJob {
  std::string op;                   // swap | interpolate | soup | task-vector | search
  std::vector<std::string> models;  // the runs, in order
  std::string base;                 // task-vector: the model the vectors start from
  std::vector<std::pair<std::string, size_t>> take;         // swap: group -> model index
  double alpha = 0.5;                                       // interpolate
  std::vector<std::pair<std::string, double>> group_alpha;  // interpolate, per group
  std::vector<double> weights;                              // soup (empty: uniform)
  std::vector<double> scales;                               // task-vector (empty: all 1)
  bool allow_mixed_origin = false;

  /// Data: needed to recalibrate, fine-tune, search or evaluate. `selection.forget` is what
  /// was forgotten: recalibration and fine-tuning use the rest, and the composite is evaluated
  /// on it.
  DataSelection selection;
  std::string original;              // optional: evaluated beside the composite; ranks outliers()
  std::string retrain;               // optional: Avg-gap, and the search's targets
  TorchScriptSpecFlags torchscript;  // completes the spec of `torchscript:FILE` models
  PolishOptions polish;
  CompositeSearchOptions search;
  double validation = 0.1;      // search: share of the training rows that judge candidates
  int64_t search_rows = 10000;  // search: training rows kept to judge UA/RA/MIA

  OutputFiles outputs;
  bool use_cache = true;
};

/// The index of the model a search candidate's `weights` (as in the result's
/// search.candidates[i].weights) take every group from whole, or -1 for a real merge.
int unmixed_source(const nlohmann::json& weights);

/// Runs the job; returns the result JSON (what --report writes).
nlohmann::json run_compose_job(const ComposeJob& job, const RunContext& context,
                               Observer& observer);

}  // namespace unlearn
