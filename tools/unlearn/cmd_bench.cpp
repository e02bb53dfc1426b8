// unlearn bench: scenarios x methods x seeds, judged against the retrained gold standard.

#include <cstdio>

#include "common.h"
#include "console.h"
#include "distributed.h"
#include "unlearn/jobs/bench.h"

namespace unlearn::cli {

void register_bench(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "bench", "run a benchmark matrix (scenarios x methods x seeds); resumes an existing --out");
  auto job = std::make_shared<BenchJob>();
  auto common = std::make_shared<CommonOptions>();
  sub->add_option("plan", job->plan, "bench file (YAML, see docs/bench.md)")->required();
  sub->add_option("--out", job->out, "output folder; cells already finished there are skipped")
      ->required();
  add_common_options(sub, *common);
  auto no_report = std::make_shared<bool>(false);
  sub->add_flag("--no-report", *no_report, "write no HTML report (report.html in --out)");
  auto dist_options = std::make_shared<dist::DistOptions>();
  add_dist_options(sub, *dist_options, /*sync_bn=*/false);
  sub->callback([=] {
    run_as_rank(*dist_options, *common, /*data_parallel=*/false, [&](dist::GlooGroup* group) {
      job->group = group;
      job->html = !*no_report;
      RunContext context = common->apply();
      ConsoleObserver observer(common->quiet);
      auto aggregate = run_bench_job(*job, context, observer);
      if (!common->quiet) {
        std::printf("%s", bench_markdown(aggregate).c_str());
        std::printf("\n%d cells run now, %d failed; results -> %s/results.{csv,json,md}\n",
                    aggregate["ran"].get<int>(), aggregate["failed"].get<int>(), job->out.c_str());
      }
    });
  });
}

}  // namespace unlearn::cli
