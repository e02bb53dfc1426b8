#pragma once
// `unlearn bench`: scenarios × methods × seeds on one data set, every method judged against
// the same retrained gold standard. See docs/bench.md for the file format and outputs.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "unlearn/core/context.h"
#include "unlearn/core/observer.h"
#include "unlearn/jobs/jobs.h"
#include "unlearn/jobs/plan_run.h"
#include "unlearn/jobs/sweep.h"
#include "unlearn/methods/option_table.h"

namespace unlearn {

/// A named forget selection.
struct BenchScenario {
  std::string name;
  std::string forget;
  int line = 0;  // in the bench file, for messages
  /// Its own seeds (`seeds:` in the scenario), fewer for a costly scenario; empty: the plan's.
  std::vector<uint64_t> seeds;
};

/// One method column: its label in the tables, the registry name and its option values, and
/// the space its tuning searches (empty: not tuned).
struct BenchMethod {
  std::string label;
  std::string method;
  OptionValues options;
  std::vector<SweepParam> space;
};

/// Equal tuning (`tune:` in the plan): per scenario, every method with a `space` gets a random
/// search of the same number of settings, judged on a validation split carved from the training
/// rows (as `unlearn sweep`); its lowest validation Avg-gap runs as "<label>-tuned" beside the
/// defaults. trials 0: no tuning.
struct BenchTuning {
  int64_t trials = 0;
  double validation = 0.1;
  uint64_t seed = 0;
};

/// A time budget: a share of the retrain's training time, as written in the plan ("1/100").
struct BenchBudget {
  std::string text;
  double share = 0;
  /// The cells' label suffix and folder part: "1/100" -> "1-100".
  std::string tag() const;
};

/// A parsed bench file.
struct BenchPlan {
  std::string data = "fashion-mnist";
  /// Architecture and recipe of the originals (the recipe's seed is replaced by each seed).
  TrainJob model;
  std::vector<uint64_t> seeds{0};
  std::vector<BenchScenario> scenarios;
  std::vector<BenchMethod> methods;
  /// Run the depth audits in every cell (`audit: false` in the plan turns them off).
  bool audit = true;
  /// Every method but retrain also runs at each of these budgets (forget --time-budget); with
  /// tuning, only the tuned columns do.
  std::vector<BenchBudget> budgets;
  /// The seeds the budget cells run on (`budget_seeds:`); empty: every seed of the scenario.
  std::vector<uint64_t> budget_seeds;
  BenchTuning tune;

 public:
  /// `scenario`'s seeds: its own, or the plan's.
  const std::vector<uint64_t>& seeds_of(const BenchScenario& scenario) const;
  /// Every seed some scenario runs, in first-seen order (one original each).
  std::vector<uint64_t> all_seeds() const;
  /// Whether the budget cells run on `seed`.
  bool budgets_on(uint64_t seed) const;
};

/// Reads and checks a bench file before any work: unknown keys, methods and options, bad
/// option values and bad selections fail with UsageError "FILE:LINE: ...", naming them.
BenchPlan read_bench_plan(const std::string& path);

struct BenchJob : PlanRun {};

/// Runs every cell not already finished in `job.out` and writes results.csv, results.json and
/// results.md there. Returns the aggregate (results.json's content).
nlohmann::json run_bench_job(const BenchJob& job, const RunContext& context, Observer& observer);

/// The Markdown tables of a bench's results.json content: per scenario, every method's mean ±
/// std over seeds, ranked by Avg-gap (match-retrain), by depth gap and by RTA − FTA (suppress);
/// with budgets, each budget's ranking and the time-Avg-gap Pareto front.
std::string bench_markdown(const nlohmann::json& aggregate);

/// The Pareto front of unlearning time against Avg-gap in one scenario of a bench's results:
/// the retrain at its training time and every method at its own plan and at each budget (means
/// over seeds); the points no other beats on both, fastest first, as {label, time_s, avg_gap}.
nlohmann::json time_avg_gap_front(const nlohmann::json& aggregate, const std::string& scenario);

}  // namespace unlearn
