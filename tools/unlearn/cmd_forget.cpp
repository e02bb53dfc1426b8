// unlearn forget: remove a selection's influence from a model with one method.

#include <cstdio>
#include <map>

#include "common.h"
#include "console.h"
#include "distributed.h"
#include "unlearn/core/data_parallel.h"
#include "unlearn/jobs/jobs.h"
#include "unlearn/methods/registry.h"
#include "unlearn/report/result.h"

namespace unlearn::cli {

void register_forget(CLI::App& app, const std::string& method_name) {
  auto* sub = app.add_subcommand("forget", "unlearn a selection from a model");
  auto job = std::make_shared<ForgetJob>();
  auto common = std::make_shared<CommonOptions>();
  job->method = method_name;

  sub->add_option("--model", job->model, "model file to unlearn from")->required();
  add_selection_options(sub, job->selection, "data source the model was trained on",
                        "selection expression of the data to forget");
  std::string method_list;
  for (const auto& e : method_registry()) method_list += (method_list.empty() ? "" : ", ") + e.name;
  sub->add_option("--method", job->method, "unlearning method: " + method_list)
      ->capture_default_str();
  sub->add_option("--retrain", job->retrain, "retrained gold-standard model, for Avg-gap");
  add_output_options(sub, job->outputs, "unlearned model file to write");
  auto no_cache = std::make_shared<bool>(false);
  sub->add_flag("--no-cache", *no_cache,
                "evaluate every model afresh (no reuse of cached outputs)");
  sub->add_flag("--relearn", job->relearn,
                "also count the fine-tuning steps on D_f that restore the original's accuracy");
  sub->add_option("--input-size", job->input_size,
                  "check that the model takes SxS inputs (the size is set by train --input-size)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--retain-share", job->retain_share,
                  "share of the retain set the method may use, a seeded random subset "
                  "(metrics still use all of it)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  add_common_options(sub, *common);
  auto export_format = std::make_shared<std::string>();
  add_export_option(sub, *export_format);
  auto html = std::make_shared<HtmlOptions>();
  add_html_options(sub, *html);

  // The chosen method's own options; values stay text until the method parses them.
  auto values = std::make_shared<std::map<std::string, std::string>>();
  auto switches = std::make_shared<std::map<std::string, bool>>();
  auto given = std::make_shared<std::vector<std::pair<std::string, CLI::Option*>>>();
  const MethodEntry& entry = find_method(method_name);
  auto* group = sub->add_option_group(method_name + " options");
  if (!entry.presets.empty()) {
    std::string presets;
    for (const auto& p : entry.presets) presets += (presets.empty() ? "" : "|") + p;
    given->push_back({"preset", group->add_option("--preset", (*values)["preset"],
                                                  "start from a named set of values: " + presets)});
  }
  for (const auto& doc : entry.options()) {
    CLI::Option* opt;
    if (doc.is_switch) {
      opt = group->add_flag("--" + doc.flag + ",!--no-" + doc.flag, (*switches)[doc.flag],
                            doc.help + " [default: " + doc.value + "]");
    } else {
      opt = group->add_option("--" + doc.flag, (*values)[doc.flag],
                              doc.help + " [default: " + doc.value + "]");
    }
    given->push_back({doc.flag, opt});
  }

  auto dist_options = std::make_shared<dist::DistOptions>();
  add_dist_options(sub, *dist_options, /*sync_bn=*/true);
  sub->callback([=] {
    run_as_rank(*dist_options, *common, /*data_parallel=*/true,
                [&](const RunContext& context, auto*) {
                  job->use_cache = !*no_cache;
                  job->torchscript = common->torchscript();
                  for (const auto& [flag, opt] : *given) {
                    if (opt->count() == 0) continue;
                    if (switches->count(flag)) {
                      job->method_options[flag] = switches->at(flag) ? "true" : "false";
                    } else {
                      job->method_options[flag] = values->at(flag);
                    }
                  }
                  job->outputs.html = html->resolve(job->outputs.report);
                  ConsoleObserver observer(common->quiet);
                  check_export(*export_format, job->outputs.out, job->outputs.force);
                  auto result = run_forget_job(*job, context, observer);
                  if (!is_writing_rank(context.group()))
                    return;  // rank 0 writes a data-parallel run's files
                  export_and_say(*export_format, job->outputs, common->quiet);
                  if (!common->quiet) std::printf("%s", format_table({result}).c_str());
                  say_outputs("unlearned model", job->outputs, common->quiet);
                });
  });
}

}  // namespace unlearn::cli
