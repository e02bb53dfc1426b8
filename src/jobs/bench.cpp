#include "unlearn/jobs/bench.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "unlearn/core/atomic_file.h"
#include "unlearn/core/error.h"
#include "unlearn/core/log_observer.h"
#include "unlearn/data/source.h"
#include "unlearn/methods/registry.h"
#include "unlearn/report/result.h"
#include "unlearn/select/selection.h"

namespace unlearn {

namespace fs = std::filesystem;

namespace {

/// "FILE:LINE: message" as a UsageError.
[[noreturn]] void plan_error(const std::string& path, const YAML::Node& node,
                             const std::string& message) {
  const int line = node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
  throw UsageError(detail::concat(path, ":", line, ": ", message));
}

std::string scalar(const std::string& path, const YAML::Node& node, const std::string& what) {
  if (!node.IsScalar()) plan_error(path, node, what + ": expected a plain value");
  return node.as<std::string>();
}

/// Rejects keys of `map` outside `allowed`, naming the key and its line.
void check_keys(const std::string& path, const YAML::Node& map, const std::string& where,
                std::initializer_list<const char*> allowed) {
  if (!map.IsMap()) plan_error(path, map, where + ": expected a mapping");
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>();
    bool ok = false;
    std::string list;
    for (const char* a : allowed) {
      ok = ok || key == a;
      list += (list.empty() ? "" : ", ") + std::string(a);
    }
    if (!ok)
      plan_error(path, kv.first,
                 detail::concat(where, ": unknown key '", key, "' (known: ", list, ")"));
  }
}

/// A name usable as a folder: letters, digits, '.', '_' and '-'.
void check_name(const std::string& path, const YAML::Node& node, const std::string& name,
                const std::string& what) {
  static const std::regex safe("[A-Za-z0-9._-]+");
  if (!std::regex_match(name, safe) || name == "." || name == "..") {
    plan_error(path, node,
               detail::concat(what, " '", name, "': use letters, digits, '.', '_' and '-' only"));
  }
}

template <class T>
T number(const std::string& path, const YAML::Node& node, const std::string& what) {
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    plan_error(path, node, what + ": expected a number, got '" + node.as<std::string>("") + "'");
  }
}

void read_model_section(const std::string& path, const YAML::Node& node, TrainJob& job) {
  check_keys(path, node, "model", {"arch", "width", "input_size", "normalize"});
  if (node["arch"]) {
    job.arch = scalar(path, node["arch"], "model.arch");
    const auto& known = architecture_names();
    if (std::find(known.begin(), known.end(), job.arch) == known.end()) {
      plan_error(path, node["arch"], "model.arch: unknown architecture '" + job.arch + "'");
    }
  }
  if (node["width"]) job.width = number<double>(path, node["width"], "model.width");
  if (node["input_size"]) {
    job.input_size = number<int64_t>(path, node["input_size"], "model.input_size");
  }
  if (node["normalize"]) job.normalize = scalar(path, node["normalize"], "model.normalize");
}

void read_recipe_section(const std::string& path, const YAML::Node& node, TrainOptions& r) {
  check_keys(path, node, "recipe",
             {"epochs", "batch", "lr", "momentum", "weight_decay", "schedule"});
  if (node["epochs"]) r.epochs(number<int64_t>(path, node["epochs"], "recipe.epochs"));
  if (node["batch"]) r.batch(number<int64_t>(path, node["batch"], "recipe.batch"));
  if (node["lr"]) r.lr(number<double>(path, node["lr"], "recipe.lr"));
  if (node["momentum"]) r.momentum(number<double>(path, node["momentum"], "recipe.momentum"));
  if (node["weight_decay"]) {
    r.weight_decay(number<double>(path, node["weight_decay"], "recipe.weight_decay"));
  }
  if (node["schedule"]) r.schedule(scalar(path, node["schedule"], "recipe.schedule"));
  try {
    r.validate();
  } catch (const Error& e) {
    plan_error(path, node, std::string("recipe: ") + e.what());
  }
}

BenchMethod read_method(const std::string& path, const YAML::Node& node) {
  BenchMethod m;
  if (node.IsScalar()) {
    m.method = node.as<std::string>();
  } else {
    check_keys(path, node, "methods[]", {"method", "label", "options"});
    if (!node["method"]) plan_error(path, node, "methods[]: 'method' is required");
    m.method = scalar(path, node["method"], "method");
    if (node["label"]) m.label = scalar(path, node["label"], "label");
    if (const auto& options = node["options"]) {
      if (!options.IsMap()) plan_error(path, options, "options: expected a mapping");
      for (const auto& kv : options) {
        m.options[kv.first.as<std::string>()] =
            scalar(path, kv.second, "option " + kv.first.as<std::string>());
      }
    }
  }
  if (m.label.empty()) m.label = m.method;
  const YAML::Node& where = node.IsMap() && node["method"] ? node["method"] : node;
  try {
    make_method(m.method, m.options);  // unknown methods, options and values fail here
  } catch (const Error& e) {
    plan_error(path, where, detail::concat("method '", m.method, "': ", e.what()));
  }
  check_name(path, where, m.label, "method label");
  return m;
}

std::string seed_tag(uint64_t seed) { return "s" + std::to_string(seed); }

bool file_exists(const std::string& path) { return fs::exists(fs::path(path)); }

nlohmann::json read_json_or_null(const std::string& path) {
  if (!file_exists(path)) return nullptr;
  try {
    return read_result(path);
  } catch (const Error&) {
    return nullptr;  // unreadable: the cell is redone
  }
}

/// A finished cell's result, when it was made with the same method, options and selection.
bool cell_is_current(const nlohmann::json& result, const Method& method,
                     const std::string& forget) {
  return !result.is_null() && result.contains("method") &&
         result["method"].value("name", "") == method.name() &&
         result["method"].value("options", nlohmann::json()) == method.options_json() &&
         result.contains("data") && result["data"].value("forget", "") == forget;
}

/// The unlearned (or model) entry's scalars, avg_gap and time, flattened.
nlohmann::json row_values(const nlohmann::json& result, const std::string& role) {
  nlohmann::json v = nlohmann::json::object();
  const auto& entry = result["models"][role];
  for (const auto& [k, x] : entry["metrics"].items()) v[k] = x;
  if (entry.contains("avg_gap")) v["avg_gap"] = entry["avg_gap"];
  const nlohmann::json divergence = entry.value("divergence", nlohmann::json::object());
  for (const auto& [k, x] : divergence.items()) {
    if (x.is_number()) v[k] = x;
  }
  return v;
}

}  // namespace

BenchPlan read_bench_plan(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw UsageError(detail::concat("bench: cannot open '", path, "'"));
  } catch (const YAML::Exception& e) {
    throw UsageError(detail::concat(path, ":", e.mark.line + 1, ": ", e.msg));
  }
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
    } catch (const Error& e) {
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
  UNLEARN_CHECK_AS(UsageError, !job.out.empty(), "--out is required");
  const fs::path out(job.out);
  fs::create_directories(out / "models");
  {
    std::ifstream in(job.plan);
    std::stringstream text;
    text << in.rdbuf();
    write_text_atomically((out / "plan.yaml").string(), text.str(), /*force=*/true, "--out");
  }
  const DataBundle bundle = load_data(plan.data);
  for (const auto& scenario : plan.scenarios) {
    try {  // unknown columns and empty selections show only against the data
      make_split(Selection::parse(scenario.forget), bundle, SplitOptions());
    } catch (const Error& e) {
      throw UsageError(detail::concat(job.plan, ":", scenario.line, ": scenario '", scenario.name,
                                      "': ", e.what()));
    }
  }
  observer.message(detail::concat("bench: ", plan.scenarios.size(), " scenarios x ",
                                  plan.methods.size(), " methods x ", plan.seeds.size(),
                                  " seeds -> ", out.string()));

  const int64_t total =
      static_cast<int64_t>(plan.scenarios.size() * plan.methods.size() * plan.seeds.size());
  int64_t done = 0, ran = 0, failed = 0;
  observer.begin("bench", total);
  for (uint64_t seed : plan.seeds) {
    const RunContext ctx = RunContext(context).seed(seed);
    const std::string original = (out / "models" / ("original-" + seed_tag(seed) + ".pt")).string();
    if (!file_exists(original)) {
      observer.message("bench: training the original, seed " + std::to_string(seed));
      TrainJob train = plan.model;
      train.recipe.seed(seed);
      train.out = original;
      LogObserver log(original + ".log");
      run_train_job(train, bundle, ctx, log);
    }
    for (const auto& scenario : plan.scenarios) {
      const std::string stem = "retrain-" + scenario.name + "-" + seed_tag(seed);
      const std::string retrain = (out / "models" / (stem + ".pt")).string();
      if (!file_exists(retrain)) {
        observer.message("bench: the gold-standard retrain of " + scenario.name + ", seed " +
                         std::to_string(seed));
        ForgetJob gold;
        gold.model = original;
        gold.data = plan.data;
        gold.forget = scenario.forget;
        gold.method = "retrain";
        gold.out = retrain;
        gold.report = (out / "models" / (stem + ".json")).string();
        gold.force = true;
        LogObserver log(retrain + ".log");
        run_forget_job(gold, bundle, ctx, log);
      }
      for (const auto& m : plan.methods) {
        const fs::path dir = out / "cells" / scenario.name / m.label / seed_tag(seed);
        const std::string result_path = (dir / "result.json").string();
        auto method = make_method(m.method, m.options);
        const std::string note = scenario.name + "/" + m.label + "/" + seed_tag(seed);
        if (cell_is_current(read_json_or_null(result_path), *method, scenario.forget)) {
          observer.progress(++done, note + " (done before)");
          continue;
        }
        fs::create_directories(dir);
        fs::remove(dir / "error.txt");
        fs::remove(result_path);  // a stale result must not survive a failed rerun
        ForgetJob cell;
        cell.model = original;
        cell.data = plan.data;
        cell.forget = scenario.forget;
        cell.method = m.method;
        cell.method_options = m.options;
        cell.retrain = retrain;
        cell.out = (dir / "model.pt").string();
        cell.report = result_path;
        cell.force = true;
        LogObserver log((dir / "log.txt").string());
        try {
          run_forget_job(cell, bundle, ctx, log);
        } catch (const Error& e) {
          // One failing cell (a diverging method, say) must not stop the others.
          ++failed;
          log.message(std::string("failed: ") + e.what());
          write_text_atomically((dir / "error.txt").string(), std::string(e.what()) + "\n", true,
                                "--out");
          observer.message("bench: " + note + " failed: " + e.what());
        }
        ++ran;
        observer.progress(++done, note);
      }
    }
  }
  observer.end();

  // Aggregate everything on disk, including cells finished by earlier runs.
  nlohmann::json aggregate;
  aggregate["plan_file"] = job.plan;
  aggregate["data"] = plan.data;
  aggregate["seeds"] = plan.seeds;
  aggregate["env"] =
      env_entry(configure_threads(context.threads()), context.seed(), context.device().str());
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
        } else if (file_exists((dir / "error.txt").string())) {
          std::ifstream in(dir / "error.txt");
          std::string line;
          std::getline(in, line);
          cell["status"] = "failed";
          cell["error"] = line;
        } else {
          cell["status"] = "missing";
        }
        aggregate["cells"].push_back(cell);
      }
    }
  }
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
  write_text_atomically((out / "results.json").string(), aggregate.dump(2) + "\n", true, "--out");
  write_text_atomically((out / "results.md").string(), bench_markdown(aggregate), true, "--out");
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
  }
  return md.str();
}

}  // namespace unlearn
