// unlearn eval: the metrics of a model on a selection, beside the original and the retrain.

#include <cstdio>

#include "common.h"
#include "console.h"
#include "unlearn/jobs/jobs.h"
#include "unlearn/report/result.h"

namespace unlearn::cli {

void register_eval(CLI::App& app) {
  auto* sub = app.add_subcommand("eval", "evaluate a model on a forget selection");
  auto job = std::make_shared<EvalJob>();
  auto common = std::make_shared<CommonOptions>();
  auto json = std::make_shared<bool>(false);
  sub->add_option("--model", job->model, "model file to evaluate")->required();
  add_selection_options(sub, job->selection, "data source",
                        "selection expression of the forget set");
  sub->add_option("--original", job->original, "the original model, for comparison");
  sub->add_option("--retrain", job->retrain, "the retrained gold standard, for Avg-gap");
  sub->add_flag("--json", *json, "print the result JSON instead of a table");
  auto no_cache = std::make_shared<bool>(false);
  sub->add_flag("--no-cache", *no_cache,
                "evaluate every model afresh (no reuse of cached outputs)");
  sub->add_flag("--relearn", job->relearn,
                "also count the fine-tuning steps on D_f that restore the original's accuracy");
  sub->add_flag("--audit", job->audit,
                "also run the depth audits (recalibration, relearning on D_r, few-shot "
                "relearning, linear probe) of every model, and the depth gap to the retrain");
  add_common_options(sub, *common);
  sub->callback([=] {
    RunContext context = common->apply();
    job->use_cache = !*no_cache;
    job->torchscript = common->torchscript();
    ConsoleObserver observer(common->quiet || *json);
    auto result = run_eval_job(*job, context, observer);
    if (*json) {
      std::printf("%s\n", result.dump(2).c_str());
    } else {
      std::printf("%s", format_table({result}).c_str());
    }
  });
}

}  // namespace unlearn::cli
