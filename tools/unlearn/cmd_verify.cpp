// unlearn verify: recompute what a run's audit manifest records.

#include <cstdio>

#include "common.h"
#include "console.h"
#include "unlearn/core/error.h"
#include "unlearn/jobs/verify.h"

namespace unlearn::cli {

void register_verify(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "verify",
      "recompute the hashes and metrics an audit manifest records; exit 1 on any "
      "difference");
  auto job = std::make_shared<VerifyJob>();
  auto common = std::make_shared<CommonOptions>();
  sub->add_option("manifest", job->manifest, "OUT.manifest.json written by forget or compose")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--tolerance", job->tolerance,
                  "largest accepted difference of a recomputed metric, percentage points")
      ->check(non_negative())
      ->capture_default_str();
  add_common_options(sub, *common);
  sub->callback([=] {
    const RunContext context = common->apply();
    job->torchscript = common->torchscript();
    ConsoleObserver observer(common->quiet);
    const VerifyReport report = run_verify_job(*job, context, observer);
    std::printf("%s", verify_text(report).c_str());
    if (report.mismatches() > 0) {
      throw Error(detail::concat("verify: ", report.mismatches(), " of ", report.checks.size(),
                                 " checks differ from ", job->manifest));
    }
  });
}

}  // namespace unlearn::cli
