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

namespace unlearn {

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

  /// Data: needed to recalibrate, fine-tune, search or evaluate.
  std::string data = "fashion-mnist";
  DataOptions data_options;
  std::string forget;
  bool allow_empty = false;
  std::string original;  // optional: evaluated beside the composite; ranks outliers()
  std::string retrain;   // optional: Avg-gap, and the search's targets
  PolishOptions polish;
  CompositeSearchOptions search;
  double validation = 0.1;      // search: share of the training rows that judge candidates
  int64_t search_rows = 10000;  // search: training rows kept to judge UA/RA/MIA

  std::string out;
  std::string report;  // optional result JSON
  std::string html;    // optional HTML report (include/unlearn/report/html_report.h)
  bool force = false;
  bool use_cache = true;
  std::string registry;   // run registry file that records the run; empty: none
  bool manifest = false;  // write OUT.manifest.json (include/unlearn/jobs/verify.h)
  bool manifest_ids = false;
};

/// Runs the job; returns the result JSON (what --report writes).
nlohmann::json run_compose_job(const ComposeJob& job, const RunContext& context,
                               Observer& observer);

}  // namespace unlearn
