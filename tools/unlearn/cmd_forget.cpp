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

namespace {

/// The chosen method's own flags; values stay text until the method parses them.
struct MethodFlags {
  std::map<std::string, std::string> values;
  std::map<std::string, bool> switches;
  std::vector<std::pair<std::string, CLI::Option*>> declared;

  /// The flags given on the command line (or in --config), as the method's option values.
  OptionValues given() const {
    OptionValues out;
    for (const auto& [flag, opt] : declared) {
      if (opt->count() == 0) continue;
      out[flag] = switches.count(flag) ? (switches.at(flag) ? "true" : "false") : values.at(flag);
    }
    return out;
  }
};

/// --preset and every option of `method_name`, in an option group of their own.
void declare_method_options(CLI::App* sub, const std::string& method_name, MethodFlags& flags) {
  const MethodEntry& entry = find_method(method_name);
  auto* group = sub->add_option_group(method_name + " options");
  if (!entry.presets.empty()) {
    std::string presets;
    for (const auto& p : entry.presets) presets += (presets.empty() ? "" : "|") + p;
    flags.declared.push_back(
        {"preset", group->add_option("--preset", flags.values["preset"],
                                     "start from a named set of values: " + presets)});
  }
  for (const auto& doc : entry.options()) {
    const std::string help = doc.help + " [default: " + doc.value + "]";
    CLI::Option* opt = doc.is_switch
                           ? group->add_flag("--" + doc.flag + ",!--no-" + doc.flag,
                                             flags.switches[doc.flag], help)
                           : group->add_option("--" + doc.flag, flags.values[doc.flag], help);
    flags.declared.push_back({doc.flag, opt});
  }
}

}  // namespace

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
  sub->add_flag("--audit", job->audit,
                "also run the depth audits (recalibration, relearning on D_r, few-shot "
                "relearning, linear probe) of every model, and the depth gap to the retrain");
  sub->add_option("--input-size", job->input_size,
                  "check that the model takes SxS inputs (the size is set by train --input-size)")
      ->check(positive());
  sub->add_option("--retain-share", job->retain_share,
                  "share of the retain set the method may use, a seeded random subset "
                  "(metrics still use all of it)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  sub->add_option("--time-budget", job->time_budget_s,
                  "wall-clock seconds the method may take: it runs the planned steps that fit, "
                  "spread evenly over its plan, and the result says whether it kept to the "
                  "budget (default 0: no budget)")
      ->check(CLI::NonNegativeNumber);
  add_common_options(sub, *common);
  auto export_format = std::make_shared<std::string>();
  add_export_option(sub, *export_format);
  auto html = std::make_shared<HtmlOptions>();
  add_html_options(sub, *html);

  auto method_flags = std::make_shared<MethodFlags>();
  declare_method_options(sub, method_name, *method_flags);

  auto dist_options = std::make_shared<dist::DistOptions>();
  add_dist_options(sub, *dist_options, /*sync_bn=*/true);
  sub->callback([=] {
    run_as_rank(*dist_options, *common, /*data_parallel=*/true,
                [&](const RunContext& context, auto*) {
                  job->use_cache = !*no_cache;
                  job->torchscript = common->torchscript();
                  job->method_options = method_flags->given();
                  job->outputs.html = html->resolve(job->outputs.report);
                  ConsoleObserver observer(common->quiet);
                  check_export(*export_format, job->outputs.out, job->outputs.force);
                  auto result = run_forget_job(*job, context, observer);
                  // Rank 0 alone writes a data-parallel run's files.
                  if (!is_writing_rank(context.group())) return;
                  export_and_say(*export_format, job->outputs, common->quiet);
                  if (!common->quiet) std::printf("%s", format_table({result}).c_str());
                  say_outputs("unlearned model", job->outputs, common->quiet);
                });
  });
}

}  // namespace unlearn::cli
