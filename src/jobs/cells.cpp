#include "cells.h"

#include <chrono>
#include <fstream>
#include <sstream>

#include "unlearn/core/atomic_file.h"
#include "unlearn/core/error.h"
#include "unlearn/core/log_observer.h"
#include "unlearn/dist/gloo_group.h"
#include "unlearn/dist/work_queue.h"
#include "unlearn/methods/registry.h"
#include "unlearn/report/result.h"

namespace unlearn::cells {

namespace fs = std::filesystem;

namespace {

/// Creates `dir` and dir/models and copies the plan file, when there is one, to dir/plan.yaml
/// (the plan as last run); throws IoError naming --out and the folder when it cannot.
void create_output_folder(const fs::path& dir, const std::string& plan) {
  std::error_code ec;
  fs::create_directories(dir / "models", ec);
  if (ec) {
    throw IoError(
        detail::concat("--out: cannot create the folder '", dir.string(), "': ", ec.message()));
  }
  if (plan.empty()) return;  // a plan made in memory (the bench's tuning sweeps)
  std::ifstream in(plan);
  std::stringstream text;
  text << in.rdbuf();
  write_text_atomically((dir / "plan.yaml").string(), text.str(), /*force=*/true, "--out");
}

}  // namespace

PlanFolder::PlanFolder(const PlanRun& run) {
  UNLEARN_CHECK_AS(UsageError, !run.out.empty(), "--out is required");
  if (run.group && run.group->rank() != 0) scratch_.emplace(run.group->rank());
  path_ = scratch_ ? scratch_->path() : fs::path(run.out);
  if (!scratch_) create_output_folder(path_, run.plan);
}

nlohmann::json read_json_or_null(const std::string& path) {
  if (!fs::exists(path)) return nullptr;
  try {
    return read_result(path);
  } catch (const Error&) {  // an unreadable result means the cell is redone
    return nullptr;
  }
}

void add_audit_values(nlohmann::json& values, const nlohmann::json& entry) {
  if (entry.contains("depth_gap")) values["depth_gap"] = entry["depth_gap"];
  if (!entry.contains("audits")) return;
  for (const auto& [audit, metrics] : entry["audits"].items()) {
    if (audit == "time_s") {
      values["audit_time_s"] = metrics;
      continue;
    }
    if (audit == "skipped" || !metrics.is_object()) continue;
    for (const std::string& m : depth_metrics()) {
      if (metrics.contains(m)) values[audit + "." + m] = metrics[m];
    }
  }
}

nlohmann::json row_values(const nlohmann::json& result, const std::string& role) {
  nlohmann::json v = nlohmann::json::object();
  const auto& entry = result["models"][role];
  for (const auto& [k, x] : entry["metrics"].items()) v[k] = x;
  if (entry.contains("avg_gap")) v["avg_gap"] = entry["avg_gap"];
  add_audit_values(v, entry);
  const nlohmann::json divergence = entry.value("output_divergence", nlohmann::json::object());
  for (const auto& [k, x] : divergence.items()) {
    if (x.is_number()) v[k] = x;
  }
  return v;
}

void ensure_original(TrainJob recipe, const DataBundle& bundle, const std::string& path,
                     const RunContext& context) {
  if (fs::exists(path)) return;
  recipe.out = path;
  LogObserver log(path + ".log");
  run_train_job(recipe, bundle, context, log);
}

ForgetJob cell_job(const std::string& model, const std::string& data, const std::string& forget,
                   const std::string& method, const OptionValues& options,
                   const std::string& retrain, bool audit) {
  ForgetJob job;
  job.audit = audit;
  job.model = model;
  job.selection.data = data;
  job.selection.forget = forget;
  job.method = method;
  job.method_options = options;
  job.retrain = retrain;
  return job;
}

void ensure_retrain(const std::string& original, const std::string& data, const std::string& forget,
                    const DataBundle& bundle, const std::string& path, const std::string& report,
                    const RunContext& context) {
  if (fs::exists(path)) return;
  ForgetJob gold = cell_job(original, data, forget, "retrain", {}, "", false);
  gold.outputs.out = path;
  gold.outputs.report = report;
  gold.outputs.force = true;
  LogObserver log(path + ".log");
  run_forget_job(gold, bundle, context, log);
}

namespace {

bool is_current(const nlohmann::json& result, const Method& method, const std::string& forget) {
  return !result.is_null() && result.contains("method") &&
         result["method"].value("name", "") == method.name() &&
         result["method"].value("options", nlohmann::json()) == method.options_json() &&
         result.contains("data") && result["data"].value("forget", "") == forget;
}

/// The time budget a result was made under; 0 for none.
double budget_of(const nlohmann::json& result) {
  return result.value("time_budget", nlohmann::json::object()).value("seconds", 0.0);
}

/// Whether `dir` holds a result made with `job`'s method, options, selection and time budget
/// (and its depth audits, when the job asks for them: a cell run before audits existed is
/// redone).
bool is_done(const ForgetJob& job, const fs::path& dir) {
  const auto method = make_method(job.method, job.method_options);
  const nlohmann::json result = read_json_or_null((dir / "result.json").string());
  return is_current(result, *method, job.selection.forget) &&
         budget_of(result) == job.time_budget_s &&
         (!job.audit || result["models"]["unlearned"].contains("audits"));
}

}  // namespace

Outcome run_cell(ForgetJob job, const fs::path& dir, const DataBundle& bundle,
                 const RunContext& context, Observer& observer, const std::string& note) {
  const std::string result_path = (dir / "result.json").string();
  if (is_done(job, dir)) return Outcome::kSkipped;
  fs::create_directories(dir);
  fs::remove(dir / "error.txt");
  fs::remove(result_path);  // a stale result must not survive a failed rerun
  job.outputs.out = (dir / "model.pt").string();
  job.outputs.report = result_path;
  job.outputs.force = true;
  LogObserver log((dir / "log.txt").string());
  try {
    run_forget_job(job, bundle, context, log);
    return Outcome::kRan;
  } catch (const Error& e) {
    // One failing cell (a diverging method, say) must not stop the others.
    log.message(std::string("failed: ") + e.what());
    write_text_atomically((dir / "error.txt").string(), std::string(e.what()) + "\n", true,
                          "--out");
    observer.message(note + " failed: " + e.what());
    return Outcome::kFailed;
  }
}

CellTally run_cells(const CellList& cells, const DataBundle& bundle, dist::GlooGroup* group,
                    const fs::path& scratch, Observer& observer) {
  CellTally tally;
  const auto note = [&](size_t i) { return cells.name + ": " + cells.label(i); };
  if (group) {
    dist::TaskQueue queue;
    queue.name = cells.name;
    queue.count = cells.count;
    queue.needed = [&](size_t i) { return !is_done(cells.job(i), cells.folder(i)); };
    queue.folder = cells.folder;
    queue.label = cells.label;
    queue.run = [&](size_t i, const fs::path& folder) {
      run_cell(cells.job(i), folder, bundle, cells.context(i), observer, note(i));
    };
    const auto shared = dist::share_tasks(*group, queue, scratch, observer);
    tally.ran = static_cast<int64_t>(shared.pending.size());
    for (size_t i : shared.pending) {
      if (fs::exists(cells.folder(i) / "error.txt")) ++tally.failed;
    }
    return tally;
  }
  observer.begin(cells.name, static_cast<int64_t>(cells.count));
  for (size_t i = 0; i < cells.count; ++i) {
    if (cells.stop_by && std::chrono::steady_clock::now() >= *cells.stop_by &&
        !is_done(cells.job(i), cells.folder(i))) {
      ++tally.left;
      continue;
    }
    const Outcome outcome =
        run_cell(cells.job(i), cells.folder(i), bundle, cells.context(i), observer, note(i));
    if (outcome != Outcome::kSkipped) ++tally.ran;
    if (outcome == Outcome::kFailed) ++tally.failed;
    observer.progress(static_cast<int64_t>(i + 1),
                      cells.label(i) + (outcome == Outcome::kSkipped ? " (done before)" : ""));
  }
  observer.end();
  return tally;
}

std::string cell_error(const fs::path& dir) {
  std::ifstream in(dir / "error.txt");
  std::string line;
  if (in) std::getline(in, line);
  return line;
}

}  // namespace unlearn::cells
