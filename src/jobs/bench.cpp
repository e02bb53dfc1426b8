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
             {"data", "model", "recipe", "seeds", "scenarios", "methods"});
  BenchPlan plan;
  if (root["data"]) plan.data = scalar(path, root["data"], "data");
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

nlohmann::json run_bench_job(const BenchJob& job, const RunContext& context, Observer& observer) {
  const BenchPlan plan = read_bench_plan(job.plan);  // every check before any work
  dist::GlooGroup* group = job.group;
  const PlanFolder folder(job);
  const fs::path& out = folder.path();
  const DataBundle bundle = load_data(plan.data);
  for (const auto& scenario : plan.scenarios) {
    try {  // unknown columns and empty selections show only against the data
      make_split(Selection::parse(scenario.forget), bundle, SplitOptions());
    } catch (const Error& e) {  // names the plan file and line
      throw UsageError(detail::concat(job.plan, ":", scenario.line, ": scenario '", scenario.name,
                                      "': ", e.what()));
    }
  }
  observer.message(detail::concat("bench: ", plan.scenarios.size(), " scenarios x ",
                                  plan.methods.size(), " methods x ", plan.seeds.size(),
                                  " seeds -> ", out.string()));

  // The originals and gold-standard retrains first (rank 0 alone in a distributed bench),
  // then the cells.
  std::vector<std::string> references;
  const auto original_of = [&](uint64_t seed) {
    return (out / "models" / ("original-" + seed_tag(seed) + ".pt")).string();
  };
  const auto retrain_stem = [&](const std::string& scenario, uint64_t seed) {
    return "retrain-" + scenario + "-" + seed_tag(seed);
  };
  for (uint64_t seed : plan.seeds) {
    const RunContext ctx = RunContext(context).seed(seed);
    const std::string original = original_of(seed);
    references.push_back("models/original-" + seed_tag(seed) + ".pt");
    if (folder.writes() && !fs::exists(original)) {
      observer.message("bench: training the original, seed " + std::to_string(seed));
      TrainJob train = plan.model;
      train.recipe.seed(seed);
      ensure_original(train, bundle, original, ctx);
    }
    for (const auto& scenario : plan.scenarios) {
      const std::string stem = retrain_stem(scenario.name, seed);
      const std::string retrain = (out / "models" / (stem + ".pt")).string();
      references.push_back("models/" + stem + ".pt");
      if (folder.writes() && !fs::exists(retrain)) {
        observer.message("bench: the gold-standard retrain of " + scenario.name + ", seed " +
                         std::to_string(seed));
        ensure_retrain(original, plan.data, scenario.forget, bundle, retrain,
                       (out / "models" / (stem + ".json")).string(), ctx);
      }
    }
  }
  if (group) dist::share_files(*group, "bench-models", out, references);

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
  const auto job_of = [&](const Cell& c) {
    return cell_job(original_of(c.seed), plan.data, c.scenario->forget, c.method->method,
                    c.method->options,
                    (out / "models" / (retrain_stem(c.scenario->name, c.seed) + ".pt")).string());
  };
  const auto cell_folder = [&](const Cell& c) {
    return out / "cells" / c.scenario->name / c.method->label / seed_tag(c.seed);
  };
  CellList work;
  work.name = "bench";
  work.count = cells.size();
  work.job = [&](size_t i) { return job_of(cells[i]); };
  work.folder = [&](size_t i) { return cell_folder(cells[i]); };
  work.label = [&](size_t i) { return cells[i].note(); };
  work.context = [&](size_t i) { return RunContext(context).seed(cells[i].seed); };
  const CellTally tally = run_cells(work, bundle, group, out, observer);
  if (!folder.writes()) return nlohmann::json::object();  // rank 0 writes the aggregate
  const int64_t ran = tally.ran, failed = tally.failed;

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
      const std::string stem = "retrain-" + scenario.name + "-" + seed_tag(seed);
      const auto gold = read_json_or_null((out / "models" / (stem + ".json")).string());
      if (gold.is_null()) continue;
      // The original's gap to this retrain; the retrain's own gap is 0 by definition.
      nlohmann::json pair = {
          {"models",
           {{"original", gold["models"]["original"]}, {"retrain", gold["models"]["unlearned"]}}}};
      add_avg_gaps(pair);
      nlohmann::json original_values = row_values(pair, "original");
      nlohmann::json retrain_values = row_values(pair, "retrain");
      retrain_values["avg_gap"] = 0.0;
      // Training time as measured when the retrain was trained (absent for a cache hit).
      const auto& summary = gold["method"].value("summary", nlohmann::json::object());
      if (summary.contains("train_time_s")) retrain_values["time_s"] = summary["train_time_s"];
      aggregate["references"].push_back({{"scenario", scenario.name},
                                         {"role", "original"},
                                         {"seed", seed},
                                         {"values", original_values}});
      aggregate["references"].push_back({{"scenario", scenario.name},
                                         {"role", "retrain"},
                                         {"seed", seed},
                                         {"values", retrain_values}});
    }
    for (const auto& m : plan.methods) {
      for (uint64_t seed : plan.seeds) {
        const fs::path dir = out / "cells" / scenario.name / m.label / seed_tag(seed);
        nlohmann::json cell = {
            {"scenario", scenario.name}, {"label", m.label}, {"method", m.method}, {"seed", seed}};
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
        aggregate["cells"].push_back(cell);
      }
    }
  }
  add_forgetting_quality(aggregate, plan, bundle, out, observer);
  aggregate["ran"] = ran;
  aggregate["failed"] = failed;

  // CSV: one row per cell and reference, metric columns in a fixed order then the rest.
  std::vector<std::string> columns = {"UA",           "RA",          "TA",      "FTA",   "RTA",
                                      "MIA_efficacy", "MIA_entropy", "avg_gap", "time_s"};
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
  write_text_atomically((out / "results.csv").string(), csv.str(), true, "--out");
  write_text_atomically((out / "results.json").string(), json_text(aggregate, 2) + "\n", true,
                        "--out");
  write_text_atomically((out / "results.md").string(), bench_markdown(aggregate), true, "--out");
  const bool any_cell = std::any_of(aggregate["cells"].begin(), aggregate["cells"].end(),
                                    [](const auto& c) { return c.value("status", "") == "ok"; });
  if (job.html && any_cell) {
    write_html_report((out / "report.html").string(), load_report_sources({out.string()}), true,
                      "--out");
  }
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
  const std::vector<std::string> metrics = {"UA",  "RA",           "TA",      "FTA",
                                            "RTA", "MIA_efficacy", "avg_gap", "time_s"};
  for (const auto& scenario : scenarios) {
    // Collect each row's values per metric over seeds.
    std::vector<std::string> order, md_references;
    std::map<std::string, std::map<std::string, std::vector<double>>> values;
    std::map<std::string, int> failures;
    auto add = [&](const std::string& label, const nlohmann::json& v) {
      if (std::find(order.begin(), order.end(), label) == order.end()) order.push_back(label);
      for (const auto& m : metrics) {
        if (v.contains(m) && v[m].is_number()) values[label][m].push_back(v[m].get<double>());
      }
    };
    for (const auto& r : aggregate["references"]) {
      if (r["scenario"] != scenario) continue;
      add("(" + r["role"].get<std::string>() + ")", r["values"]);
    }
    for (const auto& c : aggregate["cells"]) {
      if (c["scenario"] != scenario) continue;
      if (c["status"] == "ok") {
        add(c["label"], c["values"]);
      } else {
        add(c["label"], nlohmann::json::object());
        ++failures[c["label"]];
      }
    }
    const bool has_test_part = [&] {
      for (const auto& [label, v] : values) {
        if (v.count("FTA")) return true;
      }
      return false;
    }();
    auto mean_of = [&](const std::string& label, const std::string& m) {
      auto it = values[label].find(m);
      return it == values[label].end() ? NAN : stats_of(it->second).mean;
    };
    // The references first, then the methods ranked by mean Avg-gap (rows without one last).
    std::vector<std::string> ranked;
    for (const auto& label : order) {
      if (label.front() == '(') md_references.push_back(label);
    }
    for (const auto& label : order) {
      if (label.front() != '(') ranked.push_back(label);
    }
    std::stable_sort(ranked.begin(), ranked.end(), [&](const std::string& a, const std::string& b) {
      const double x = mean_of(a, "avg_gap"), y = mean_of(b, "avg_gap");
      if (std::isnan(x) != std::isnan(y)) return std::isnan(y);
      return !std::isnan(x) && x < y;
    });
    md << "\n## " << scenario << "\n\n";
    md << "Goal match-retrain: ranked by Avg-gap to the retrained model (lower is better).\n\n";
    md << "| rank | method |";
    for (const auto& m : metrics) md << " " << (m == "time_s" ? "time (s)" : m) << " |";
    md << "\n|---|---|";
    for (size_t i = 0; i < metrics.size(); ++i) md << "---|";
    md << "\n";
    int rank = 0;
    std::vector<std::string> rows = md_references;
    rows.insert(rows.end(), ranked.begin(), ranked.end());
    for (const auto& label : rows) {
      const bool reference = label.front() == '(';
      md << "| " << (reference ? "" : std::to_string(++rank)) << " | " << label;
      if (failures.count(label)) md << " (" << failures[label] << " failed)";
      md << " |";
      for (const auto& m : metrics) {
        auto it = values[label].find(m);
        md << " "
           << (it == values[label].end()
                   ? "-"
                   : format_stats(stats_of(it->second), m == "time_s" ? 1 : 2))
           << " |";
      }
      md << "\n";
    }
    // The suppress goal: forget-side accuracy down, retain-side accuracy kept.
    const std::string forget_metric = has_test_part ? "FTA" : "UA";
    const std::string keep_metric = has_test_part ? "RTA" : "RA";
    std::vector<std::pair<double, std::string>> suppress;
    for (const auto& label : order) {
      double f = mean_of(label, forget_metric), k = mean_of(label, keep_metric);
      if (std::isnan(f) || std::isnan(k)) continue;
      const double score = has_test_part ? k - f : k - (100.0 - f);  // UA = 100 - Acc(D_f)
      suppress.push_back({score, label});
    }
    std::stable_sort(suppress.begin(), suppress.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    md << "\nGoal suppress: ranked by " << keep_metric << " − "
       << (has_test_part ? "FTA" : "Acc(D_f)") << " (higher is better): ";
    for (size_t i = 0; i < suppress.size(); ++i) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.2f", suppress[i].first);
      md << (i ? ", " : "") << suppress[i].second << " " << buf;
    }
    md << ".\n";
    const auto fq = aggregate.value("forgetting_quality", nlohmann::json::object());
    if (fq.contains(scenario)) {
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
  }
  return md.str();
}

}  // namespace unlearn
