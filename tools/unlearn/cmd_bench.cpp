// unlearn bench: scenarios x methods x seeds, judged against the retrained gold standard.

#include "plan_command.h"
#include "unlearn/jobs/bench.h"

namespace unlearn::cli {

void register_bench(CLI::App& app) {
  auto job = std::make_shared<BenchJob>();
  add_plan_command(
      app,
      {"bench", "run a benchmark matrix (scenarios x methods x seeds); resumes an existing --out",
       "bench file (YAML, see docs/bench.md)",
       "output folder; cells already finished there are skipped", "cells", "results",
       bench_markdown},
      job, [job](const RunContext& context, Observer& observer) {
        return run_bench_job(*job, context, observer);
      });
}

}  // namespace unlearn::cli
