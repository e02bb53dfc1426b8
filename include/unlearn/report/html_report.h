#pragma once
// `unlearn report --out FILE.html`, and the report forget, compose, sweep and bench write next
// to their results: one self-contained page (docs/report.md). The chart libraries are inlined,
// so the page opens offline.

#include <string>
#include <vector>

#include "unlearn/report/charts.h"

namespace unlearn {

/// The verdict thresholds of the headline table's goal columns, in percentage points.
struct GoalTolerances {
  /// suppress: forget-side accuracy at most the retrain's plus this...
  double forget_above_retrain = 5.0;
  /// ...and keep-side accuracy at least the original's minus this.
  double keep_below_original = 2.0;
  /// match-retrain: Avg-gap at most this.
  double avg_gap = 2.0;
};

/// Result files for a report. Each path is a result JSON (forget --report, compose --report,
/// eval --json), or a folder (or a sweep.json / bench results.json inside one) whose
/// `result.json` files, found recursively and sorted, are its cells (a bench folder's under
/// cells/ only, not its tuning trials). Labels are file stems, or
/// a cell's folder relative to the given folder. Throws IoError / FormatError naming the file,
/// and UsageError when a path holds no result.
std::vector<ReportSource> load_report_sources(const std::vector<std::string>& paths);

/// The page: headline table, trade-off, per-class and per-subgroup bars, convergence,
/// membership scores, embeddings and provenance.
std::string render_html_report(const std::vector<ReportSource>& sources,
                               const GoalTolerances& goals = {});

/// Writes the page atomically (write_text_atomically; `flag` names the option for messages).
void write_html_report(const std::string& path, const std::vector<ReportSource>& sources,
                       bool force, const std::string& flag);

/// Where a result file's page goes by default: FILE.json -> FILE.html (FILE -> FILE.html).
std::string html_path_for(const std::string& result_path);

}  // namespace unlearn
