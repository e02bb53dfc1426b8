#include "unlearn/jobs/bench.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
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

BenchMethod read_method(const std::string& path, const YAML::Node& node) {
  BenchMethod m;
  if (node.IsScalar()) {
    m.method = node.as<std::string>();
  } else {
    check_keys(path, node, "methods[]", {"method", "label", "options"});
    if (!node["method"]) plan_error(path, node, "methods[]: 'method' is required");
    m.method = scalar(path, node["method"], "method");
    if (node["label"]) m.label = scalar(path, node["label"], "label");
    m.options = read_options(path, node["options"]);
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

/// The NeurIPS 2023 challenge score of every method with at least 3 finished seeds, against
/// the gold retrains of the same seeds (N = that number of seeds).
void add_forgetting_quality(nlohmann::json& aggregate, const BenchPlan& plan,
                            const DataBundle& bundle, const fs::path& out, Observer& observer) {
  aggregate["forgetting_quality"] = nlohmann::json::object();
  for (const auto& scenario : plan.scenarios) {
    const Split split = make_split(Selection::parse(scenario.forget), bundle, SplitOptions());
    for (const auto& m : plan.methods) {
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

BenchPlan read_bench_plan(const std::string& path) {
  const YAML::Node root = load_plan(path, "bench");
  check_keys(path, root, "bench file",
             {"data", "model", "recipe", "seeds", "scenarios", "methods", "audit"});
  BenchPlan plan;
  if (root["data"]) plan.data = scalar(path, root["data"], "data");
  if (root["audit"]) plan.audit = boolean(path, root["audit"], "audit");
  plan.model.data = plan.data;
  if (root["model"]) read_model_section(path, root["model"], plan.model);
  if (root["recipe"]) read_recipe_section(path, root["recipe"], plan.model.recipe);
  if (const auto& seeds = root["seeds"]) {
    if (!seeds.IsSequence() || seeds.size() == 0) {
      plan_error(path, seeds, "seeds: expected a non-empty list");
    }
    plan.seeds.clear();
    for (const auto& s : seeds) plan.seeds.push_back(number<uint64_t>(path, s, "seeds[]"));
  }
  const auto& scenarios = root["scenarios"];
  if (!scenarios || !scenarios.IsSequence() || scenarios.size() == 0) {
    plan_error(path, scenarios ? scenarios : root, "scenarios: expected a non-empty list");
  }
  std::set<std::string> names;
  for (const auto& s : scenarios) {
    check_keys(path, s, "scenarios[]", {"name", "forget"});
    if (!s["name"] || !s["forget"]) plan_error(path, s, "scenarios[]: 'name' and 'forget' needed");
    BenchScenario scenario{scalar(path, s["name"], "name"), scalar(path, s["forget"], "forget"),
                           s["forget"].Mark().line + 1};
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
    BenchMethod method = read_method(path, m);
    if (!labels.insert(method.label).second) {
      plan_error(path, m,
                 "method label '" + method.label + "' appears twice; give one of them a 'label'");
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
      make_split(Selection::parse(scenario.forget), bundle, SplitOptions());
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
  for (uint64_t seed : plan.seeds) {
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
      const std::string retrain = files.retrain(scenario.name, seed);
      references.push_back("models/" + retrain_stem(scenario.name, seed) + ".pt");
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

/// Every cell (seed x scenario x method) not yet finished, shared out in a distributed bench.
CellTally run_bench_cells(const BenchPlan& plan, const DataBundle& bundle, const BenchFiles& files,
                          dist::GlooGroup* group, const RunContext& context, Observer& observer) {
  struct Cell {
    uint64_t seed;
    const BenchScenario* scenario;
    const BenchMethod* method;
    std::string note() const { return scenario->name + "/" + method->label + "/" + seed_tag(seed); }
  };
  std::vector<Cell> cells;
  for (uint64_t seed : plan.seeds) {
    for (const auto& scenario : plan.scenarios) {
      for (const auto& m : plan.methods) cells.push_back({seed, &scenario, &m});
    }
  }
  CellList work;
  work.name = "bench";
  work.count = cells.size();
  work.job = [&](size_t i) {
    const Cell& c = cells[i];
    return cell_job(files.original(c.seed), plan.data, c.scenario->forget, c.method->method,
                    c.method->options, files.retrain(c.scenario->name, c.seed), plan.audit);
  };
  work.folder = [&](size_t i) {
    return files.cell(cells[i].scenario->name, cells[i].method->label, cells[i].seed);
  };
  work.label = [&](size_t i) { return cells[i].note(); };
  work.context = [&](size_t i) { return RunContext(context).seed(cells[i].seed); };
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

/// A cell's row: its values when it finished, its error when it failed, else "missing".
nlohmann::json cell_row(const std::string& scenario, const BenchMethod& m, uint64_t seed,
                        const BenchFiles& files) {
  const fs::path dir = files.cell(scenario, m.label, seed);
  nlohmann::json cell = {
      {"scenario", scenario}, {"label", m.label}, {"method", m.method}, {"seed", seed}};
  const auto result = read_json_or_null((dir / "result.json").string());
  if (!result.is_null()) {
    cell["status"] = "ok";
    cell["values"] = row_values(result, "unlearned");
    cell["values"]["time_s"] = result["time_s"].value("unlearn", 0.0);
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
  const BenchPlan plan = read_bench_plan(job.plan);  // every check before any work
  const PlanFolder folder(job);
  const BenchFiles files{folder.path()};
  const DataBundle bundle = load_data(plan.data);
  check_scenarios(plan, bundle, job.plan);
  observer.message(detail::concat("bench: ", plan.scenarios.size(), " scenarios x ",
                                  plan.methods.size(), " methods x ", plan.seeds.size(),
                                  " seeds -> ", files.out.string()));
  const auto references = make_references(plan, bundle, folder, files, context, observer);
  if (job.group) dist::share_files(*job.group, "bench-models", files.out, references);
  const CellTally tally = run_bench_cells(plan, bundle, files, job.group, context, observer);
  if (!folder.writes()) return nlohmann::json::object();  // rank 0 writes the aggregate

  // Aggregate everything on disk, including cells finished by earlier runs.
  nlohmann::json aggregate;
  aggregate["plan_file"] = job.plan;
  aggregate["data"] = plan.data;
  aggregate["seeds"] = plan.seeds;
  aggregate["env"] = env_entry(configure_threads(context.threads()), context.seed(),
                               context.device().str(), precision_name(context.precision()));
  aggregate["cells"] = nlohmann::json::array();
  aggregate["references"] = nlohmann::json::array();
  for (const auto& scenario : plan.scenarios) {
    for (uint64_t seed : plan.seeds) {
      add_reference_rows(aggregate, plan, scenario.name, seed, files);
    }
    for (const auto& m : plan.methods) {
      for (uint64_t seed : plan.seeds) {
        aggregate["cells"].push_back(cell_row(scenario.name, m, seed, files));
      }
    }
  }
  add_forgetting_quality(aggregate, plan, bundle, files.out, observer);
  aggregate["ran"] = tally.ran;
  aggregate["failed"] = tally.failed;
  write_results(aggregate, files.out, job.html);
  return aggregate;
}

namespace {

struct Stats {
  double mean = NAN, std = NAN;
  int n = 0;
};

Stats stats_of(const std::vector<double>& xs) {
  Stats s;
  s.n = static_cast<int>(xs.size());
  if (xs.empty()) return s;
  double sum = 0;
  for (double x : xs) sum += x;
  s.mean = sum / xs.size();
  if (xs.size() > 1) {
    double ss = 0;
    for (double x : xs) ss += (x - s.mean) * (x - s.mean);
    s.std = std::sqrt(ss / (xs.size() - 1));  // sample standard deviation over seeds
  }
  return s;
}

std::string format_stats(const Stats& s, int decimals) {
  if (s.n == 0 || std::isnan(s.mean)) return "-";
  char buf[64];
  if (s.n > 1) {
    std::snprintf(buf, sizeof buf, "%.*f ± %.*f", decimals, s.mean, decimals, s.std);
  } else {
    std::snprintf(buf, sizeof buf, "%.*f", decimals, s.mean);
  }
  return buf;
}

const std::vector<std::string>& table_metrics() {
  static const std::vector<std::string> metrics = {
      "UA", "RA", "TA", "FTA", "RTA", "MIA_efficacy", "avg_gap", "depth_gap", "time_s"};
  return metrics;
}

/// The depth audits' columns, in the order of docs/metrics.md, and their headers.
const std::vector<std::pair<std::string, std::string>>& audit_columns() {
  static const std::vector<std::pair<std::string, std::string>> columns = {
      {"recalibration", "recalibrated"},
      {"retain_relearn", "after D_r fine-tuning"},
      {"few_shot_10", "after 10-shot"},
      {"few_shot_100", "after 100-shot"},
      {"probe", "linear probe"}};
  return columns;
}

/// One scenario's rows: each row's values per metric over the seeds, in first-seen order.
struct ScenarioRows {
  std::vector<std::string> order;
  std::map<std::string, std::map<std::string, std::vector<double>>> values;
  std::map<std::string, int> failures;

  void add(const std::string& label, const nlohmann::json& v) {
    if (std::find(order.begin(), order.end(), label) == order.end()) order.push_back(label);
    for (const auto& [m, x] : v.items()) {
      if (x.is_number()) values[label][m].push_back(x.get<double>());
    }
  }
  double mean_of(const std::string& label, const std::string& m) const {
    const auto row = values.find(label);
    if (row == values.end()) return NAN;
    const auto it = row->second.find(m);
    return it == row->second.end() ? NAN : stats_of(it->second).mean;
  }
  std::string cell(const std::string& label, const std::string& m) const {
    const auto row = values.find(label);
    if (row == values.end() || !row->second.count(m)) return "-";
    return format_stats(stats_of(row->second.at(m)), m.find("time_s") != std::string::npos ? 1 : 2);
  }
  bool has_test_part() const {
    for (const auto& [label, v] : values) {
      if (v.count("FTA")) return true;
    }
    return false;
  }
};

ScenarioRows collect_rows(const nlohmann::json& aggregate, const std::string& scenario) {
  ScenarioRows rows;
  for (const auto& r : aggregate["references"]) {
    if (r["scenario"] == scenario) rows.add("(" + r["role"].get<std::string>() + ")", r["values"]);
  }
  for (const auto& c : aggregate["cells"]) {
    if (c["scenario"] != scenario) continue;
    if (c["status"] == "ok") {
      rows.add(c["label"], c["values"]);
    } else {
      rows.add(c["label"], nlohmann::json::object());
      ++rows.failures[c["label"]];
    }
  }
  return rows;
}

/// The references ("(original)", "(retrain)") first, then the methods by their mean `metric`,
/// lowest first (rows without one last).
std::vector<std::string> ranked_rows(const ScenarioRows& rows, const std::string& metric) {
  std::vector<std::string> ordered, ranked;
  for (const auto& label : rows.order) (label.front() == '(' ? ordered : ranked).push_back(label);
  std::stable_sort(ranked.begin(), ranked.end(), [&](const std::string& a, const std::string& b) {
    const double x = rows.mean_of(a, metric), y = rows.mean_of(b, metric);
    if (std::isnan(x) != std::isnan(y)) return std::isnan(y);
    return !std::isnan(x) && x < y;
  });
  ordered.insert(ordered.end(), ranked.begin(), ranked.end());
  return ordered;
}

/// The references first, then the methods ranked by mean Avg-gap (rows without one last).
void match_retrain_table(std::ostringstream& md, const ScenarioRows& rows) {
  const std::vector<std::string> ordered = ranked_rows(rows, "avg_gap");
  md << "Goal match-retrain: ranked by Avg-gap to the retrained model (lower is better).\n\n";
  md << "| rank | method |";
  for (const auto& m : table_metrics()) md << " " << (m == "time_s" ? "time (s)" : m) << " |";
  md << "\n|---|---|";
  for (size_t i = 0; i < table_metrics().size(); ++i) md << "---|";
  md << "\n";
  int rank = 0;
  for (const auto& label : ordered) {
    const bool reference = label.front() == '(';
    md << "| " << (reference ? "" : std::to_string(++rank)) << " | " << label;
    if (rows.failures.count(label)) md << " (" << rows.failures.at(label) << " failed)";
    md << " |";
    for (const auto& m : table_metrics()) md << " " << rows.cell(label, m) << " |";
    md << "\n";
  }
}

/// The depth audits: the methods ranked by mean depth gap, with the forget side after each audit
/// (FTA, or UA without a test part). Nothing when no row has audits.
void depth_table(std::ostringstream& md, const ScenarioRows& rows) {
  const auto has_gap = [&](const std::string& label) {
    return !std::isnan(rows.mean_of(label, "depth_gap"));
  };
  if (std::none_of(rows.order.begin(), rows.order.end(), has_gap)) return;
  const std::vector<std::string> ordered = ranked_rows(rows, "depth_gap");
  const std::string metric = rows.has_test_part() ? "FTA" : "UA";
  md << "\nDepth audits (docs/metrics.md): " << metric
     << " after each audit; ranked by depth gap, the mean |difference| to the retrain over the "
        "audits' UA and FTA (lower is better).\n\n| rank | method |";
  for (const auto& [key, header] : audit_columns()) md << " " << metric << " " << header << " |";
  md << " depth gap | audit time (s) |\n|---|---|";
  for (size_t i = 0; i < audit_columns().size() + 2; ++i) md << "---|";
  md << "\n";
  int rank = 0;
  for (const auto& label : ordered) {
    const bool reference = label.front() == '(';
    md << "| " << (reference ? "" : std::to_string(++rank)) << " | " << label << " |";
    for (const auto& [key, header] : audit_columns())
      md << " " << rows.cell(label, key + "." + metric) << " |";
    md << " " << rows.cell(label, "depth_gap") << " | " << rows.cell(label, "audit_time_s")
       << " |\n";
  }
}

/// The suppress goal: forget-side accuracy down, retain-side accuracy kept.
void suppress_line(std::ostringstream& md, const ScenarioRows& rows) {
  const bool test_part = rows.has_test_part();
  const std::string forget_metric = test_part ? "FTA" : "UA";
  const std::string keep_metric = test_part ? "RTA" : "RA";
  std::vector<std::pair<double, std::string>> suppress;
  for (const auto& label : rows.order) {
    const double f = rows.mean_of(label, forget_metric), k = rows.mean_of(label, keep_metric);
    if (std::isnan(f) || std::isnan(k)) continue;
    const double score = test_part ? k - f : k - (100.0 - f);  // UA = 100 - Acc(D_f)
    suppress.push_back({score, label});
  }
  std::stable_sort(suppress.begin(), suppress.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  md << "\nGoal suppress: ranked by " << keep_metric << " − " << (test_part ? "FTA" : "Acc(D_f)")
     << " (higher is better): ";
  for (size_t i = 0; i < suppress.size(); ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", suppress[i].first);
    md << (i ? ", " : "") << suppress[i].second << " " << buf;
  }
  md << ".\n";
}

void forgetting_quality_line(std::ostringstream& md, const nlohmann::json& aggregate,
                             const std::string& scenario) {
  const auto fq = aggregate.value("forgetting_quality", nlohmann::json::object());
  if (!fq.contains(scenario)) return;
  md << "\nForgetting quality (NeurIPS 2023 challenge score, N = models per group): ";
  bool first = true;
  for (const auto& [label, q] : fq[scenario].items()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f (F %.3f, N %d)", q["score"].get<double>(),
                  q["F"].get<double>(), q["n"].get<int>());
    md << (first ? "" : ", ") << label << " " << buf;
    first = false;
  }
  md << ".\n";
}

}  // namespace

std::string bench_markdown(const nlohmann::json& aggregate) {
  std::ostringstream md;
  const int n_seeds = static_cast<int>(aggregate.value("seeds", nlohmann::json::array()).size());
  md << "# Benchmark results\n\n"
     << "Data `" << aggregate.value("data", "") << "`, " << n_seeds << " seed(s), "
     << aggregate["env"].value("threads", 0) << " threads, LibTorch "
     << aggregate["env"].value("torch_version", "") << ". Values are mean ± sample std over the "
     << "seeds; times are wall seconds of the unlearning run alone.\n";
  std::vector<std::string> scenarios;
  for (const auto& c : aggregate["cells"]) {
    const std::string s = c["scenario"];
    if (std::find(scenarios.begin(), scenarios.end(), s) == scenarios.end()) scenarios.push_back(s);
  }
  for (const auto& scenario : scenarios) {
    const ScenarioRows rows = collect_rows(aggregate, scenario);
    md << "\n## " << scenario << "\n\n";
    match_retrain_table(md, rows);
    depth_table(md, rows);
    suppress_line(md, rows);
    forgetting_quality_line(md, aggregate, scenario);
  }
  return md.str();
}

}  // namespace unlearn
