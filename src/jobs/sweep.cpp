#include "unlearn/jobs/sweep.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>

#include "cells.h"
#include "plan_yaml.h"
#include "sweep_compose.h"
#include "unlearn/core/atomic_file.h"
#include "unlearn/core/error.h"
#include "unlearn/core/json_text.h"
#include "unlearn/data/source.h"
#include "unlearn/dist/work_queue.h"
#include "unlearn/methods/registry.h"
#include "unlearn/report/html_report.h"
#include "unlearn/report/result.h"
#include "unlearn/select/selection.h"

namespace unlearn {

namespace fs = std::filesystem;

namespace {

using namespace plan;
using namespace cells;

SweepParam read_param(const std::string& path, const std::string& flag, const YAML::Node& node) {
  SweepParam p;
  p.flag = flag;
  if (node.IsSequence()) {
    if (node.size() == 0) plan_error(path, node, "space." + flag + ": the list is empty");
    for (const auto& v : node) p.values.push_back(scalar(path, v, "space." + flag));
    return p;
  }
  if (node.IsScalar()) {
    p.values.push_back(node.as<std::string>());
    return p;
  }
  check_keys(path, node, "space." + flag, {"uniform", "log-uniform", "int-uniform"});
  const auto kv = *node.begin();
  p.law = kv.first.as<std::string>();
  const YAML::Node& range = kv.second;
  if (!range.IsSequence() || range.size() != 2) {
    plan_error(path, range, "space." + flag + "." + p.law + ": expected [low, high]");
  }
  p.low = number<double>(path, range[0], "space." + flag);
  p.high = number<double>(path, range[1], "space." + flag);
  if (!(p.low < p.high) || (p.law == "log-uniform" && p.low <= 0)) {
    plan_error(path, range,
               "space." + flag + ": expected low < high" +
                   (p.law == "log-uniform" ? std::string(" and low > 0") : std::string()));
  }
  return p;
}

std::string format_value(double v, bool integer) {
  if (integer) return std::to_string(static_cast<int64_t>(std::llround(v)));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string trial_name(size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "t%03zu", i);
  return buf;
}

/// Accuracy on the forget side and on the retain side, as the suppress goal reads them:
/// validation FTA/RTA when the selection has a validation part, else Acc(D_f) and RA.
std::pair<double, double> suppress_axes(const nlohmann::json& v) {
  if (v.contains("FTA") && v.contains("RTA")) return {v["FTA"], v["RTA"]};
  return {100.0 - v.value("UA", NAN), v.value("RA", NAN)};
}

}  // namespace

std::vector<SweepParam> plan::read_search_space(const std::string& path, const YAML::Node& space,
                                                const std::string& method,
                                                const OptionValues& fixed,
                                                const std::string& search) {
  if (!space.IsMap() || space.size() == 0) {
    plan_error(path, space, "space: expected a mapping of option: values");
  }
  std::vector<SweepParam> params;
  for (const auto& kv : space) {
    const std::string flag = kv.first.as<std::string>();
    SweepParam p = read_param(path, flag, kv.second);
    if (search == "grid" && p.values.empty()) {
      plan_error(path, kv.second, "space." + flag + ": a grid needs a list of values");
    }
    // Every value must be one the method accepts: checked now, before any training.
    const std::vector<std::string> probes =
        p.values.empty() ? std::vector<std::string>{format_value(p.low, p.law == "int-uniform"),
                                                    format_value(p.high, p.law == "int-uniform")}
                         : p.values;
    for (const auto& value : probes) {
      OptionValues values = fixed;
      values[flag] = value;
      try {
        make_method(method, values);
      } catch (const Error& e) {  // names the plan file and line
        plan_error(path, kv.first, detail::concat("method '", method, "': ", e.what()));
      }
    }
    params.push_back(p);
  }
  return params;
}

SweepPlan read_sweep_plan(const std::string& path) {
  const YAML::Node root = load_plan(path, "sweep");
  check_keys(path, root, "sweep file",
             {"data", "model", "recipe", "seed", "forget", "validation", "method", "options",
              "search", "trials", "space", "suppress_tolerance", "audit"});
  SweepPlan plan;
  if (root["audit"]) plan.audit = boolean(path, root["audit"], "audit");
  if (root["data"]) plan.data = scalar(path, root["data"], "data");
  plan.model.data = plan.data;
  if (root["model"]) read_model_section(path, root["model"], plan.model);
  if (root["recipe"]) read_recipe_section(path, root["recipe"], plan.model.recipe);
  if (root["seed"]) plan.seed = number<uint64_t>(path, root["seed"], "seed");
  if (!root["forget"]) plan_error(path, root, "'forget' is required");
  plan.forget = scalar(path, root["forget"], "forget");
  try {
    Selection::parse(plan.forget);
  } catch (const Error& e) {  // names the plan file and line
    plan_error(path, root["forget"], std::string("forget: ") + e.what());
  }
  if (root["validation"]) {
    plan.validation = number<double>(path, root["validation"], "validation");
    if (!(plan.validation > 0 && plan.validation < 0.5)) {
      plan_error(path, root["validation"], "validation: expected a share in (0, 0.5)");
    }
  }
  if (!root["method"]) plan_error(path, root, "'method' is required");
  plan.method = scalar(path, root["method"], "method");
  plan.fixed = read_options(path, root["options"]);
  if (root["search"]) {
    plan.search = scalar(path, root["search"], "search");
    if (plan.search != "grid" && plan.search != "random") {
      plan_error(path, root["search"],
                 "search: expected grid or random, got '" + plan.search + "'");
    }
  }
  if (root["trials"]) plan.trials = number<int64_t>(path, root["trials"], "trials");
  if (plan.search == "random" && plan.trials < 1) {
    plan_error(path, root["trials"] ? root["trials"] : root, "random search needs trials >= 1");
  }
  if (root["suppress_tolerance"]) {
    plan.suppress_tolerance =
        number<double>(path, root["suppress_tolerance"], "suppress_tolerance");
  }
  const YAML::Node& space = root["space"];
  if (!space) plan_error(path, root, "space: expected a mapping of option: values");
  plan.space = plan::read_search_space(path, space, plan.method, plan.fixed, plan.search);
  try {
    make_method(plan.method, plan.fixed);
  } catch (const Error& e) {  // names the plan file and line
    plan_error(path, root["method"], detail::concat("method '", plan.method, "': ", e.what()));
  }
  return plan;
}

std::vector<OptionValues> sweep_trials(const SweepPlan& plan) {
  std::vector<OptionValues> trials;
  if (plan.search == "grid") {
    trials.push_back(plan.fixed);
    for (const auto& p : plan.space) {
      std::vector<OptionValues> next;
      for (const auto& base : trials) {
        for (const auto& v : p.values) {
          OptionValues t = base;
          t[p.flag] = v;
          next.push_back(t);
        }
      }
      trials = std::move(next);
    }
    return trials;
  }
  std::mt19937_64 rng(plan.seed * 0x9E3779B97F4A7C15ULL + 17);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int64_t i = 0; i < plan.trials; ++i) {
    OptionValues t = plan.fixed;
    for (const auto& p : plan.space) {
      const double u = unit(rng);
      if (!p.values.empty()) {
        t[p.flag] =
            p.values[std::min(p.values.size() - 1, static_cast<size_t>(u * p.values.size()))];
      } else if (p.law == "log-uniform") {
        t[p.flag] = format_value(
            std::exp(std::log(p.low) + u * (std::log(p.high) - std::log(p.low))), false);
      } else {
        t[p.flag] = format_value(p.low + u * (p.high - p.low), p.law == "int-uniform");
      }
    }
    trials.push_back(t);
  }
  return trials;
}

DataBundle carve_validation(const DataBundle& bundle, double fraction, uint64_t seed) {
  const int64_t n = bundle.train.size();
  const int64_t n_val = static_cast<int64_t>(std::llround(fraction * static_cast<double>(n)));
  UNLEARN_CHECK(n_val >= 1 && n_val < n, "validation: ", fraction, " of ", n,
                " training rows leaves no validation or no training split");
  auto generator = at::detail::createCPUGenerator(seed);
  auto order = torch::randperm(n, generator, torch::kInt64);
  auto val = std::get<0>(order.slice(0, 0, n_val).sort());
  auto train = std::get<0>(order.slice(0, n_val).sort());
  DataBundle carved;
  carved.source = bundle.source + " (validation split)";
  carved.train = bundle.train.subset(train);
  carved.test = bundle.train.subset(val);
  return carved;
}

namespace {

/// A bad or empty selection fails before any training; outliers() needs the original model,
/// so it is checked when the retrain is made.
void check_forget(const SweepPlan& plan, const DataBundle& bundle, const std::string& path) {
  try {
    const Selection selection = Selection::parse(plan.forget);
    if (!selection.uses_outliers()) make_split(selection, bundle, SplitOptions());
  } catch (const Error& e) {  // names the plan file
    throw UsageError(detail::concat(path, ": forget: ", e.what()));
  }
}

/// The validation original and retrain, when missing (rank 0 alone in a distributed sweep).
void make_references(const SweepPlan& plan, const DataBundle& bundle, const PlanFolder& folder,
                     const std::string& data_label, const std::string& original,
                     const std::string& retrain, const RunContext& ctx, Observer& observer) {
  if (folder.writes() && !fs::exists(original)) {
    observer.message("sweep: training the original without the validation split");
    fs::create_directories(fs::path(original).parent_path());
    TrainJob train = plan.model;
    train.data = data_label;
    train.recipe.seed(plan.seed);
    ensure_original(train, bundle, original, ctx);
  }
  if (folder.writes() && !fs::exists(retrain)) {
    observer.message("sweep: training the retrain without the validation split");
    fs::create_directories(fs::path(retrain).parent_path());
    ensure_retrain(original, data_label, plan.forget, bundle, retrain,
                   fs::path(retrain).replace_extension(".json").string(), ctx);
  }
}

/// Every trial's row, and its place on the two goals' axes (NaN when it failed).
struct TrialRows {
  nlohmann::json rows = nlohmann::json::array();
  std::vector<double> forget, keep, gaps;
};

TrialRows collect_trials(const std::vector<OptionValues>& trials, const fs::path& out) {
  TrialRows t;
  for (size_t i = 0; i < trials.size(); ++i) {
    const fs::path dir = out / "trials" / trial_name(i);
    nlohmann::json row = {{"trial", trial_name(i)}, {"options", trials[i]}};
    const auto result = read_json_or_null((dir / "result.json").string());
    double f = NAN, k = NAN, g = NAN;
    if (!result.is_null()) {
      row["status"] = "ok";
      row["values"] = row_values(result, "unlearned");
      row["values"]["time_s"] = result["time_s"].value("unlearn", 0.0);
      std::tie(f, k) = suppress_axes(row["values"]);
      g = row["values"].value("avg_gap", NAN);
    } else {
      row["status"] = "failed";
      row["error"] = cell_error(dir);
    }
    t.forget.push_back(f);
    t.keep.push_back(k);
    t.gaps.push_back(g);
    t.rows.push_back(row);
  }
  return t;
}

/// summary.chosen: match-retrain takes the lowest validation Avg-gap; suppress, among settings
/// whose forget-side accuracy is within the tolerance of the retrain's, the best retain-side
/// accuracy, and when none qualifies the lowest forget accuracy.
void choose_settings(nlohmann::json& summary, const TrialRows& t,
                     const std::vector<OptionValues>& trials, double tolerance) {
  std::optional<size_t> best_gap;
  for (size_t i = 0; i < t.gaps.size(); ++i) {
    if (!std::isnan(t.gaps[i]) && (!best_gap || t.gaps[i] < t.gaps[*best_gap])) best_gap = i;
  }
  const double retrain_forget = suppress_axes(summary["retrain"]).first;
  std::optional<size_t> best_suppress;
  for (size_t i = 0; i < trials.size(); ++i) {
    if (std::isnan(t.forget[i]) || std::isnan(t.keep[i])) continue;
    if (!(t.forget[i] <= retrain_forget + tolerance)) continue;
    if (!best_suppress || t.keep[i] > t.keep[*best_suppress]) best_suppress = i;
  }
  const bool suppress_qualified = best_suppress.has_value();
  if (!best_suppress) {
    for (size_t i = 0; i < trials.size(); ++i) {
      if (std::isnan(t.forget[i])) continue;
      if (!best_suppress || t.forget[i] < t.forget[*best_suppress]) best_suppress = i;
    }
  }
  auto chosen = [&](std::optional<size_t> i, const std::string& why) {
    if (!i) return nlohmann::json(nullptr);
    return nlohmann::json{{"trial", trial_name(*i)},
                          {"options", trials[*i]},
                          {"values", summary["trials"][*i]["values"]},
                          {"why", why}};
  };
  summary["chosen"]["match-retrain"] = chosen(best_gap, "lowest validation Avg-gap");
  summary["chosen"]["suppress"] = chosen(
      best_suppress, suppress_qualified
                         ? detail::concat("highest ", summary["axes"]["keep"].get<std::string>(),
                                          " among settings within ", tolerance,
                                          " points of the retrain's forget-side accuracy")
                         : "no setting came within the tolerance: the lowest forget-side "
                           "accuracy");
}

/// sweep.csv: trial, each searched option, then the metrics.
std::string sweep_csv(const nlohmann::json& summary, const SweepPlan& plan) {
  std::ostringstream csv;
  csv << "trial,status";
  for (const auto& p : plan.space) csv << "," << p.flag;
  const std::vector<std::string> columns = {"UA",        "RA",           "TA",          "FTA",
                                            "RTA",       "MIA_efficacy", "MIA_entropy", "avg_gap",
                                            "depth_gap", "time_s"};
  for (const auto& c : columns) csv << "," << c;
  csv << "\n";
  for (const auto& t : summary["trials"]) {
    csv << t["trial"].get<std::string>() << "," << t["status"].get<std::string>();
    for (const auto& p : plan.space) csv << "," << t["options"][p.flag].get<std::string>();
    const nlohmann::json values = t.value("values", nlohmann::json::object());
    for (const auto& c : columns) {
      csv << ",";
      if (values.contains(c) && values[c].is_number()) csv << values[c].get<double>();
    }
    csv << "\n";
  }
  return csv.str();
}

void write_sweep_files(const nlohmann::json& summary, const SweepPlan& plan, const fs::path& out,
                       bool html) {
  write_text_atomically((out / "sweep.csv").string(), sweep_csv(summary, plan), true, "--out");
  write_text_atomically((out / "sweep.json").string(), json_text(summary, 2) + "\n", true, "--out");
  write_text_atomically((out / "sweep.md").string(), sweep_markdown(summary), true, "--out");
  const bool any_trial = std::any_of(summary["trials"].begin(), summary["trials"].end(),
                                     [](const auto& t) { return t.value("status", "") == "ok"; });
  if (!html || !any_trial) return;
  // Closest to the retrain first: the report draws the first few trials in detail.
  auto sources = load_report_sources({out.string()});
  std::stable_sort(sources.begin(), sources.end(), [](const auto& a, const auto& b) {
    const double ga = a.result.value("avg_gap", 1e300), gb = b.result.value("avg_gap", 1e300);
    return ga < gb;
  });
  write_html_report((out / "report.html").string(), sources, true, "--out");
}

}  // namespace

nlohmann::json run_sweep_job(const SweepJob& job, const RunContext& context, Observer& observer) {
  return run_sweep(read_sweep_plan(job.plan), job, context, observer);
}

nlohmann::json run_sweep(const SweepPlan& plan, const SweepJob& job, const RunContext& context,
                         Observer& observer) {
  UNLEARN_CHECK_AS(UsageError, !job.group || job.original.empty(),
                   "sweep: shared reference models need a single process");
  const std::vector<OptionValues> trials = sweep_trials(plan);
  const PlanFolder folder(job);
  const fs::path& out = folder.path();
  const DataBundle bundle = carve_validation(load_data(plan.data), plan.validation, plan.seed);
  check_forget(plan, bundle, job.plan);
  const std::string data_label = plan.data + " (validation split)";
  const RunContext ctx = RunContext(context).seed(plan.seed);
  const std::string original =
      job.original.empty() ? (out / "models" / "original.pt").string() : job.original;
  const std::string retrain =
      job.retrain.empty() ? (out / "models" / "retrain.pt").string() : job.retrain;
  make_references(plan, bundle, folder, data_label, original, retrain, ctx, observer);
  if (job.group) {
    dist::share_files(*job.group, "sweep-models", out, {"models/original.pt", "models/retrain.pt"});
  }
  CellList work;
  work.name = "sweep";
  work.count = trials.size();
  work.job = [&](size_t i) {
    return cell_job(original, data_label, plan.forget, plan.method, trials[i], retrain, plan.audit);
  };
  work.folder = [&](size_t i) { return out / "trials" / trial_name(i); };
  work.label = trial_name;
  work.context = [&](size_t) { return ctx; };
  work.stop_by = job.stop_by;
  const CellTally tally = run_cells(work, bundle, job.group, out, observer);
  if (!folder.writes()) return nlohmann::json::object();  // rank 0 writes the summary

  nlohmann::json summary;
  summary["plan_file"] = job.plan;
  summary["method"] = plan.method;
  summary["forget"] = plan.forget;
  summary["data"] = data_label;
  summary["validation"] = plan.validation;
  summary["search"] = plan.search;
  summary["env"] = env_entry(configure_threads(context.threads()), plan.seed,
                             context.device().str(), precision_name(context.precision()));
  summary["ran"] = tally.ran;
  summary["failed"] = tally.failed;
  summary["left"] = tally.left;
  const auto gold = read_json_or_null(fs::path(retrain).replace_extension(".json").string());
  summary["retrain"] = gold.is_null() ? nlohmann::json::object() : row_values(gold, "unlearned");
  const TrialRows t = collect_trials(trials, out);
  summary["trials"] = t.rows;
  summary["axes"] = {
      {"forget", summary["retrain"].contains("FTA") ? "FTA (validation)" : "Acc(D_f)"},
      {"keep", summary["retrain"].contains("RTA") ? "RTA (validation)" : "RA"}};
  summary["pareto_front"] = nlohmann::json::array();
  for (size_t i : pareto_front(t.forget, t.keep)) summary["pareto_front"].push_back(trial_name(i));
  choose_settings(summary, t, trials, plan.suppress_tolerance);
  if (job.compose) {
    std::vector<std::string> names;
    for (size_t i = 0; i < trials.size(); ++i) names.push_back(trial_name(i));
    summary["compose"] = compose_sweep_trials(out, plan.forget, names, t.forget, t.keep,
                                              plan.suppress_tolerance, bundle, ctx, observer);
  }
  write_sweep_files(summary, plan, out, job.html);
  return summary;
}

std::string sweep_markdown(const nlohmann::json& s) {
  std::ostringstream md;
  auto num = [](const nlohmann::json& v, const char* key) {
    if (!v.contains(key) || !v[key].is_number()) return std::string("-");
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v[key].get<double>());
    return std::string(buf);
  };
  auto flags = [](const nlohmann::json& options) {
    std::string text;
    for (const auto& [k, v] : options.items()) {
      text += (text.empty() ? "" : " ") + ("--" + k + " " + v.get<std::string>());
    }
    return text;
  };
  md << "# Sweep of " << s.value("method", "") << " on `" << s.value("forget", "") << "`\n\n"
     << "Judged on a validation split of " << s.value("validation", 0.0) * 100
     << "% of the training rows, against an original and a retrain trained without it; the "
     << "test set is not read. Search: " << s.value("search", "") << ", " << s["trials"].size()
     << " settings.\n\n";
  md << "| trial | options | UA | RA | FTA (val) | RTA (val) | MIA_efficacy | Avg-gap | depth gap "
        "| time (s) | Pareto |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
  const auto& retrain = s["retrain"];
  const bool audited = std::any_of(s["trials"].begin(), s["trials"].end(), [](const auto& t) {
    return t.value("values", nlohmann::json::object()).contains("depth_gap");
  });
  md << "| retrain | | " << num(retrain, "UA") << " | " << num(retrain, "RA") << " | "
     << num(retrain, "FTA") << " | " << num(retrain, "RTA") << " | " << num(retrain, "MIA_efficacy")
     << " | 0 | " << (audited ? "0" : "-") << " | | |\n";
  for (const auto& t : s["trials"]) {
    const nlohmann::json v = t.value("values", nlohmann::json::object());
    const std::string id = t["trial"];
    const auto& front = s["pareto_front"];
    const bool on_front = std::find(front.begin(), front.end(), id) != front.end();
    md << "| " << id << " | `" << flags(t["options"]) << "` | " << num(v, "UA") << " | "
       << num(v, "RA") << " | " << num(v, "FTA") << " | " << num(v, "RTA") << " | "
       << num(v, "MIA_efficacy") << " | " << num(v, "avg_gap") << " | " << num(v, "depth_gap")
       << " | " << num(v, "time_s") << " | " << (on_front ? "yes" : "") << " |\n";
  }
  for (const char* goal : {"match-retrain", "suppress"}) {
    const auto& c = s["chosen"][goal];
    md << "\nChosen for " << goal << ": ";
    if (c.is_null()) {
      md << "none (no trial finished).\n";
    } else {
      md << c["trial"].get<std::string>() << ", `" << flags(c["options"]) << "` ("
         << c["why"].get<std::string>() << ").\n";
    }
  }
  if (s.contains("compose")) md << sweep_compose_markdown(s["compose"]);
  return md.str();
}

}  // namespace unlearn
