#pragma once
// The one declaration `unlearn bench` and `unlearn sweep` share: a plan file, --out, the common,
// report and distributed options, and a run as one rank of a group.

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>

#include "common.h"
#include "unlearn/jobs/plan_run.h"

namespace unlearn::cli {

/// What a plan subcommand is called and says of itself.
struct PlanCommand {
  std::string name;         // bench | sweep
  std::string description;  // the subcommand's help
  std::string plan_help;    // the positional plan file's help
  std::string out_help;     // --out's help
};

/// Declares `command` on `app` for the job `run` (a BenchJob or SweepJob, which the caller may
/// give more options), and runs `body` with its context and quietness after parsing.
CLI::App* add_plan_command(CLI::App& app, const PlanCommand& command,
                           const std::shared_ptr<PlanRun>& run,
                           std::function<void(const RunContext&, bool quiet)> body);

}  // namespace unlearn::cli
