// unlearn compose: merge unlearning runs of one original, or search for the best merge.

#include <cstdio>
#include <sstream>

#include "common.h"
#include "console.h"
#include "unlearn/core/error.h"
#include "unlearn/core/parse.h"
#include "unlearn/jobs/compose.h"
#include "unlearn/report/result.h"

namespace unlearn::cli {

namespace {

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) parts.push_back(part);
  return parts;
}

double real_or_usage(const std::string& text, const std::string& flag) {
  const auto value = parse_real(text);
  UNLEARN_CHECK_AS(UsageError, value.has_value(), flag, ": expected a number, got '", text, "'");
  return *value;
}

std::vector<double> reals(const std::string& text, const std::string& flag) {
  std::vector<double> out;
  if (text.empty()) return out;
  for (const auto& part : split_commas(text)) out.push_back(real_or_usage(part, flag));
  return out;
}

/// "GROUP=VALUE" -> (GROUP, VALUE); a bare VALUE gives an empty group.
std::pair<std::string, std::string> group_value(const std::string& text) {
  const auto eq = text.rfind('=');
  if (eq == std::string::npos) return {"", text};
  return {text.substr(0, eq), text.substr(eq + 1)};
}

/// The index of the model a candidate takes every group from whole, or -1 for a real merge.
int unmixed_source(const nlohmann::json& weights) {
  int source = -1;
  for (const auto& [group, w] : weights.items()) {
    int one = -1;
    for (size_t i = 0; i < w.size(); ++i) {
      const double x = w[i].get<double>();
      if (x == 1.0 && one < 0) {
        one = static_cast<int>(i);
      } else if (x != 0.0) {
        return -1;
      }
    }
    if (one < 0 || (source >= 0 && one != source)) return -1;
    source = one;
  }
  return source;
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
  auto take = std::make_shared<std::vector<std::string>>();
  auto alpha = std::make_shared<std::vector<std::string>>();
  auto weights = std::make_shared<std::string>();
  auto scales = std::make_shared<std::string>();
  auto freeze = std::make_shared<std::string>();
  auto groups = std::make_shared<std::string>();
  auto search = std::make_shared<bool>(false);
  auto no_recalibrate = std::make_shared<bool>(false);
  auto no_cache = std::make_shared<bool>(false);
  auto finetune_lr = std::make_shared<double>(job->polish.finetune().lr());
  auto finetune_optimizer = std::make_shared<std::string>(job->polish.finetune().optimizer());
  auto finetune_epochs = std::make_shared<double>(0);
  auto max_forget = std::make_shared<double>(-1);
  auto grid = std::make_shared<int64_t>(job->search.grid());
  auto goal = std::make_shared<std::string>(job->search.goal());
  auto max_gap = std::make_shared<double>(job->search.max_gap());
  auto tolerance = std::make_shared<double>(job->search.tolerance());
  auto max_candidates = std::make_shared<int64_t>(job->search.max_candidates());

  sub->add_option("operator-and-models", *items,
                  "OPERATOR MODEL... (swap, interpolate, soup, task-vector); with --search only "
                  "the models")
      ->required()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub->add_flag("--search", *search,
                "search swaps and mixes of the models on a validation split (see --goal)");
  sub->add_option("--out", job->out, "composite model file to write")->required();
  sub->add_option("--report", job->report, "result JSON to write");
  sub->add_flag("--force", job->force, "overwrite existing outputs");

  auto* merge = sub->add_option_group("merge");
  merge
      ->add_option("--take", *take,
                   "swap: GROUP=N takes GROUP (a module group or a parameter-name prefix) "
                   "from the N-th model; the rest comes from the first")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  merge
      ->add_option("--alpha", *alpha,
                   "interpolate: weight of the second model, for every group (A) or one "
                   "(GROUP=A) [default: 0.5]")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  merge->add_option("--weights", *weights, "soup or interpolate: W1,W2,... summing to 1");
  merge->add_option("--base", job->base, "task-vector: the model the vectors start from");
  merge->add_option("--scale", *scales, "task-vector: S1,S2,... one per model [default: 1]");
  merge->add_flag("--allow-mixed-origin", job->allow_mixed_origin,
                  "merge runs of different original models");

  auto* data = sub->add_option_group("data and evaluation");
  data->add_option("--data", job->data, "data source the models were trained on")
      ->capture_default_str();
  data->add_option("--forget", job->forget,
                   "selection that was forgotten: recalibration and fine-tuning use the rest, "
                   "and the composite is evaluated on it");
  data->add_flag("--allow-empty", job->allow_empty,
                 "accept a selection matching nothing or everything");
  data->add_option("--original", job->original,
                   "original model, evaluated beside the composite (and ranks outliers())");
  data->add_option("--retrain", job->retrain, "retrained gold standard: Avg-gap, search targets");
  data->add_flag("--no-cache", *no_cache, "evaluate every model afresh");

  auto* after = sub->add_option_group("after the merge");
  after->add_flag("--no-recalibrate", *no_recalibrate,
                  "keep the merged batch-norm statistics instead of recomputing them on D_r");
  after->add_option("--finetune-epochs", *finetune_epochs,
                    "fine-tune the composite on D_r for this many passes [default: 0, none]");
  after->add_option("--finetune-optimizer", *finetune_optimizer, "sgd or adam")
      ->capture_default_str();
  after->add_option("--finetune-lr", *finetune_lr, "fine-tune learning rate")
      ->capture_default_str();
  after->add_option("--freeze", *freeze, "GROUP,... left unchanged by the fine-tune");

  auto* searching = sub->add_option_group("search");
  searching->add_option("--goal", *goal, "suppress or match-retrain")->capture_default_str();
  searching->add_option("--max-forget-acc", *max_forget,
                        "suppress: highest validation forget accuracy allowed, percent "
                        "[default: the retrain's + --tolerance]");
  searching->add_option("--tolerance", *tolerance, "points above the retrain's forget accuracy")
      ->capture_default_str();
  searching
      ->add_option("--max-gap", *max_gap,
                   "match-retrain: largest UA and MIA gap to the retrain, points")
      ->capture_default_str();
  searching->add_option("--grid", *grid, "mixing weights tried per group, from 0 to 1")
      ->capture_default_str();
  searching->add_option("--groups", *groups, "GROUP,... searched [default: the model's groups]");
  searching->add_option("--max-candidates", *max_candidates, "cap on the candidates")
      ->capture_default_str();
  searching
      ->add_option("--validation", job->validation,
                   "share of the training rows that judge candidates")
      ->capture_default_str();
  searching
      ->add_option("--search-rows", job->search_rows, "training rows kept to judge UA, RA and MIA")
      ->capture_default_str();

  add_data_options(sub, job->data_options);
  add_common_options(sub, *common);
  add_registry_options(sub, job->registry);
  auto export_format = std::make_shared<std::string>();
  add_export_option(sub, *export_format);
  add_manifest_options(sub, job->manifest, job->manifest_ids);
  auto html = std::make_shared<HtmlOptions>();
  add_html_options(sub, *html);

  sub->callback([=] {
    RunContext context = common->apply();
    job->use_cache = !*no_cache;
    job->html = html->resolve(job->report);
    if (*search) {
      job->op = "search";
      job->models = *items;
    } else {
      job->op = items->front();
      job->models.assign(items->begin() + 1, items->end());
    }
    for (const auto& t : *take) {
      const auto [group, index] = group_value(t);
      const auto n = parse_integer(index);
      UNLEARN_CHECK_AS(UsageError, !group.empty() && n && *n >= 1, "--take: expected GROUP=N ",
                       "with N counting the models from 1, got '", t, "'");
      job->take.emplace_back(group, static_cast<size_t>(*n - 1));
    }
    for (const auto& a : *alpha) {
      const auto [group, value] = group_value(a);
      const double x = real_or_usage(value, "--alpha");
      if (group.empty()) {
        job->alpha = x;
      } else {
        job->group_alpha.emplace_back(group, x);
      }
    }
    job->weights = reals(*weights, "--weights");
    job->scales = reals(*scales, "--scale");
    job->polish.recalibrate(!*no_recalibrate)
        .finetune_epochs(*finetune_epochs)
        .finetune(UpdateOptions().optimizer(*finetune_optimizer).lr(*finetune_lr).weight_decay(0))
        .freeze(freeze->empty() ? std::vector<std::string>{} : split_commas(*freeze));
    job->search.goal(*goal)
        .max_forget_acc(*max_forget)
        .tolerance(*tolerance)
        .max_gap(*max_gap)
        .grid(*grid)
        .groups(groups->empty() ? std::vector<std::string>{} : split_commas(*groups))
        .max_candidates(*max_candidates)
        .recalibrate(!*no_recalibrate)
        .seed(context.seed());
    ConsoleObserver observer(common->quiet);
    check_export(*export_format, job->out, job->force);
    auto result = run_compose_job(*job, context, observer);
    const std::string exported = write_export(*export_format, job->out, job->force);
    if (!exported.empty() && !common->quiet) std::printf("TorchScript -> %s\n", exported.c_str());
    if (!common->quiet) {
      if (result.contains("search")) {
        const auto& s = result["search"];
        const auto& chosen = s["candidates"][s["chosen"].get<size_t>()];
        std::printf(
            "search: %zu candidates, chose %s (%s)\n", s["candidates"].size(),
            chosen["weights"].dump().c_str(),
            s["met"].get<bool>() ? "meets the constraint" : "none met the constraint; closest");
        const int source = unmixed_source(chosen["weights"]);
        if (source >= 0) {
          std::printf(
              "search: that is model %d unchanged; no merge retains more under the "
              "constraint\n",
              source + 1);
        }
      }
      if (result.contains("models")) std::printf("%s", format_table({result}).c_str());
      std::printf("composite model -> %s%s%s%s%s\n", job->out.c_str(),
                  job->report.empty() ? "" : ", result -> ", job->report.c_str(),
                  job->html.empty() ? "" : ", report -> ", job->html.c_str());
    }
  });
}

}  // namespace unlearn::cli
