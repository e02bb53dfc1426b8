#pragma once
// The one declaration `unlearn bench` and `unlearn sweep` share: a plan file, --out, the common,
// report and distributed options, and a run as one rank of a group.

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>

#include "common.h"
#include "unlearn/core/observer.h"
#include "unlearn/jobs/plan_run.h"

namespace unlearn::cli {

/// What a plan subcommand is called, says of itself and prints when done.
struct PlanCommand {
  std::string name;         // bench | sweep
  std::string description;  // the subcommand's help
  std::string plan_help;    // the positional plan file's help
  std::string out_help;     // --out's help
  std::string units;        // what the plan runs: cells | trials
  std::string files;        // its files in --out: FILES.{csv,json,md}
  /// The tables of the summary the job returns.
  std::function<std::string(const nlohmann::json&)> markdown;
};

/// Declares `command` on `app` for the job `run` (a BenchJob or SweepJob, which the caller may
/// give more options); after parsing, runs `job` and prints its tables and a closing line.
CLI::App* add_plan_command(CLI::App& app, const PlanCommand& command,
                           const std::shared_ptr<PlanRun>& run,
                           std::function<nlohmann::json(const RunContext&, Observer&)> job);

}  // namespace unlearn::cli
