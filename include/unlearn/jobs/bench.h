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
#include "unlearn/methods/option_table.h"

namespace unlearn {

/// A named forget selection.
struct BenchScenario {
  std::string name;
  std::string forget;
  int line = 0;  // in the bench file, for messages
};

/// One method column: its label in the tables, the registry name and its option values.
struct BenchMethod {
  std::string label;
  std::string method;
  OptionValues options;
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
  /// Every method but retrain also runs at each of these budgets (forget --time-budget).
  std::vector<BenchBudget> budgets;
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
