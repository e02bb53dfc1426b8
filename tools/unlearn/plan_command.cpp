#include "plan_command.h"

#include <cstdio>

#include "console.h"
#include "distributed.h"

namespace unlearn::cli {

CLI::App* add_plan_command(CLI::App& app, const PlanCommand& command,
                           const std::shared_ptr<PlanRun>& run,
                           std::function<nlohmann::json(const RunContext&, Observer&)> job) {
  auto* sub = app.add_subcommand(command.name, command.description);
  auto common = std::make_shared<CommonOptions>();
  sub->add_option("plan", run->plan, command.plan_help)->required();
  sub->add_option("--out", run->out, command.out_help)->required();
  add_common_options(sub, *common);
  auto no_report = std::make_shared<bool>(false);
  sub->add_flag("--no-report", *no_report, "write no HTML report (report.html in --out)");
  auto stop_after = std::make_shared<double>(0);
  sub->add_option("--stop-after", *stop_after,
                  "start no " + command.units.substr(0, command.units.size() - 1) +
                      " after this many minutes; the rest run when the same command is run "
                      "again (default 0: run them all)")
      ->check(CLI::NonNegativeNumber);
  auto dist_options = std::make_shared<dist::DistOptions>();
  add_dist_options(sub, *dist_options, /*sync_bn=*/false);
  sub->callback([=] {
    run_as_rank(*dist_options, *common, /*data_parallel=*/false,
                [&](const RunContext& context, dist::GlooGroup* group) {
                  run->group = group;
                  run->html = !*no_report;
                  if (*stop_after > 0) run->stop_by = deadline_after(*stop_after * 60);
                  ConsoleObserver observer(common->quiet);
                  const nlohmann::json summary = job(context, observer);
                  if (common->quiet) return;
                  std::printf("%s", command.markdown(summary).c_str());
                  std::printf("\n%d %s run now, %d failed; results -> %s/%s.{csv,json,md}\n",
                              summary["ran"].get<int>(), command.units.c_str(),
                              summary["failed"].get<int>(), run->out.c_str(),
                              command.files.c_str());
                  if (summary.value("left", 0) > 0) {
                    std::printf("%d %s left by --stop-after: run the same command again\n",
                                summary["left"].get<int>(), command.units.c_str());
                  }
                });
  });
  return sub;
}

}  // namespace unlearn::cli
