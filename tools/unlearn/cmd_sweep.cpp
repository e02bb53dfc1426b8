// unlearn sweep: grid or random search over one method's options, on a validation split.

#include <cstdio>

#include "common.h"
#include "console.h"
#include "distributed.h"
#include "unlearn/jobs/sweep.h"

namespace unlearn::cli {

void register_sweep(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "sweep", "search one method's options on a validation split; resumes an existing --out");
  auto job = std::make_shared<SweepJob>();
  auto common = std::make_shared<CommonOptions>();
  sub->add_option("plan", job->plan, "sweep file (YAML, see docs/sweep.md)")->required();
  sub->add_option("--out", job->out, "output folder; trials already finished there are skipped")
      ->required();
  sub->add_flag("--compose", job->compose,
                "then compose the best-retaining trial with the best-forgetting one");
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
      auto summary = run_sweep_job(*job, context, observer);
      if (!common->quiet) {
        std::printf("%s", sweep_markdown(summary).c_str());
        std::printf("\n%d trials run now, %d failed; results -> %s/sweep.{csv,json,md}\n",
                    summary["ran"].get<int>(), summary["failed"].get<int>(), job->out.c_str());
      }
    });
  });
}

}  // namespace unlearn::cli
