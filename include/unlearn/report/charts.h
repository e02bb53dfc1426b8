#pragma once
// The HTML report's charts as Vega-Lite specifications, built from result JSON files. Each
// function returns a spec with its data inlined (top-level `datasets`), or says why the results
// hold nothing to draw.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "unlearn/report/result.h"

namespace unlearn {

/// A result file in a report, with the label that tells it apart from the others.
struct ReportSource {
  std::string label;
  nlohmann::json result;
};

/// table_rows of the sources' results, under their labels: the rows every table and chart of the
/// report draws from (TableRow::result indexes `sources`).
std::vector<TableRow> report_rows(const std::vector<ReportSource>& sources);

/// A chart, or (spec null) the reason there is none.
struct ChartSpec {
  nlohmann::json spec;
  std::string missing;
};

/// Forgetting (FTA, or Acc(D_f) without a test part) against retention (RTA, or RA) for every
/// unlearned model, the original and the retrain, with the unlearned models' Pareto front.
ChartSpec tradeoff_chart(const std::vector<ReportSource>& sources);

/// Unlearning time (log scale) against Avg-gap for every unlearned model with both, marking the
/// runs that overran their time budget (forget --time-budget), with the Pareto front of the two.
ChartSpec time_chart(const std::vector<ReportSource>& sources);

/// Test accuracy per class for the original, the retrain and up to four unlearned models.
ChartSpec per_class_chart(const std::vector<ReportSource>& sources);

/// Test accuracy per value of every metadata column the selection reads, one row per column.
ChartSpec per_group_chart(const std::vector<ReportSource>& sources);

/// Flip rate, forget loss, retain loss and gradient norm per outer step, from each trace.
ChartSpec convergence_chart(const std::vector<ReportSource>& sources);

/// Histograms of the membership score on D_f, D_r and the test set, per model, from
/// `diagnostics.membership` of the first result that has it.
ChartSpec membership_chart(const std::vector<ReportSource>& sources);

/// The 2-D PCA view of penultimate features before and after, from `diagnostics.embedding`.
ChartSpec embedding_chart(const std::vector<ReportSource>& sources);

/// The forget-side and keep-side accuracies of a model entry's metrics (FTA and RTA, or
/// Acc(D_f) = 100 − UA and RA when there is no test part), and their names. NaN when absent.
struct TradeoffAxes {
  double forget = 0, keep = 0;
  std::string forget_name, keep_name;
};
TradeoffAxes tradeoff_axes(const nlohmann::json& metrics);

}  // namespace unlearn
