#include "unlearn/jobs/bench.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "cells.h"
#include "plan_yaml.h"
#include "unlearn/core/atomic_file.h"
#include "unlearn/core/error.h"
#include "unlearn/core/json_text.h"
#include "unlearn/core/log_observer.h"
#include "unlearn/data/source.h"
#include "unlearn/dist/work_queue.h"
#include "unlearn/methods/registry.h"
#include "unlearn/metrics/evaluator.h"
#include "unlearn/metrics/forgetting_quality.h"
#include "unlearn/report/html_report.h"
#include "unlearn/report/result.h"
#include "unlearn/select/selection.h"

namespace unlearn {

namespace fs = std::filesystem;

namespace {

using namespace plan;
using namespace cells;

BenchMethod read_method(const std::string& path, const YAML::Node& node, bool tuning) {
  BenchMethod m;
  if (node.IsScalar()) {
    m.method = node.as<std::string>();
  } else {
    check_keys(path, node, "methods[]", {"method", "label", "options", "space"});
    if (!node["method"]) plan_error(path, node, "methods[]: 'method' is required");
    m.method = scalar(path, node["method"], "method");
    if (node["label"]) m.label = scalar(path, node["label"], "label");
    m.options = read_options(path, node["options"]);
    if (node["space"]) {
      if (!tuning) {
        plan_error(path, node["space"],
                   "space: a method's search space needs the plan's 'tune' section (trials)");
      }
      m.space = read_search_space(path, node["space"], m.method, m.options, "random");
    }
  }
  if (m.label.empty()) m.label = m.method;
  const YAML::Node& where = node.IsMap() && node["method"] ? node["method"] : node;
  try {
    make_method(m.method, m.options);  // unknown methods, options and values fail here
  } catch (const Error& e) {           // names the plan file and line
    plan_error(path, where, detail::concat("method '", m.method, "': ", e.what()));
  }
  check_name(path, where, m.label, "method label");
  return m;
}

std::string seed_tag(uint64_t seed) { return "s" + std::to_string(seed); }

/// A budget: "1/100" or a decimal share in (0, 1].
BenchBudget read_budget(const std::string& path, const YAML::Node& node) {
  BenchBudget b;
  b.text = scalar(path, node, "budgets[]");
  const auto slash = b.text.find('/');
  try {
    size_t used = 0;
    if (slash == std::string::npos) {
      b.share = std::stod(b.text, &used);
      if (used != b.text.size()) throw std::invalid_argument(b.text);
    } else {
      const std::string num = b.text.substr(0, slash), den = b.text.substr(slash + 1);
      const double n = std::stod(num, &used);
      if (used != num.size()) throw std::invalid_argument(num);
      const double d = std::stod(den, &used);
      if (used != den.size()) throw std::invalid_argument(den);
      b.share = n / d;
    }
  } catch (const std::exception&) {
    plan_error(path, node,
               "budgets[]: expected a share of the retrain's training time such as "
               "1/100 or 0.01, got '" +
                   b.text + "'");
  }
  if (!(b.share > 0 && b.share <= 1)) {
    plan_error(path, node, "budgets[]: expected a share in (0, 1], got '" + b.text + "'");
  }
  return b;
}

/// A non-empty list of seeds.
std::vector<uint64_t> read_seeds(const std::string& path, const YAML::Node& node,
                                 const std::string& what) {
  if (!node.IsSequence() || node.size() == 0)
    plan_error(path, node, what + ": expected a non-empty list");
  std::vector<uint64_t> seeds;
  for (const auto& s : node) seeds.push_back(number<uint64_t>(path, s, what + "[]"));
  return seeds;
}

/// The label of a method's tuned column.
std::string tuned_label(const std::string& label) { return label + "-tuned"; }

/// The label of a method's cells at a budget: "psg@1-100".
std::string budget_label(const std::string& label, const BenchBudget& budget) {
  return label + "@" + budget.tag();
}

/// Scores s (metrics/forgetting_quality.h) of the models in `paths` on the forget rows, N×M.
torch::Tensor forget_scores(const std::vector<std::string>& paths, const DataBundle& bundle,
                            const torch::Tensor& forget) {
  // Only the forget rows are converted, not the whole bundle per model.
  const auto images = bundle.train.images.index_select(0, forget);
  const auto labels = bundle.train.labels.index_select(0, forget);
  std::vector<torch::Tensor> rows;
  for (const auto& path : paths) {
    const Model model = Model::load(path);
    const auto x = to_model_input(images, model.spec().input);
    rows.push_back(logit_scaled_confidence(predict_logits(model, x, 256), labels));
  }
  return torch::stack(rows);
}

double mean_value(const std::vector<nlohmann::json>& values, const char* key) {
  double sum = 0;
  for (const auto& v : values) sum += v.value(key, 0.0);
  return values.empty() ? 0.0 : sum / static_cast<double>(values.size());
}

/// The tuned columns of each scenario ("<label>-tuned"), from the tuning sweeps.
using TunedColumns = std::map<std::string, std::vector<BenchMethod>>;

/// A scenario's columns: the plan's methods, then their tuned columns.
std::vector<BenchMethod> scenario_columns(const BenchPlan& plan, const TunedColumns& tuned,
                                          const std::string& scenario) {
  std::vector<BenchMethod> columns = plan.methods;
  if (const auto it = tuned.find(scenario); it != tuned.end()) {
    columns.insert(columns.end(), it->second.begin(), it->second.end());
  }
  return columns;
}

/// The NeurIPS 2023 challenge score of every method with at least 3 finished seeds, against
/// the gold retrains of the same seeds (N = that number of seeds).
void add_forgetting_quality(nlohmann::json& aggregate, const BenchPlan& plan,
                            const TunedColumns& tuned, const DataBundle& bundle,
                            const fs::path& out, Observer& observer) {
  aggregate["forgetting_quality"] = nlohmann::json::object();
  for (const auto& scenario : plan.scenarios) {
    // outliers() ranks samples with each seed's original: the seeds forget different rows, and
    // the challenge's score compares models on one forget set.
    const Selection selection = Selection::parse(scenario.forget);
    if (selection.uses_outliers()) continue;
    const Split split = make_split(selection, bundle, SplitOptions());
    for (const auto& m : scenario_columns(plan, tuned, scenario.name)) {
      std::vector<std::string> unlearned, retrained;
      std::vector<nlohmann::json> u_values, r_values;
      for (const auto& cell : aggregate["cells"]) {
        if (cell["scenario"] != scenario.name || cell["label"] != m.label ||
            cell["status"] != "ok") {
          continue;
        }
        const std::string tag = seed_tag(cell["seed"].get<uint64_t>());
        const fs::path gold = out / "models" / ("retrain-" + scenario.name + "-" + tag + ".pt");
        if (!fs::exists(gold)) continue;
        unlearned.push_back((out / "cells" / scenario.name / m.label / tag / "model.pt").string());
        retrained.push_back(gold.string());
        u_values.push_back(cell["values"]);
        for (const auto& r : aggregate["references"]) {
          if (r["scenario"] == scenario.name && r["role"] == "retrain" && r["seed"] == cell["seed"])
            r_values.push_back(r["values"]);
        }
      }
      if (unlearned.size() < 3 || r_values.size() != unlearned.size()) continue;
      observer.message("bench: forgetting quality of " + scenario.name + "/" + m.label);
      const auto q = forgetting_quality(forget_scores(unlearned, bundle, split.train.forget),
                                        forget_scores(retrained, bundle, split.train.forget),
                                        mean_value(u_values, "RA"), mean_value(r_values, "RA"),
                                        mean_value(u_values, "TA"), mean_value(r_values, "TA"));
      aggregate["forgetting_quality"][scenario.name][m.label] = {
          {"F", q.f}, {"score", q.score}, {"n", q.n}};
    }
  }
}

}  // namespace

const std::vector<uint64_t>& BenchPlan::seeds_of(const BenchScenario& scenario) const {
  return scenario.seeds.empty() ? seeds : scenario.seeds;
}

std::vector<uint64_t> BenchPlan::all_seeds() const {
  std::vector<uint64_t> all;
  for (const auto& scenario : scenarios) {
    for (uint64_t seed : seeds_of(scenario)) {
      if (std::find(all.begin(), all.end(), seed) == all.end()) all.push_back(seed);
    }
  }
  return all;
}

bool BenchPlan::budgets_on(uint64_t seed) const {
  return budget_seeds.empty() ||
         std::find(budget_seeds.begin(), budget_seeds.end(), seed) != budget_seeds.end();
}

std::string BenchBudget::tag() const {
  std::string t = text;
  std::replace(t.begin(), t.end(), '/', '-');
  return t;
}

BenchPlan read_bench_plan(const std::string& path) {
  const YAML::Node root = load_plan(path, "bench");
  check_keys(path, root, "bench file",
             {"data", "model", "recipe", "seeds", "scenarios", "methods", "audit", "budgets",
              "budget_seeds", "tune"});
  BenchPlan plan;
  if (const auto& tune = root["tune"]) {
    check_keys(path, tune, "tune", {"trials", "validation", "seed"});
    if (!tune["trials"]) plan_error(path, tune, "tune: 'trials' is required");
    plan.tune.trials = number<int64_t>(path, tune["trials"], "tune.trials");
    if (plan.tune.trials < 1) plan_error(path, tune["trials"], "tune.trials: expected >= 1");
    if (tune["validation"]) {
      plan.tune.validation = number<double>(path, tune["validation"], "tune.validation");
      if (!(plan.tune.validation > 0 && plan.tune.validation < 0.5)) {
        plan_error(path, tune["validation"], "tune.validation: expected a share in (0, 0.5)");
      }
    }
    if (tune["seed"]) plan.tune.seed = number<uint64_t>(path, tune["seed"], "tune.seed");
  }
  if (const auto& budgets = root["budgets"]) {
    if (!budgets.IsSequence()) plan_error(path, budgets, "budgets: expected a list");
    std::set<std::string> seen;
    for (const auto& b : budgets) {
      plan.budgets.push_back(read_budget(path, b));
      check_name(path, b, plan.budgets.back().tag(), "budget");
      if (!seen.insert(plan.budgets.back().tag()).second) {
        plan_error(path, b, "budget '" + plan.budgets.back().text + "' appears twice");
      }
    }
  }
  if (root["data"]) plan.data = scalar(path, root["data"], "data");
  if (root["audit"]) plan.audit = boolean(path, root["audit"], "audit");
  plan.model.data = plan.data;
  if (root["model"]) read_model_section(path, root["model"], plan.model);
  if (root["recipe"]) read_recipe_section(path, root["recipe"], plan.model.recipe);
  if (root["seeds"]) plan.seeds = read_seeds(path, root["seeds"], "seeds");
  if (root["budget_seeds"]) {
    plan.budget_seeds = read_seeds(path, root["budget_seeds"], "budget_seeds");
  }
  const auto& scenarios = root["scenarios"];
  if (!scenarios || !scenarios.IsSequence() || scenarios.size() == 0) {
    plan_error(path, scenarios ? scenarios : root, "scenarios: expected a non-empty list");
  }
  std::set<std::string> names;
  for (const auto& s : scenarios) {
    check_keys(path, s, "scenarios[]", {"name", "forget", "seeds"});
    if (!s["name"] || !s["forget"]) plan_error(path, s, "scenarios[]: 'name' and 'forget' needed");
    BenchScenario scenario{scalar(path, s["name"], "name"), scalar(path, s["forget"], "forget"),
                           s["forget"].Mark().line + 1};
    if (s["seeds"]) scenario.seeds = read_seeds(path, s["seeds"], "scenarios[].seeds");
    check_name(path, s["name"], scenario.name, "scenario name");
    if (!names.insert(scenario.name).second) {
      plan_error(path, s["name"], "scenario '" + scenario.name + "' appears twice");
    }
    try {
      Selection::parse(scenario.forget);
    } catch (const Error& e) {  // names the plan file and line
      plan_error(path, s["forget"], detail::concat("scenario '", scenario.name, "': ", e.what()));
    }
    plan.scenarios.push_back(scenario);
  }
  const auto& methods = root["methods"];
  if (!methods || !methods.IsSequence() || methods.size() == 0) {
    plan_error(path, methods ? methods : root, "methods: expected a non-empty list");
  }
  std::set<std::string> labels;
  for (const auto& m : methods) {
    BenchMethod method = read_method(path, m, plan.tune.trials > 0);
    if (!labels.insert(method.label).second) {
      plan_error(path, m,
                 "method label '" + method.label + "' appears twice; give one of them a 'label'");
    }
    if (!method.space.empty() && !labels.insert(tuned_label(method.label)).second) {
      plan_error(path, m,
                 "method label '" + tuned_label(method.label) +
                     "' is taken: the tuned column of '" + method.label + "' needs it");
    }
    plan.methods.push_back(method);
  }
  return plan;
}

namespace {

std::string retrain_stem(const std::string& scenario, uint64_t seed) {
  return "retrain-" + scenario + "-" + seed_tag(seed);
}

/// Where a bench keeps its models, and the folder of each cell.
struct BenchFiles {
  fs::path out;
  std::string original(uint64_t seed) const {
    return (out / "models" / ("original-" + seed_tag(seed) + ".pt")).string();
  }
  std::string retrain(const std::string& scenario, uint64_t seed) const {
    return (out / "models" / (retrain_stem(scenario, seed) + ".pt")).string();
  }
  /// The retrain's result JSON: its metrics and those of the original beside it.
  std::string retrain_result(const std::string& scenario, uint64_t seed) const {
    return (out / "models" / (retrain_stem(scenario, seed) + ".json")).string();
  }
  fs::path cell(const std::string& scenario, const std::string& label, uint64_t seed) const {
    return out / "cells" / scenario / label / seed_tag(seed);
  }
};

/// Unknown columns and empty selections show only against the data.
void check_scenarios(const BenchPlan& plan, const DataBundle& bundle, const std::string& path) {
  for (const auto& scenario : plan.scenarios) {
    try {
      // outliers() needs the original model; it is checked when the retrain is made.
      const Selection selection = Selection::parse(scenario.forget);
      if (!selection.uses_outliers()) make_split(selection, bundle, SplitOptions());
    } catch (const Error& e) {  // names the plan file and line
      throw UsageError(
          detail::concat(path, ":", scenario.line, ": scenario '", scenario.name, "': ", e.what()));
    }
  }
}

/// The originals and gold-standard retrains that are missing (rank 0 alone in a distributed
/// bench); returns every reference model's path relative to the folder.
std::vector<std::string> make_references(const BenchPlan& plan, const DataBundle& bundle,
                                         const PlanFolder& folder, const BenchFiles& files,
                                         const RunContext& context, Observer& observer) {
  std::vector<std::string> references;
  for (uint64_t seed : plan.all_seeds()) {
    const RunContext ctx = RunContext(context).seed(seed);
    const std::string original = files.original(seed);
    references.push_back("models/original-" + seed_tag(seed) + ".pt");
    if (folder.writes() && !fs::exists(original)) {
      observer.message("bench: training the original, seed " + std::to_string(seed));
      TrainJob train = plan.model;
      train.recipe.seed(seed);
      ensure_original(train, bundle, original, ctx);
    }
    for (const auto& scenario : plan.scenarios) {
      const auto& seeds = plan.seeds_of(scenario);
      if (std::find(seeds.begin(), seeds.end(), seed) == seeds.end()) continue;
      const std::string retrain = files.retrain(scenario.name, seed);
      references.push_back("models/" + retrain_stem(scenario.name, seed) + ".pt");
      // Its result too: the training time that the time budgets are shares of.
      references.push_back("models/" + retrain_stem(scenario.name, seed) + ".json");
      if (folder.writes() && !fs::exists(retrain)) {
        observer.message("bench: the gold-standard retrain of " + scenario.name + ", seed " +
                         std::to_string(seed));
        ensure_retrain(original, plan.data, scenario.forget, bundle, retrain,
                       files.retrain_result(scenario.name, seed), ctx);
      }
    }
  }
  return references;
}

/// The retrain's training time in seconds, as its result records it. Throws Error when it
/// records none: a retrain made before the time was kept (a cache hit now always has it).
double retrain_seconds(const BenchFiles& files, const std::string& scenario, uint64_t seed) {
  const std::string path = files.retrain_result(scenario, seed);
  const auto gold = read_json_or_null(path);
  const auto summary = gold.is_null() ? nlohmann::json::object()
                                      : gold["method"].value("summary", nlohmann::json::object());
  if (!summary.contains("train_time_s") || !summary["train_time_s"].is_number()) {
    throw Error(detail::concat("bench: budgets are shares of the retrain's training time, and ",
                               path,
                               " records none (method.summary.train_time_s; a retrain made "
                               "before it was recorded). Delete it and its .pt to retrain"));
  }
  return summary["train_time_s"].get<double>();
}

/// The tuning of every method with a space, per scenario: a random search of plan.tune.trials
/// settings in DIR/tune/<scenario>/<label>/ (a sweep on a validation split; the validation
/// original and each scenario's retrain are shared in DIR/tune/models/), and the lowest
/// validation Avg-gap as the tuned column. `record` gets each choice, or why there is none.
TunedColumns tune_methods(const BenchPlan& plan, const fs::path& out, Deadline stop_by,
                          const RunContext& context, Observer& observer, nlohmann::json& record) {
  TunedColumns tuned;
  record = nlohmann::json::object();
  if (plan.tune.trials == 0) return tuned;
  for (const auto& scenario : plan.scenarios) {
    for (const auto& m : plan.methods) {
      if (m.space.empty()) continue;
      observer.message(detail::concat("bench: tuning ", m.label, " on ", scenario.name, " (",
                                      plan.tune.trials, " settings on the validation split)"));
      SweepPlan sweep;
      sweep.data = plan.data;
      sweep.model = plan.model;
      sweep.seed = plan.tune.seed;
      sweep.forget = scenario.forget;
      sweep.validation = plan.tune.validation;
      sweep.method = m.method;
      sweep.fixed = m.options;
      sweep.search = "random";
      sweep.trials = plan.tune.trials;
      sweep.space = m.space;
      sweep.audit = false;  // chosen on Avg-gap; the audits judge the chosen setting
      SweepJob job;
      job.out = (out / "tune" / scenario.name / m.label).string();
      job.html = false;
      job.original = (out / "tune" / "models" / "original.pt").string();
      job.retrain = (out / "tune" / "models" / ("retrain-" + scenario.name + ".pt")).string();
      job.stop_by = stop_by;
      const nlohmann::json summary = run_sweep(sweep, job, context, observer);
      const auto chosen = summary["chosen"]["match-retrain"];
      int64_t failed = 0;  // over every run of the search, not only this one
      for (const auto& trial : summary["trials"]) failed += trial.value("status", "") != "ok";
      nlohmann::json entry = {{"trials", plan.tune.trials}, {"failed", failed}};
      if (summary.value("left", 0) > 0) {
        // A choice among some of the settings is not the equal tuning the plan asks for.
        entry["error"] = detail::concat("tuning not finished (", summary["left"].get<int64_t>(),
                                        " settings left by --stop-after)");
      } else if (chosen.is_null()) {
        entry["error"] = "no setting finished";
      } else {
        entry["chosen"] = chosen;
        tuned[scenario.name].push_back(
            {tuned_label(m.label), m.method, chosen["options"].get<OptionValues>(), {}});
      }
      record[scenario.name][m.label] = entry;
    }
  }
  return tuned;
}

/// The columns that run at each budget: every method's tuned column where it has one, else the
/// method itself; never the retrain, the reference the budgets are shares of.
std::vector<BenchMethod> budget_columns(const BenchPlan& plan, const TunedColumns& tuned,
                                        const std::string& scenario) {
  std::set<std::string> tuned_labels;
  if (const auto it = tuned.find(scenario); it != tuned.end()) {
    for (const auto& t : it->second) tuned_labels.insert(t.label);
  }
  std::vector<BenchMethod> columns;
  for (const auto& m : scenario_columns(plan, tuned, scenario)) {
    if (m.method != "retrain" && !tuned_labels.count(tuned_label(m.label))) columns.push_back(m);
  }
  return columns;
}

/// Every cell (seed x scenario x column, then x budget) not yet finished, shared out in a
/// distributed bench.
CellTally run_bench_cells(const BenchPlan& plan, const TunedColumns& tuned,
                          const DataBundle& bundle, const BenchFiles& files, dist::GlooGroup* group,
                          Deadline stop_by, const RunContext& context, Observer& observer) {
  struct Cell {
    uint64_t seed;
    const BenchScenario* scenario;
    const BenchMethod* method;
    const BenchBudget* budget;  // null: the method's own plan of steps
    double budget_s;
    std::string label() const {
      return budget ? budget_label(method->label, *budget) : method->label;
    }
    std::string note() const { return scenario->name + "/" + label() + "/" + seed_tag(seed); }
  };
  // The columns outlive the cells that point into them.
  std::map<std::string, std::vector<BenchMethod>> columns, at_budgets;
  for (const auto& scenario : plan.scenarios) {
    columns[scenario.name] = scenario_columns(plan, tuned, scenario.name);
    at_budgets[scenario.name] = budget_columns(plan, tuned, scenario.name);
  }
  std::vector<Cell> cells;
  for (const auto& scenario : plan.scenarios) {
    for (uint64_t seed : plan.seeds_of(scenario)) {
      for (const auto& m : columns[scenario.name]) {
        cells.push_back({seed, &scenario, &m, nullptr, 0});
      }
    }
  }
  for (const auto& budget : plan.budgets) {
    for (const auto& scenario : plan.scenarios) {
      for (uint64_t seed : plan.seeds_of(scenario)) {
        if (!plan.budgets_on(seed)) continue;
        const double seconds = budget.share * retrain_seconds(files, scenario.name, seed);
        for (const auto& m : at_budgets[scenario.name]) {
          cells.push_back({seed, &scenario, &m, &budget, seconds});
        }
      }
    }
  }
  CellList work;
  work.name = "bench";
  work.count = cells.size();
  work.job = [&](size_t i) {
    const Cell& c = cells[i];
    ForgetJob job =
        cell_job(files.original(c.seed), plan.data, c.scenario->forget, c.method->method,
                 c.method->options, files.retrain(c.scenario->name, c.seed), plan.audit);
    job.time_budget_s = c.budget_s;
    return job;
  };
  work.folder = [&](size_t i) {
    return files.cell(cells[i].scenario->name, cells[i].label(), cells[i].seed);
  };
  work.label = [&](size_t i) { return cells[i].note(); };
  work.context = [&](size_t i) { return RunContext(context).seed(cells[i].seed); };
  work.stop_by = stop_by;
  return run_cells(work, bundle, group, files.out, observer);
}

/// The original's and the retrain's depth audits in one scenario and seed, from the first
/// finished cell that has them (every cell audits the same two cached models); null if none.
nlohmann::json reference_audits(const BenchPlan& plan, const std::string& scenario, uint64_t seed,
                                const BenchFiles& files) {
  for (const auto& m : plan.methods) {
    const auto result =
        read_json_or_null((files.cell(scenario, m.label, seed) / "result.json").string());
    if (!result.is_null() && result["models"]["original"].contains("audits") &&
        result["models"]["retrain"].contains("audits")) {
      return {{"original", result["models"]["original"]}, {"retrain", result["models"]["retrain"]}};
    }
  }
  return nullptr;
}

/// The original's and the retrain's rows of one scenario and seed, from the retrain's result
/// (and their depth audits from a cell's).
void add_reference_rows(nlohmann::json& aggregate, const BenchPlan& plan,
                        const std::string& scenario, uint64_t seed, const BenchFiles& files) {
  const auto gold = read_json_or_null(files.retrain_result(scenario, seed));
  if (gold.is_null()) return;
  // The original's gap to this retrain; the retrain's own gap is 0 by definition.
  nlohmann::json pair = {
      {"models",
       {{"original", gold["models"]["original"]}, {"retrain", gold["models"]["unlearned"]}}}};
  add_avg_gaps(pair);
  nlohmann::json original_values = row_values(pair, "original");
  nlohmann::json retrain_values = row_values(pair, "retrain");
  retrain_values["avg_gap"] = 0.0;
  if (const auto audits = reference_audits(plan, scenario, seed, files); !audits.is_null()) {
    add_audit_values(original_values, audits["original"]);
    add_audit_values(retrain_values, audits["retrain"]);
    retrain_values["depth_gap"] = 0.0;
  }
  // Training time as measured when the retrain was trained (absent for a cache hit).
  const auto& summary = gold["method"].value("summary", nlohmann::json::object());
  if (summary.contains("train_time_s")) retrain_values["time_s"] = summary["train_time_s"];
  for (const auto& [role, values] :
       {std::pair<const char*, const nlohmann::json*>{"original", &original_values},
        {"retrain", &retrain_values}}) {
    aggregate["references"].push_back(
        {{"scenario", scenario}, {"role", role}, {"seed", seed}, {"values", *values}});
  }
}

/// A cell's row: its values when it finished, its error when it failed, else "missing". A cell
/// at a budget (`budget` not null) names it, and its values say whether it kept to it.
nlohmann::json cell_row(const std::string& scenario, const BenchMethod& m, uint64_t seed,
                        const BenchFiles& files, const BenchBudget* budget = nullptr) {
  const std::string label = budget ? budget_label(m.label, *budget) : m.label;
  const fs::path dir = files.cell(scenario, label, seed);
  nlohmann::json cell = {
      {"scenario", scenario}, {"label", label}, {"method", m.method}, {"seed", seed}};
  if (budget) {
    cell["budget"] = budget->text;
    cell["method_label"] = m.label;
  }
  const auto result = read_json_or_null((dir / "result.json").string());
  if (!result.is_null()) {
    cell["status"] = "ok";
    cell["values"] = row_values(result, "unlearned");
    cell["values"]["time_s"] = result["time_s"].value("unlearn", 0.0);
    if (result.contains("time_budget")) {
      const auto& b = result["time_budget"];
      cell["values"]["budget_s"] = b["seconds"];
      cell["values"]["within_budget"] = b.value("within", false) ? 1 : 0;
      if (b.contains("steps")) cell["values"]["steps"] = b["steps"];
      if (b.contains("planned_steps")) cell["values"]["planned_steps"] = b["planned_steps"];
    }
    cell["options"] = result["method"]["options"];
    cell["data"] = result["data"];
  } else if (const std::string error = cell_error(dir); !error.empty()) {
    cell["status"] = "failed";
    cell["error"] = error;
  } else {
    cell["status"] = "missing";
  }
  return cell;
}

/// results.csv: one row per cell and reference, metric columns in a fixed order then the rest.
std::string results_csv(const nlohmann::json& aggregate) {
  std::vector<std::string> columns = {"UA",        "RA",           "TA",          "FTA",
                                      "RTA",       "MIA_efficacy", "MIA_entropy", "avg_gap",
                                      "depth_gap", "time_s"};
  std::set<std::string> extra;
  for (const auto* list : {&aggregate["cells"], &aggregate["references"]}) {
    for (const auto& c : *list) {
      const nlohmann::json values = c.value("values", nlohmann::json::object());
      for (const auto& [k, v] : values.items()) {
        if (std::find(columns.begin(), columns.end(), k) == columns.end()) extra.insert(k);
      }
    }
  }
  columns.insert(columns.end(), extra.begin(), extra.end());
  std::ostringstream csv;
  csv << "scenario,method,seed,status";
  for (const auto& c : columns) csv << "," << c;
  csv << "\n";
  auto write_row = [&](const std::string& scenario, const std::string& label, uint64_t seed,
                       const std::string& status, const nlohmann::json& values) {
    csv << scenario << "," << label << "," << seed << "," << status;
    for (const auto& c : columns) {
      csv << ",";
      if (values.contains(c) && values[c].is_number()) csv << values[c].get<double>();
    }
    csv << "\n";
  };
  for (const auto& r : aggregate["references"]) {
    write_row(r["scenario"], "(" + r["role"].get<std::string>() + ")", r["seed"], "ok",
              r["values"]);
  }
  for (const auto& c : aggregate["cells"]) {
    write_row(c["scenario"], c["label"], c["seed"], c["status"],
              c.value("values", nlohmann::json::object()));
  }
  return csv.str();
}

void write_results(const nlohmann::json& aggregate, const fs::path& out, bool html) {
  write_text_atomically((out / "results.csv").string(), results_csv(aggregate), true, "--out");
  write_text_atomically((out / "results.json").string(), json_text(aggregate, 2) + "\n", true,
                        "--out");
  write_text_atomically((out / "results.md").string(), bench_markdown(aggregate), true, "--out");
  const bool any_cell = std::any_of(aggregate["cells"].begin(), aggregate["cells"].end(),
                                    [](const auto& c) { return c.value("status", "") == "ok"; });
  if (html && any_cell) {
    write_html_report((out / "report.html").string(), load_report_sources({out.string()}), true,
                      "--out");
  }
}

}  // namespace

nlohmann::json run_bench_job(const BenchJob& job, const RunContext& context, Observer& observer) {
  const auto start = std::chrono::steady_clock::now();
  const BenchPlan plan = read_bench_plan(job.plan);  // every check before any work
  UNLEARN_CHECK_AS(UsageError, !job.group || plan.tune.trials == 0, job.plan,
                   ": tune: the tuning sweeps run in one process; run the bench once without "
                   "launch (or with -n 1), then resume it with launch");
  const PlanFolder folder(job);
  const BenchFiles files{folder.path()};
  const DataBundle bundle = load_data(plan.data);
  check_scenarios(plan, bundle, job.plan);
  observer.message(detail::concat("bench: ", plan.scenarios.size(), " scenarios x ",
                                  plan.methods.size(), " methods x ", plan.seeds.size(),
                                  " seeds -> ", files.out.string()));
  const auto references = make_references(plan, bundle, folder, files, context, observer);
  if (job.group) dist::share_files(*job.group, "bench-models", files.out, references);
  nlohmann::json tuning;
  const TunedColumns tuned = tune_methods(plan, files.out, job.stop_by, context, observer, tuning);
  const CellTally tally =
      run_bench_cells(plan, tuned, bundle, files, job.group, job.stop_by, context, observer);
  if (!folder.writes()) return nlohmann::json::object();  // rank 0 writes the aggregate

  // Aggregate everything on disk, including cells finished by earlier runs.
  nlohmann::json aggregate;
  aggregate["plan_file"] = job.plan;
  aggregate["data"] = plan.data;
  aggregate["seeds"] = plan.all_seeds();
  aggregate["env"] = env_entry(configure_threads(context.threads()), context.seed(),
                               context.device().str(), precision_name(context.precision()));
  aggregate["cells"] = nlohmann::json::array();
  aggregate["references"] = nlohmann::json::array();
  for (const auto& scenario : plan.scenarios) {
    for (uint64_t seed : plan.seeds_of(scenario)) {
      add_reference_rows(aggregate, plan, scenario.name, seed, files);
    }
    for (const auto& m : scenario_columns(plan, tuned, scenario.name)) {
      for (uint64_t seed : plan.seeds_of(scenario)) {
        aggregate["cells"].push_back(cell_row(scenario.name, m, seed, files));
      }
    }
    for (const auto& budget : plan.budgets) {
      for (const auto& m : budget_columns(plan, tuned, scenario.name)) {
        for (uint64_t seed : plan.seeds_of(scenario)) {
          if (!plan.budgets_on(seed)) continue;
          aggregate["cells"].push_back(cell_row(scenario.name, m, seed, files, &budget));
        }
      }
    }
  }
  if (plan.tune.trials > 0) aggregate["tuning"] = tuning;
  if (!plan.budgets.empty()) {
    aggregate["budgets"] = nlohmann::json::array();
    for (const auto& b : plan.budgets) aggregate["budgets"].push_back(b.text);
  }
  add_forgetting_quality(aggregate, plan, tuned, bundle, files.out, observer);
  aggregate["time_front"] = nlohmann::json::object();
  for (const auto& scenario : plan.scenarios) {
    aggregate["time_front"][scenario.name] = time_avg_gap_front(aggregate, scenario.name);
  }
  aggregate["ran"] = tally.ran;
  aggregate["failed"] = tally.failed;
  aggregate["left"] = tally.left;
  // Wall time: this run's, and that of every run that made these results (a resumed bench adds
  // to the total it found).
  const auto before = read_json_or_null((files.out / "results.json").string());
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  aggregate["wall_s"] = wall;
  aggregate["wall_s_total"] = wall + (before.is_object() ? before.value("wall_s_total", 0.0) : 0.0);
  write_results(aggregate, files.out, job.html);
  return aggregate;
}

}  // namespace unlearn
