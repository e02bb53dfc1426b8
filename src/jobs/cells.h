#pragma once
// The resumable unit of `unlearn bench` and `unlearn sweep`: originals and gold-standard
// retrains made once into a folder, and forget runs ("cells") that are skipped when a current
// result is already there. Internal to jobs/.

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "unlearn/core/context.h"
#include "unlearn/core/observer.h"
#include "unlearn/data/dataset.h"
#include "unlearn/dist/work_queue.h"
#include "unlearn/jobs/jobs.h"
#include "unlearn/jobs/plan_run.h"

namespace unlearn::dist {
class GlooGroup;
}

namespace unlearn::cells {

/// The folder a bench or sweep works in: `run.out` on rank 0 or alone (created, with dir/models
/// and the plan, when `run.plan` names one, copied to dir/plan.yaml); other ranks work in a scratch
/// folder that receives the models rank 0 made, and write nothing of their own.
class PlanFolder {
 public:
  explicit PlanFolder(const PlanRun& run);
  const std::filesystem::path& path() const { return path_; }
  /// Rank 0 or a single process: the one that makes references and writes the results.
  bool writes() const { return !scratch_; }

 private:
  std::optional<dist::ScratchFolder> scratch_;
  std::filesystem::path path_;
};

/// A result JSON, or null when the file is absent or unreadable (then the cell is redone).
nlohmann::json read_json_or_null(const std::string& path);

/// The scalar metrics of `role` in a result, with avg_gap, the output divergences and, when the
/// entry has depth audits, depth_gap, audit_time_s and `<audit>.UA` / `<audit>.FTA`.
nlohmann::json row_values(const nlohmann::json& result, const std::string& role);

/// The depth-audit part of row_values: `entry` is a models.<role> entry.
void add_audit_values(nlohmann::json& values, const nlohmann::json& entry);

/// Trains `recipe` (its `out` is set here) into `path` unless that file exists; logs to
/// path + ".log".
void ensure_original(TrainJob recipe, const DataBundle& bundle, const std::string& path,
                     const RunContext& context);

/// The forget run of a cell: `method` with `options` on `model`, forgetting `forget` from the
/// data source `data` (already loaded; the name is for the result), judged against `retrain`
/// (may be empty), with the depth audits when `audit`. Its outputs are set by run_cell.
ForgetJob cell_job(const std::string& model, const std::string& data, const std::string& forget,
                   const std::string& method, const OptionValues& options,
                   const std::string& retrain, bool audit);

/// Runs the retrain method on `original` for `forget` into `path` (with its result JSON at
/// `report`) unless `path` exists; logs to path + ".log".
void ensure_retrain(const std::string& original, const std::string& data, const std::string& forget,
                    const DataBundle& bundle, const std::string& path, const std::string& report,
                    const RunContext& context);

enum class Outcome { kSkipped, kRan, kFailed };

/// Runs `job` with its outputs in `dir` (model.pt, result.json, log.txt; error.txt when it
/// fails) unless `dir` holds a result made with the same method, options and selection.
/// A failure is recorded, reported to `observer` and returned, not thrown.
Outcome run_cell(ForgetJob job, const std::filesystem::path& dir, const DataBundle& bundle,
                 const RunContext& context, Observer& observer, const std::string& note);

/// The cells of a sweep or bench: cell i is the forget run `job(i)` into `folder(i)`.
struct CellList {
  std::string name;  // progress label: "sweep" or "bench"
  size_t count = 0;
  std::function<ForgetJob(size_t)> job;
  std::function<std::filesystem::path(size_t)> folder;
  std::function<std::string(size_t)> label;
  std::function<RunContext(size_t)> context;
  /// No cell starts after this (PlanRun::stop_by); one process only.
  Deadline stop_by;
};

/// What run_cells did: cells run now, and of those the failed ones; and the unfinished cells
/// left for a later run by `stop_by`.
struct CellTally {
  int64_t ran = 0;
  int64_t failed = 0;
  int64_t left = 0;
};

/// Runs every unfinished cell, in one process, or with `group` shared out among its ranks
/// through the store (dist::share_tasks; other ranks work under `scratch`, and their files come
/// back into rank 0's folders). The tally counts on rank 0 only.
CellTally run_cells(const CellList& cells, const DataBundle& bundle, dist::GlooGroup* group,
                    const std::filesystem::path& scratch, Observer& observer);

/// The first line of dir/error.txt, or "" when there is none.
std::string cell_error(const std::filesystem::path& dir);

}  // namespace unlearn::cells
