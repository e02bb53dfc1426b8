#pragma once
// The result JSON (DESIGN.md's contract) and its plain-text table.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "unlearn/core/observer.h"
#include "unlearn/metrics/depth_audit.h"
#include "unlearn/metrics/evaluator.h"
#include "unlearn/select/selection.h"

namespace unlearn {

/// `models.<role>` entry: {"path", "metrics": {...}, "per_class_test": {...}, "per_class": {...},
/// "per_group": {...}, "time_s"?}.
/// - metrics: flat, scalar percentages only (UA, RA, TA, FTA, RTA, MIA_efficacy, MIA_entropy,
///   ECE); undefined values are left out.
/// - per_class: class name -> {"sensitivity", "specificity" (percent), "auroc" (0..1), "n"}.
/// - per_group: column -> value -> {"train_acc", "test_acc" (percent), "n_train", "n_test"}.
/// time_s is the model's training time when its provenance records one.
nlohmann::json model_entry(const std::string& path, const Model& model,
                           const ModelMetrics& metrics);

/// `data`: source, forget expression and the four set sizes.
nlohmann::json data_entry(const std::string& source, const Split& split);

/// `env`: threads, LibTorch version, seed, device, tool version, and the machine (host name,
/// CPU model, available cores); `command_line` too when not empty.
nlohmann::json env_entry(int threads, uint64_t seed, const std::string& device,
                         const std::string& precision = "fp32",
                         const std::string& command_line = "");

/// `trace`: one object per record: {"step": n, <name>: value, ...}.
nlohmann::json trace_entry(const std::vector<TraceRecord>& trace);

/// Adds `avg_gap` to every model entry (and at top level for `unlearned` or `model`) when a
/// `retrain` entry is present.
void add_avg_gaps(nlohmann::json& result);

/// models.<role>.audits: {"<audit>": {"UA", "FTA"?, ...}, "skipped"?: {"<audit>": why},
/// "time_s"} (metrics/depth_audit.h; docs/metrics.md, "Depth audits").
nlohmann::json audit_entry(const DepthAudit& audit);

/// Adds `depth_gap` to every model entry with audits (and at top level for `unlearned` or
/// `model`) when the `retrain` entry has audits too.
void add_depth_gaps(nlohmann::json& result);

/// `goals`: how the result meets each of the two goals a user may have, for the `unlearned` (or,
/// from `eval`, the `model`) entry:
///   {"match-retrain": {"judged_by": "avg_gap", "value": <avg_gap>},
///    "suppress": {"judged_by": ["FTA", "RTA"], "FTA": <FTA>, "RTA": <RTA>}}.
/// Suppress is judged by FTA (lower is better) and RTA (higher is better) when the selection has
/// a test part, else by UA and RA: {"judged_by": ["UA", "RA"], "UA": ..., "RA": ...}. A value
/// that is not in the result (no retrain model, an undefined metric) is left out. Returns an
/// empty object when there is neither entry.
nlohmann::json goal_entry(const nlohmann::json& result);

/// One row of a side-by-side table: a model entry of one of the results.
struct TableRow {
  std::string name;       // "original", "retrain", or the method's name (a label when two share it)
  std::string role;       // its role in the result: original, retrain, unlearned or model
  size_t result = 0;      // which result it came from
  nlohmann::json entry;   // models.<role>
  nlohmann::json time_s;  // training time (original, retrain) or unlearning time; null if unknown
};

/// The depth audits (metrics/depth_audit.h) in the order of docs/metrics.md, each with the
/// words a table's column header gives it ("after D_r fine-tuning").
const std::vector<std::pair<std::string, std::string>>& audit_columns();

/// The forget side after audit `name` in `audits` (a model entry's "audits"): its FTA, or
/// Acc(D_f) = 100 − UA without a test part; NaN when the audit or both values are absent.
double audit_forget_side(const nlohmann::json& audits, const std::string& name);

/// The rows of `format_table`: original and retrain once (from the first result that has
/// each), then each result's unlearned (or eval's model) entry.
std::vector<TableRow> table_rows(const std::vector<nlohmann::json>& results,
                                 const std::vector<std::string>& labels = {});

/// A side-by-side table of one or more result files: original and retrain once, then each
/// unlearned model under its method's name; columns UA, RA, TA, FTA, RTA, MIA_efficacy,
/// Avg-gap and time, then, when any row has audits, a depth-audit table: the forget side's
/// accuracy after each audit (FTA, or Acc(D_f) = 100 − UA without a test part), the depth gap and
/// the audits' time.
/// Missing values print as "-".
/// When two results share a method name, their rows are told apart by `labels` (e.g. the file
/// names, in the order of `results`), when given.
std::string format_table(const std::vector<nlohmann::json>& results,
                         const std::vector<std::string>& labels = {});

/// Reads a result JSON file; throws IoError / FormatError naming the file.
nlohmann::json read_result(const std::string& path);

}  // namespace unlearn
