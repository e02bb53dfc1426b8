// unlearn sweep: grid or random search over one method's options, on a validation split.

#include <cstdio>

#include "console.h"
#include "plan_command.h"
#include "unlearn/jobs/sweep.h"

namespace unlearn::cli {

void register_sweep(CLI::App& app) {
  auto job = std::make_shared<SweepJob>();
  auto* sub = add_plan_command(
      app,
      {"sweep", "search one method's options on a validation split; resumes an existing --out",
       "sweep file (YAML, see docs/sweep.md)",
       "output folder; trials already finished there are skipped"},
      job, [job](const RunContext& context, bool quiet) {
        ConsoleObserver observer(quiet);
        const auto summary = run_sweep_job(*job, context, observer);
        if (quiet) return;
        std::printf("%s", sweep_markdown(summary).c_str());
        std::printf("\n%d trials run now, %d failed; results -> %s/sweep.{csv,json,md}\n",
                    summary["ran"].get<int>(), summary["failed"].get<int>(), job->out.c_str());
      });
  sub->add_flag("--compose", job->compose,
                "then compose the best-retaining trial with the best-forgetting one");
}

}  // namespace unlearn::cli
