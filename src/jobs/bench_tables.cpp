// The Markdown of `unlearn bench` (results.md): per scenario, the methods ranked by Avg-gap and
// by depth gap, the suppress ranking, forgetting quality, and the time budgets with their
// time-Avg-gap Pareto front.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "unlearn/jobs/bench.h"
#include "unlearn/metrics/pareto.h"
#include "unlearn/report/result.h"

namespace unlearn {

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
    const int decimals = m == "steps" ? 0 : m.find("time_s") != std::string::npos ? 1 : 2;
    return format_stats(stats_of(row->second.at(m)), decimals);
  }
  bool has_test_part() const {
    for (const auto& [label, v] : values) {
      if (v.count("FTA")) return true;
    }
    return false;
  }
};

/// One scenario's rows: the references and the methods at their own plan of steps (`budget`
/// empty), or the methods at one budget, labelled by method.
ScenarioRows collect_rows(const nlohmann::json& aggregate, const std::string& scenario,
                          const std::string& budget = "") {
  ScenarioRows rows;
  if (budget.empty()) {
    for (const auto& r : aggregate["references"]) {
      if (r["scenario"] == scenario) {
        rows.add("(" + r["role"].get<std::string>() + ")", r["values"]);
      }
    }
  }
  for (const auto& c : aggregate["cells"]) {
    if (c["scenario"] != scenario || c.value("budget", "") != budget) continue;
    const std::string label = budget.empty() ? c["label"] : c["method_label"];
    if (c["status"] == "ok") {
      rows.add(label, c["values"]);
    } else {
      rows.add(label, nlohmann::json::object());
      ++rows.failures[label];
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

/// "yes" when every seed kept to the budget, "no" when none did, else "k of n".
std::string within_cell(const ScenarioRows& rows, const std::string& label) {
  const auto row = rows.values.find(label);
  if (row == rows.values.end() || !row->second.count("within_budget")) return "-";
  const auto& flags = row->second.at("within_budget");
  const auto kept = std::count(flags.begin(), flags.end(), 1.0);
  if (kept == static_cast<long>(flags.size())) return "yes";
  if (kept == 0) return "**no**";
  return std::to_string(kept) + " of " + std::to_string(flags.size());
}

/// Per budget: the methods ranked by Avg-gap, with their depth gap and its rank, the time they
/// took and whether they kept to the budget (a method that cannot is marked, not dropped).
void budget_tables(std::ostringstream& md, const nlohmann::json& aggregate,
                   const std::string& scenario) {
  const auto budgets = aggregate.value("budgets", nlohmann::json::array());
  if (budgets.empty()) return;
  md << "\nTime budgets (forget --time-budget): every method but the retrain at each share of the "
        "retrain's training time, its planned steps thinned evenly to fit. Ranked by Avg-gap, "
        "with the rank by depth gap beside it.\n";
  for (const auto& b : budgets) {
    const std::string text = b.get<std::string>();
    const ScenarioRows rows = collect_rows(aggregate, scenario, text);
    if (rows.order.empty()) continue;
    const std::string forget_metric = rows.has_test_part() ? "FTA" : "UA";
    std::map<std::string, int> depth_rank;
    for (const auto& label : ranked_rows(rows, "depth_gap")) {
      if (!std::isnan(rows.mean_of(label, "depth_gap"))) {
        depth_rank[label] = static_cast<int>(depth_rank.size()) + 1;
      }
    }
    md << "\n### Budget " << text << " (" << rows.cell(rows.order.front(), "budget_s")
       << " s)\n\n| rank | method | Avg-gap | depth gap | depth rank | RA | " << forget_metric
       << " | time (s) | steps | kept to the budget |\n|---|---|---|---|---|---|---|---|---|---|\n";
    int rank = 0;
    for (const auto& label : ranked_rows(rows, "avg_gap")) {
      md << "| " << ++rank << " | " << label;
      if (rows.failures.count(label)) md << " (" << rows.failures.at(label) << " failed)";
      md << " | " << rows.cell(label, "avg_gap") << " | " << rows.cell(label, "depth_gap") << " | "
         << (depth_rank.count(label) ? std::to_string(depth_rank.at(label)) : "-") << " | "
         << rows.cell(label, "RA") << " | " << rows.cell(label, forget_metric) << " | "
         << rows.cell(label, "time_s") << " | " << rows.cell(label, "steps") << " | "
         << within_cell(rows, label) << " |\n";
    }
  }
}

/// The time-Avg-gap Pareto front's line, from results.json's `time_front` (time_avg_gap_front).
void time_front_line(std::ostringstream& md, const nlohmann::json& aggregate,
                     const std::string& scenario) {
  const nlohmann::json front = aggregate.value("time_front", nlohmann::json::object())
                                   .value(scenario, nlohmann::json::array());
  if (front.size() < 2) return;
  md << "\nPareto front of unlearning time and Avg-gap (means over seeds; no point is both faster "
        "and closer to the retrain): ";
  for (size_t i = 0; i < front.size(); ++i) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " (%.1f s, %.2f)", front[i]["time_s"].get<double>(),
                  front[i]["avg_gap"].get<double>());
    md << (i ? ", " : "") << front[i]["label"].get<std::string>() << buf;
  }
  md << ".\n";
}

/// Each tuned method's chosen setting and its validation Avg-gap.
void tuning_lines(std::ostringstream& md, const nlohmann::json& aggregate,
                  const std::string& scenario) {
  const auto tuning = aggregate.value("tuning", nlohmann::json::object());
  if (!tuning.contains(scenario)) return;
  md << "\nTuning: each `-tuned` column is the lowest validation Avg-gap of a random search over "
        "its method's space (docs/methods), the same number of settings for every method, on a "
        "validation split of the training rows; the test set was not read.\n\n";
  for (const auto& [label, t] : tuning[scenario].items()) {
    md << "- " << label << " (" << t.value("trials", 0) << " settings";
    if (t.value("failed", 0) > 0) md << ", " << t["failed"].get<int64_t>() << " failed";
    md << "): ";
    if (!t.contains("chosen")) {
      md << t.value("error", std::string("no setting")) << "\n";
      continue;
    }
    bool first = true;
    for (const auto& [flag, value] : t["chosen"]["options"].items()) {
      md << (first ? "" : ", ") << "`--" << flag << " " << value.get<std::string>() << "`";
      first = false;
    }
    char buf[64];
    std::snprintf(buf, sizeof buf, "; validation Avg-gap %.2f\n",
                  t["chosen"]["values"].value("avg_gap", NAN));
    md << buf;
  }
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

nlohmann::json time_avg_gap_front(const nlohmann::json& aggregate, const std::string& scenario) {
  // Mean time and Avg-gap per row label: the retrain at its training time, every method at its
  // own plan and at each budget (not the retrain method's cells, whose time is a cache read).
  ScenarioRows points;
  const auto add = [&](const std::string& label, const nlohmann::json& v) {
    if (v.contains("time_s") && v.contains("avg_gap")) points.add(label, v);
  };
  for (const auto& r : aggregate["references"]) {
    if (r["scenario"] == scenario && r["role"] == "retrain") add("(retrain)", r["values"]);
  }
  for (const auto& c : aggregate["cells"]) {
    if (c["scenario"] == scenario && c["status"] == "ok" && c["method"] != "retrain") {
      add(c["label"], c["values"]);
    }
  }
  const std::vector<std::string>& order = points.order;
  std::vector<double> time, closeness;
  for (const auto& label : order) {
    time.push_back(points.mean_of(label, "time_s"));
    closeness.push_back(-points.mean_of(label, "avg_gap"));  // higher is better
  }
  std::vector<size_t> front = pareto_front(time, closeness);
  std::sort(front.begin(), front.end(), [&](size_t a, size_t b) { return time[a] < time[b]; });
  nlohmann::json out = nlohmann::json::array();
  for (size_t i : front) {
    out.push_back({{"label", order[i]}, {"time_s", time[i]}, {"avg_gap", -closeness[i]}});
  }
  return out;
}

std::string bench_markdown(const nlohmann::json& aggregate) {
  std::ostringstream md;
  const int n_seeds = static_cast<int>(aggregate.value("seeds", nlohmann::json::array()).size());
  md << "# Benchmark results\n\n"
     << "Data `" << aggregate.value("data", "") << "`, " << n_seeds << " seed(s), "
     << aggregate["env"].value("threads", 0) << " threads, LibTorch "
     << aggregate["env"].value("torch_version", "") << ". Values are mean ± sample std over the "
     << "seeds; times are wall seconds of the unlearning run alone.";
  if (aggregate.contains("wall_s_total")) {
    char buf[96];
    std::snprintf(buf, sizeof buf, " The bench took %.0f s of wall time (%.0f s in its last run).",
                  aggregate["wall_s_total"].get<double>(), aggregate["wall_s"].get<double>());
    md << buf;
  }
  if (aggregate.value("left", 0) > 0) {
    md << " **" << aggregate["left"].get<int64_t>()
       << " cells are not run yet** (--stop-after): run the same command again.";
  }
  md << "\n";
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
    tuning_lines(md, aggregate, scenario);
    budget_tables(md, aggregate, scenario);
    time_front_line(md, aggregate, scenario);
  }
  return md.str();
}

}  // namespace unlearn
