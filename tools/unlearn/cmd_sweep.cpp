// unlearn sweep: grid or random search over one method's options, on a validation split.

#include "plan_command.h"
#include "unlearn/jobs/sweep.h"

namespace unlearn::cli {

void register_sweep(CLI::App& app) {
  auto job = std::make_shared<SweepJob>();
  auto* sub = add_plan_command(
      app,
      {"sweep", "search one method's options on a validation split; resumes an existing --out",
       "sweep file (YAML, see docs/sweep.md)",
       "output folder; trials already finished there are skipped", "trials", "sweep",
       sweep_markdown},
      job, [job](const RunContext& context, Observer& observer) {
        return run_sweep_job(*job, context, observer);
      });
  sub->add_flag("--compose", job->compose,
                "then compose the best-retaining trial with the best-forgetting one");
}

}  // namespace unlearn::cli
