// unlearn bench: scenarios x methods x seeds, judged against the retrained gold standard.

#include <cstdio>

#include "console.h"
#include "plan_command.h"
#include "unlearn/jobs/bench.h"

namespace unlearn::cli {

void register_bench(CLI::App& app) {
  auto job = std::make_shared<BenchJob>();
  add_plan_command(
      app,
      {"bench", "run a benchmark matrix (scenarios x methods x seeds); resumes an existing --out",
       "bench file (YAML, see docs/bench.md)",
       "output folder; cells already finished there are skipped"},
      job, [job](const RunContext& context, bool quiet) {
        ConsoleObserver observer(quiet);
        const auto aggregate = run_bench_job(*job, context, observer);
        if (quiet) return;
        std::printf("%s", bench_markdown(aggregate).c_str());
        std::printf("\n%d cells run now, %d failed; results -> %s/results.{csv,json,md}\n",
                    aggregate["ran"].get<int>(), aggregate["failed"].get<int>(), job->out.c_str());
      });
}

}  // namespace unlearn::cli
