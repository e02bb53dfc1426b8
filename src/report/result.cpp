#include "unlearn/report/result.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "unlearn/core/context.h"
#include "unlearn/core/error.h"

#ifndef UNLEARN_VERSION
#define UNLEARN_VERSION "unknown"
#endif

namespace unlearn {

namespace {

const char* const kColumns[] = {"UA", "RA", "TA", "FTA", "RTA", "MIA_efficacy"};

/// JSON has no NaN: undefined metrics are left out rather than written as null.
void put_finite(nlohmann::json& j, const std::string& key, double v) {
  if (std::isfinite(v)) j[key] = v;
}

/// Host name, CPU model (from /proc/cpuinfo on Linux) and the cores this process may use.
nlohmann::json machine_entry() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::string cpu;
  std::ifstream info("/proc/cpuinfo");
  for (std::string line; cpu.empty() && std::getline(info, line);) {
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      cpu = line.substr(line.find(':') + 1);
      cpu.erase(0, cpu.find_first_not_of(' '));
    }
  }
  return {{"host", host}, {"cpu", cpu}, {"cores", available_cores()}};
}

std::string cell(const nlohmann::json& j, const char* key, const char* fmt) {
  if (!j.is_object() || !j.contains(key) || !j.at(key).is_number()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, fmt, j.at(key).get<double>());
  return buf;
}

}  // namespace

nlohmann::json model_entry(const std::string& path, const Model& model,
                           const ModelMetrics& metrics) {
  nlohmann::json e{{"path", path}, {"metrics", nlohmann::json::object()}};
  for (const auto& [name, v] : metrics.metrics) put_finite(e["metrics"], name, v);
  nlohmann::json per_class = nlohmann::json::object();
  const auto& names = model.spec().class_names;
  for (size_t k = 0; k < metrics.per_class_test.size(); ++k) {
    put_finite(per_class, k < names.size() ? names[k] : std::to_string(k),
               metrics.per_class_test[k]);
  }
  e["per_class_test"] = per_class;
  nlohmann::json clinical = nlohmann::json::object();
  for (size_t k = 0; k < metrics.per_class.size(); ++k) {
    const auto& c = metrics.per_class[k];
    nlohmann::json j{{"n", c.support}};
    put_finite(j, "sensitivity", c.sensitivity);
    put_finite(j, "specificity", c.specificity);
    put_finite(j, "auroc", c.auroc);
    clinical[k < names.size() ? names[k] : std::to_string(k)] = j;
  }
  e["per_class"] = clinical;
  nlohmann::json groups = nlohmann::json::object();
  for (const auto& [column, values] : metrics.per_group) {
    nlohmann::json col = nlohmann::json::object();
    for (const auto& [value, g] : values) {
      nlohmann::json j{{"n_train", g.n_train}, {"n_test", g.n_test}};
      put_finite(j, "train_acc", g.train_acc);
      put_finite(j, "test_acc", g.test_acc);
      col[value] = j;
    }
    groups[column] = col;
  }
  e["per_group"] = groups;
  const auto& prov = model.spec().provenance;
  // Model files written before 2026-11-30 carried their training time; newer ones do not.
  if (prov.contains("train_time_s")) e["time_s"] = prov.at("train_time_s");
  return e;
}

nlohmann::json data_entry(const std::string& source, const Split& split) {
  return {{"source", source},
          {"forget", split.expression},
          {"n_forget_train", split.train.forget.numel()},
          {"n_retain_train", split.train.retain.numel()},
          {"n_forget_test", split.test.forget.numel()},
          {"n_retain_test", split.test.retain.numel()},
          {"has_test_part", split.has_test_part}};
}

nlohmann::json env_entry(int threads, uint64_t seed, const std::string& device,
                         const std::string& precision, const std::string& command_line) {
  nlohmann::json env = {{"threads", threads},
                        {"precision", precision},
                        {"torch_version", torch_version()},
                        {"seed", seed},
                        {"device", device},
                        {"unlearn_version", UNLEARN_VERSION},
                        {"machine", machine_entry()}};
  if (!command_line.empty()) env["command_line"] = command_line;
  return env;
}

nlohmann::json trace_entry(const std::vector<TraceRecord>& trace) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : trace) {
    nlohmann::json j{{"step", r.step}};
    for (const auto& [k, v] : r.values) put_finite(j, k, v);
    out.push_back(std::move(j));
  }
  return out;
}

namespace {

/// Copies models.<role>.<key> of the judged model (`unlearned`, or eval's `model`) to the top
/// level of `result`, where scripts read it.
void promote_to_top(nlohmann::json& result, const char* key) {
  for (const char* role : {"unlearned", "model"}) {
    if (result["models"].contains(role) && result["models"][role].contains(key)) {
      result[key] = result["models"][role][key];
    }
  }
}

/// The depth-audit table of `rows` (format_table's), empty when no row has audits.
std::string audit_table(const std::vector<TableRow>& rows);

}  // namespace

void add_avg_gaps(nlohmann::json& result) {
  if (!result.contains("models") || !result["models"].contains("retrain")) return;
  const auto& re = result["models"]["retrain"]["metrics"];
  MetricMap re_map;
  for (auto it = re.begin(); it != re.end(); ++it) re_map[it.key()] = it.value().get<double>();
  for (auto it = result["models"].begin(); it != result["models"].end(); ++it) {
    if (it.key() == "retrain") continue;
    MetricMap m;
    for (auto jt = it.value()["metrics"].begin(); jt != it.value()["metrics"].end(); ++jt) {
      m[jt.key()] = jt.value().get<double>();
    }
    // A metric may be undefined (UA of an empty forget set): then there is no gap to report.
    if (const auto gap = avg_gap_if_defined(m, re_map)) it.value()["avg_gap"] = *gap;
  }
  promote_to_top(result, "avg_gap");
}

nlohmann::json audit_entry(const DepthAudit& audit) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, values] : audit.audits) {
    nlohmann::json a = nlohmann::json::object();
    for (const auto& [k, v] : values) put_finite(a, k, v);
    out[name] = std::move(a);
  }
  if (!audit.skipped.empty()) out["skipped"] = audit.skipped;
  out["time_s"] = audit.seconds;
  return out;
}

namespace {

/// The audit metrics of an `audits` entry, without its time and skipped notes.
std::map<std::string, MetricMap> audit_maps(const nlohmann::json& audits) {
  std::map<std::string, MetricMap> maps;
  for (auto it = audits.begin(); it != audits.end(); ++it) {
    if (!it.value().is_object() || it.key() == "skipped") continue;
    for (auto jt = it.value().begin(); jt != it.value().end(); ++jt) {
      if (jt.value().is_number()) maps[it.key()][jt.key()] = jt.value().get<double>();
    }
  }
  return maps;
}

}  // namespace

void add_depth_gaps(nlohmann::json& result) {
  if (!result.contains("models") || !result["models"].contains("retrain") ||
      !result["models"]["retrain"].contains("audits")) {
    return;
  }
  const auto gold = audit_maps(result["models"]["retrain"]["audits"]);
  for (auto it = result["models"].begin(); it != result["models"].end(); ++it) {
    if (it.key() == "retrain" || !it.value().contains("audits")) continue;
    if (const auto gap = depth_gap(audit_maps(it.value()["audits"]), gold)) {
      it.value()["depth_gap"] = *gap;
    }
  }
  promote_to_top(result, "depth_gap");
}

nlohmann::json goal_entry(const nlohmann::json& result) {
  nlohmann::json goals = nlohmann::json::object();
  if (!result.contains("models")) return goals;
  const auto& models = result.at("models");
  const char* role = models.contains("unlearned") ? "unlearned"
                     : models.contains("model")   ? "model"
                                                  : nullptr;
  if (role == nullptr) return goals;
  const auto& entry = models.at(role);
  const auto metrics = entry.contains("metrics") ? entry.at("metrics") : nlohmann::json::object();

  nlohmann::json match{{"judged_by", "avg_gap"}};
  if (entry.contains("avg_gap")) match["value"] = entry.at("avg_gap");
  goals["match-retrain"] = match;

  bool has_test_part = metrics.contains("FTA") || metrics.contains("RTA");
  if (result.contains("data") && result.at("data").contains("has_test_part")) {
    has_test_part = result.at("data").at("has_test_part").get<bool>();
  }
  const std::vector<std::string> keys =
      has_test_part ? std::vector<std::string>{"FTA", "RTA"} : std::vector<std::string>{"UA", "RA"};
  nlohmann::json suppress{{"judged_by", keys}};
  for (const auto& key : keys) {
    if (metrics.contains(key)) suppress[key] = metrics.at(key);
  }
  goals["suppress"] = suppress;
  return goals;
}

namespace {

/// Test accuracy per value of each metadata column the selection reads (per device, per site),
/// one row per model: what stays the same is as telling as what changes.
struct NamedEntry {
  std::string name;
  nlohmann::json entry;
};

std::string group_tables(const std::vector<NamedEntry>& rows) {
  std::map<std::string, std::vector<std::string>> values;  // column -> its values, in order
  for (const auto& r : rows) {
    if (!r.entry.contains("per_group")) continue;
    for (const auto& [column, groups] : r.entry.at("per_group").items()) {
      auto& v = values[column];
      for (const auto& [value, g] : groups.items()) {
        (void)g;
        if (std::find(v.begin(), v.end(), value) == v.end()) v.push_back(value);
      }
    }
  }
  std::ostringstream out;
  char buf[64];
  for (const auto& [column, names] : values) {
    out << "\ntest accuracy by " << column << "\n";
    std::snprintf(buf, sizeof buf, "%-22s", "model");
    out << buf;
    for (const auto& v : names) {
      std::snprintf(buf, sizeof buf, " %10.10s", v.c_str());
      out << buf;
    }
    out << "\n";
    for (const auto& r : rows) {
      std::snprintf(buf, sizeof buf, "%-22s", r.name.c_str());
      out << buf;
      const nlohmann::json* groups = nullptr;
      if (r.entry.contains("per_group") && r.entry.at("per_group").contains(column)) {
        groups = &r.entry.at("per_group").at(column);
      }
      for (const auto& v : names) {
        const bool has =
            groups != nullptr && groups->contains(v) && groups->at(v).contains("test_acc");
        if (has) {
          std::snprintf(buf, sizeof buf, " %10.2f", groups->at(v).at("test_acc").get<double>());
        } else {
          std::snprintf(buf, sizeof buf, " %10s", "-");
        }
        out << buf;
      }
      out << "\n";
    }
  }
  return out.str();
}

}  // namespace

std::vector<TableRow> table_rows(const std::vector<nlohmann::json>& results,
                                 const std::vector<std::string>& labels) {
  std::vector<TableRow> rows;
  auto add = [&](TableRow row) {
    for (const auto& r : rows) {
      if (r.name == row.name) return;
    }
    rows.push_back(std::move(row));
  };
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    if (!r.contains("models")) continue;
    const auto& models = r.at("models");
    for (const char* role : {"original", "retrain"}) {
      if (!models.contains(role)) continue;
      const auto& e = models.at(role);
      add({role, role, i, e, e.contains("time_s") ? e.at("time_s") : nlohmann::json()});
    }
  }
  std::map<std::string, int> method_count;
  for (const auto& r : results) {
    if (r.contains("method")) ++method_count[r.at("method").value("name", "")];
  }
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    if (!r.contains("models")) continue;
    const auto& models = r.at("models");
    for (const char* role : {"unlearned", "model"}) {
      if (!models.contains(role)) continue;
      std::string name = r.contains("method") ? r.at("method").value("name", role) : role;
      if (method_count[name] > 1 && i < labels.size()) name = labels[i];
      nlohmann::json t = r.contains("time_s") && r.at("time_s").contains("unlearn")
                             ? r.at("time_s").at("unlearn")
                             : nlohmann::json();
      add({name, role, i, models.at(role), t});
    }
  }
  return rows;
}

std::string format_table(const std::vector<nlohmann::json>& results,
                         const std::vector<std::string>& labels) {
  const std::vector<TableRow> rows = table_rows(results, labels);
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%-22s %7s %7s %7s %7s %7s %7s %8s %9s\n", "model", "UA", "RA",
                "TA", "FTA", "RTA", "MIA", "Avg-gap", "time(s)");
  out << line;
  for (const auto& r : rows) {
    const auto& m = r.entry.contains("metrics") ? r.entry.at("metrics") : nlohmann::json();
    std::string time =
        r.time_s.is_number() ? cell(nlohmann::json{{"t", r.time_s}}, "t", "%.1f") : "-";
    std::snprintf(line, sizeof line, "%-22s %7s %7s %7s %7s %7s %7s %8s %9s\n", r.name.c_str(),
                  cell(m, kColumns[0], "%.2f").c_str(), cell(m, kColumns[1], "%.2f").c_str(),
                  cell(m, kColumns[2], "%.2f").c_str(), cell(m, kColumns[3], "%.2f").c_str(),
                  cell(m, kColumns[4], "%.2f").c_str(), cell(m, kColumns[5], "%.2f").c_str(),
                  cell(r.entry, "avg_gap", "%.2f").c_str(), time.c_str());
    out << line;
  }
  std::vector<NamedEntry> named;
  for (const auto& r : rows) named.push_back({r.name, r.entry});
  out << group_tables(named);
  out << audit_table(rows);
  return out.str();
}

namespace {

std::string audit_table(const std::vector<TableRow>& rows) {
  if (std::none_of(rows.begin(), rows.end(),
                   [](const TableRow& r) { return r.entry.contains("audits"); })) {
    return "";
  }
  const auto forget_side = [](const nlohmann::json& audits, const char* name) -> std::string {
    const double v = audit_forget_side(audits, name);
    if (std::isnan(v)) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    return buf;
  };
  std::ostringstream out;
  char line[256];
  out << "\ndepth audits: forget accuracy (FTA, or Acc(D_f) without a test part) after each\n";
  std::snprintf(line, sizeof line, "%-22s %7s %9s %8s %8s %7s %10s %9s\n", "model", "recal",
                "D_r-FT", "10-shot", "100-shot", "probe", "Depth-gap", "audit(s)");
  out << line;
  for (const auto& r : rows) {
    const nlohmann::json audits =
        r.entry.contains("audits") ? r.entry.at("audits") : nlohmann::json::object();
    std::snprintf(
        line, sizeof line, "%-22s %7s %9s %8s %8s %7s %10s %9s\n", r.name.c_str(),
        forget_side(audits, "recalibration").c_str(), forget_side(audits, "retain_relearn").c_str(),
        forget_side(audits, "few_shot_10").c_str(), forget_side(audits, "few_shot_100").c_str(),
        forget_side(audits, "probe").c_str(), cell(r.entry, "depth_gap", "%.2f").c_str(),
        cell(audits, "time_s", "%.1f").c_str());
    out << line;
  }
  return out.str();
}

}  // namespace

const std::vector<std::pair<std::string, std::string>>& audit_columns() {
  static const std::vector<std::pair<std::string, std::string>> columns = {
      {"recalibration", "recalibrated"},
      {"retain_relearn", "after D_r fine-tuning"},
      {"few_shot_10", "after 10-shot"},
      {"few_shot_100", "after 100-shot"},
      {"probe", "linear probe"}};
  return columns;
}

double audit_forget_side(const nlohmann::json& audits, const std::string& name) {
  if (!audits.is_object() || !audits.contains(name)) return std::nan("");
  const auto& a = audits.at(name);
  if (a.contains("FTA") && a.at("FTA").is_number()) return a.at("FTA").get<double>();
  if (a.contains("UA") && a.at("UA").is_number()) return 100.0 - a.at("UA").get<double>();
  return std::nan("");
}

nlohmann::json read_result(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IoError(detail::concat("cannot open result file '", path, "'"));
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {  // the parser's error, with file and byte
    throw FormatError(detail::concat(path, ": not valid JSON at byte ", e.byte, ": ", e.what()));
  }
}

}  // namespace unlearn
