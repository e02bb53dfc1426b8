#pragma once
// `unlearn sweep`: grid or random search over one method's options. Every setting is judged on a
// validation split carved from the training data, against an original and a retrain trained
// without it; the test set is never read. See docs/sweep.md.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "unlearn/core/context.h"
#include "unlearn/core/observer.h"
#include "unlearn/data/dataset.h"
#include "unlearn/jobs/jobs.h"
#include "unlearn/jobs/plan_run.h"
#include "unlearn/methods/option_table.h"
#include "unlearn/metrics/pareto.h"

namespace unlearn {

/// One searched option: a list of values (grid or random), or a range (random only).
struct SweepParam {
  std::string flag;
  std::vector<std::string> values;  // when non-empty, the choices
  std::string law;                  // "uniform" | "log-uniform" | "int-uniform" for a range
  double low = 0, high = 0;
};

struct SweepPlan {
  std::string data = "fashion-mnist";
  TrainJob model;  // architecture and recipe of the validation original
  uint64_t seed = 0;
  std::string forget;
  double validation = 0.1;  // share of the training rows held out as the validation split
  std::string method;
  OptionValues fixed;  // options every trial shares
  std::string search = "grid";
  int64_t trials = 0;  // random search only
  std::vector<SweepParam> space;
  /// suppress: a setting qualifies when its validation forget accuracy is at most the retrain's
  /// plus this many points.
  double suppress_tolerance = 1.0;
  /// Run the depth audits in every trial (`audit: false` turns them off).
  bool audit = true;
};

/// Reads and checks a sweep file; problems are UsageErrors "FILE:LINE: ..." naming the key.
SweepPlan read_sweep_plan(const std::string& path);

/// The option values of every trial, in order (grid: the full product; random: `trials`
/// draws seeded by the plan's seed).
std::vector<OptionValues> sweep_trials(const SweepPlan& plan);

/// `bundle` with `fraction` of its training rows moved into the test role (seeded); the real
/// test set is dropped.
DataBundle carve_validation(const DataBundle& bundle, double fraction, uint64_t seed);

struct SweepJob : PlanRun {
  /// Then compose the best-retaining and the best-forgetting trial (docs/compose.md).
  bool compose = false;
  /// Where the validation original and retrain are kept (made when missing; the retrain's
  /// result beside it as .json); empty: out/models/. The bench's tuning shares them among the
  /// sweeps of its methods. One process only.
  std::string original, retrain;
};

/// Runs every trial not yet in `job.out`; writes sweep.csv, sweep.json and sweep.md there.
nlohmann::json run_sweep_job(const SweepJob& job, const RunContext& context, Observer& observer);

/// The same for a plan already read (the bench's tuning); `job.plan` may be empty (then no
/// plan.yaml is copied into the folder).
nlohmann::json run_sweep(const SweepPlan& plan, const SweepJob& job, const RunContext& context,
                         Observer& observer);

std::string sweep_markdown(const nlohmann::json& summary);

}  // namespace unlearn
