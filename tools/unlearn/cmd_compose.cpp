// unlearn compose: merge unlearning runs of one original, or search for the best merge.

#include <cstdio>

#include "common.h"
#include "console.h"
#include "unlearn/core/error.h"
#include "unlearn/core/parse.h"
#include "unlearn/jobs/compose.h"
#include "unlearn/report/result.h"

namespace unlearn::cli {

namespace {

/// --take GROUP=N: GROUP from the N-th model (counted from 1).
std::pair<std::string, size_t> take_of(const std::string& text) {
  const auto [group, index] = split_assignment(text);
  const auto n = parse_integer(index);
  UNLEARN_CHECK_AS(UsageError, !group.empty() && n && *n >= 1, "--take: expected GROUP=N ",
                   "with N counting the models from 1, got '", text, "'");
  return {group, static_cast<size_t>(*n - 1)};
}

/// --alpha A (every group) or GROUP=A (one group).
void add_alpha(ComposeJob& job, const std::string& text) {
  const auto [group, value] = split_assignment(text);
  const auto alpha = parse_real(value);
  UNLEARN_CHECK_AS(UsageError, alpha.has_value(), "--alpha: expected a number, got '", value, "'");
  if (group.empty()) {
    job.alpha = *alpha;
  } else {
    job.group_alpha.emplace_back(group, *alpha);
  }
}

void declare_merge(CLI::App* sub, ComposeJob& job) {
  auto* merge = sub->add_option_group("merge");
  merge->add_option_function<std::vector<std::string>>(
      "--take",
      [&job](const auto& items) {
        for (const auto& t : items) job.take.push_back(take_of(t));
      },
      "swap: GROUP=N takes GROUP (a module group or a parameter-name prefix) from the N-th "
      "model; the rest comes from the first");
  merge->add_option_function<std::vector<std::string>>(
      "--alpha",
      [&job](const auto& items) {
        for (const auto& a : items) add_alpha(job, a);
      },
      "interpolate: weight of the second model, for every group (A) or one (GROUP=A) "
      "[default: 0.5]");
  merge->add_option_function<std::string>(
      "--weights", [&job](const std::string& v) { job.weights = parse_real_list(v, "--weights"); },
      "soup or interpolate: W1,W2,... summing to 1");
  merge->add_option("--base", job.base, "task-vector: the model the vectors start from");
  merge->add_option_function<std::string>(
      "--scale", [&job](const std::string& v) { job.scales = parse_real_list(v, "--scale"); },
      "task-vector: S1,S2,... one per model [default: 1]");
  merge->add_flag("--allow-mixed-origin", job.allow_mixed_origin,
                  "merge runs of different original models");
}

void declare_data(CLI::App* sub, ComposeJob& job, bool& no_cache) {
  auto* data = sub->add_option_group("data and evaluation");
  data->add_option("--data", job.selection.data, "data source the models were trained on")
      ->capture_default_str();
  data->add_option("--forget", job.selection.forget,
                   "selection that was forgotten: recalibration and fine-tuning use the rest, "
                   "and the composite is evaluated on it");
  data->add_flag("--allow-empty", job.selection.allow_empty,
                 "accept a selection matching nothing or everything");
  data->add_option("--original", job.original,
                   "original model, evaluated beside the composite (and ranks outliers())");
  data->add_option("--retrain", job.retrain, "retrained gold standard: Avg-gap, search targets");
  data->add_flag("--no-cache", no_cache, "evaluate every model afresh");
  add_data_options(sub, job.selection.data_options);
}

void declare_polish(CLI::App* sub, ComposeJob& job) {
  auto* after = sub->add_option_group("after the merge");
  after->add_flag_callback(
      "--no-recalibrate",
      [&job] {
        job.polish.recalibrate(false);
        job.search.recalibrate(false);
      },
      "keep the merged batch-norm statistics instead of recomputing them on D_r");
  after->add_option("--finetune-epochs", job.polish.finetune_epochs(),
                    "fine-tune the composite on D_r for this many passes [default: 0, none]");
  after
      ->add_option_function<std::string>(
          "--finetune-optimizer",
          [&job](const std::string& v) {
            job.polish.finetune().optimizer(parse_choice<OptimizerKind>(v, "finetune-optimizer"));
          },
          "sgd or adam")
      ->default_str(choice_name(job.polish.finetune().optimizer()));
  after->add_option("--finetune-lr", job.polish.finetune().lr(), "fine-tune learning rate")
      ->capture_default_str();
  after->add_option_function<std::string>(
      "--freeze", [&job](const std::string& v) { job.polish.freeze(split_commas(v)); },
      "GROUP,... left unchanged by the fine-tune");
}

void declare_search(CLI::App* sub, ComposeJob& job) {
  auto& s = job.search;
  auto* searching = sub->add_option_group("search");
  searching
      ->add_option_function<std::string>(
          "--goal", [&s](const std::string& v) { s.goal(parse_choice<CompositeGoal>(v, "goal")); },
          "suppress or match-retrain")
      ->default_str(choice_name(s.goal()));
  searching->add_option("--max-forget-acc", s.max_forget_acc(),
                        "suppress: highest validation forget accuracy allowed, percent "
                        "[default: the retrain's + --tolerance]");
  searching->add_option("--tolerance", s.tolerance(), "points above the retrain's forget accuracy")
      ->capture_default_str();
  searching
      ->add_option("--max-gap", s.max_gap(),
                   "match-retrain: largest UA and MIA gap to the retrain, points")
      ->capture_default_str();
  searching->add_option("--grid", s.grid(), "mixing weights tried per group, from 0 to 1")
      ->capture_default_str();
  searching->add_option_function<std::string>(
      "--groups", [&s](const std::string& v) { s.groups(split_commas(v)); },
      "GROUP,... searched [default: the model's groups]");
  searching->add_option("--max-candidates", s.max_candidates(), "cap on the candidates")
      ->capture_default_str();
  searching
      ->add_option("--validation", job.validation,
                   "share of the training rows that judge candidates")
      ->capture_default_str();
  searching
      ->add_option("--search-rows", job.search_rows, "training rows kept to judge UA, RA and MIA")
      ->capture_default_str();
}

/// What the search chose, in words.
void say_search(const nlohmann::json& search) {
  const auto& chosen = search["candidates"][search["chosen"].get<size_t>()];
  std::printf(
      "search: %zu candidates, chose %s (%s)\n", search["candidates"].size(),
      chosen["weights"].dump().c_str(),
      search["met"].get<bool>() ? "meets the constraint" : "none met the constraint; closest");
  const int source = unmixed_source(chosen["weights"]);
  if (source >= 0) {
    std::printf("search: that is model %d unchanged; no merge retains more under the constraint\n",
                source + 1);
  }
}

}  // namespace

void register_compose(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "compose",
      "merge unlearning runs of one original (swap, interpolate, soup, task-vector), or "
      "--search for the best merge");
  auto job = std::make_shared<ComposeJob>();
  auto common = std::make_shared<CommonOptions>();
  auto items = std::make_shared<std::vector<std::string>>();
  auto search = std::make_shared<bool>(false);
  auto no_cache = std::make_shared<bool>(false);
  sub->add_option("operator-and-models", *items,
                  "OPERATOR MODEL... (swap, interpolate, soup, task-vector); with --search only "
                  "the models")
      ->required()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub->add_flag("--search", *search,
                "search swaps and mixes of the models on a validation split (see --goal)");
  add_output_options(sub, job->outputs, "composite model file to write");
  declare_merge(sub, *job);
  declare_data(sub, *job, *no_cache);
  declare_polish(sub, *job);
  declare_search(sub, *job);
  add_common_options(sub, *common);
  auto export_format = std::make_shared<std::string>();
  add_export_option(sub, *export_format);
  auto html = std::make_shared<HtmlOptions>();
  add_html_options(sub, *html);

  sub->callback([=] {
    RunContext context = common->apply();
    job->use_cache = !*no_cache;
    job->torchscript = common->torchscript();
    job->outputs.html = html->resolve(job->outputs.report);
    job->op = *search ? "search" : items->front();
    job->models.assign(items->begin() + (*search ? 0 : 1), items->end());
    job->search.seed(context.seed());
    ConsoleObserver observer(common->quiet);
    check_export(*export_format, job->outputs.out, job->outputs.force);
    auto result = run_compose_job(*job, context, observer);
    export_and_say(*export_format, job->outputs, common->quiet);
    if (common->quiet) return;
    if (result.contains("search")) say_search(result["search"]);
    if (result.contains("models")) std::printf("%s", format_table({result}).c_str());
    say_outputs("composite model", job->outputs, common->quiet);
  });
}

}  // namespace unlearn::cli
