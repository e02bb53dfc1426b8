#include "unlearn/report/html_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <vector>

#include "unlearn/core/atomic_file.h"
#include "unlearn/core/error.h"
#include "unlearn/core/json_text.h"
#include "unlearn/report/result.h"

namespace unlearn {

const std::string& report_js_libraries();  // generated from node_modules by CMake

namespace fs = std::filesystem;

namespace {

std::string escape_html(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

/// JSON for a <script type="application/json"> element: "<" never appears raw, so no
/// "</script" or "<!--" inside a label or path can end the element early.
std::string script_json(const nlohmann::json& j) {
  std::string text = json_text(j);
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

double entry_number(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j.at(key).is_number()
             ? j.at(key).get<double>()
             : std::numeric_limits<double>::quiet_NaN();
}

/// A table cell with its exact value in data-value (the test compares it with the JSON).
std::string value_cell(const std::string& row, const char* metric, double v, int digits) {
  if (std::isnan(v)) return "<td class=\"na\">–</td>";
  return "<td data-model=\"" + escape_html(row) + "\" data-metric=\"" + metric +
         "\" data-value=\"" + nlohmann::json(v).dump() + "\">" + format_fixed(v, digits) + "</td>";
}

/// The two goals' verdicts for one unlearned row, judged against its own result's original and
/// retrain (docs/report.md).
std::pair<std::string, std::string> verdicts(const TableRow& row, const nlohmann::json& result,
                                             const GoalTolerances& tol) {
  if (row.role == "original" || row.role == "retrain") return {"", ""};
  const auto& models = result.at("models");
  const auto mine = tradeoff_axes(row.entry.value("metrics", nlohmann::json::object()));
  std::string suppress = "not judged: needs the original and a retrain";
  if (models.contains("original") && models.contains("retrain")) {
    const auto orig = tradeoff_axes(models.at("original").value("metrics", nlohmann::json()));
    const auto re = tradeoff_axes(models.at("retrain").value("metrics", nlohmann::json()));
    const double forget_excess = mine.forget - (re.forget + tol.forget_above_retrain);
    const double keep_shortfall = (orig.keep - tol.keep_below_original) - mine.keep;
    if (std::isnan(forget_excess) || std::isnan(keep_shortfall)) {
      suppress = "not judged: a metric is missing";
    } else if (forget_excess <= 0 && keep_shortfall <= 0) {
      suppress = "met";
    } else {
      suppress = "missed:";
      if (forget_excess > 0)
        suppress += " " + mine.forget_name + " " + format_fixed(forget_excess, 2) + " too high";
      if (keep_shortfall > 0)
        suppress += " " + mine.keep_name + " " + format_fixed(keep_shortfall, 2) + " too low";
    }
  }
  std::string match = "not judged: needs a retrain";
  const double gap = entry_number(row.entry, "avg_gap");
  if (!std::isnan(gap)) {
    match = gap <= tol.avg_gap ? "met" : "missed by " + format_fixed(gap - tol.avg_gap, 2);
  }
  return {suppress, match};
}

std::string verdict_cell(const std::string& text) {
  if (text.empty()) return "<td class=\"na\">–</td>";
  const char* cls = text == "met" ? "met" : text.rfind("missed", 0) == 0 ? "missed" : "na";
  return std::string("<td class=\"") + cls + "\">" + escape_html(text) + "</td>";
}

std::string headline_table(const std::vector<ReportSource>& sources, const GoalTolerances& tol) {
  std::ostringstream h;
  h << "<table class=\"headline\"><thead><tr><th>model</th><th>UA</th><th>RA</th><th>TA</th>"
       "<th>FTA</th><th>RTA</th><th>MIA-efficacy</th><th>Avg-gap</th><th>time (s)</th>"
       "<th>goal: suppress</th><th>goal: match-retrain</th></tr></thead><tbody>\n";
  for (const auto& r : report_rows(sources)) {
    const auto& m = r.entry.value("metrics", nlohmann::json::object());
    h << "<tr data-role=\"" << r.role << "\" data-source=\"" << r.result << "\"><th>"
      << escape_html(r.name) << "</th>";
    for (const char* metric : {"UA", "RA", "TA", "FTA", "RTA", "MIA_efficacy"}) {
      h << value_cell(r.name, metric, entry_number(m, metric), 2);
    }
    h << value_cell(r.name, "avg_gap", entry_number(r.entry, "avg_gap"), 2);
    h << value_cell(
        r.name, "time_s",
        r.time_s.is_number() ? r.time_s.get<double>() : std::numeric_limits<double>::quiet_NaN(),
        1);
    const auto [suppress, match] = verdicts(r, sources[r.result].result, tol);
    h << verdict_cell(suppress) << verdict_cell(match) << "</tr>\n";
  }
  h << "</tbody></table>\n<p class=\"note\">Accuracies and MIA-efficacy in percent. Time: "
       "training time for the original and the retrain (when the run registry recorded it), "
       "unlearning time otherwise. <b>suppress</b> is met when the forget-side accuracy (FTA, or "
       "Acc(D<sub>f</sub>) = 100 − UA without a test part) is at most the retrain's plus "
    << format_fixed(tol.forget_above_retrain, 1)
    << " points and the keep-side accuracy (RTA, or RA) at least the original's minus "
    << format_fixed(tol.keep_below_original, 1)
    << " points. <b>match-retrain</b> is met when Avg-gap "
    << "is at most " << format_fixed(tol.avg_gap, 1) << " points.</p>\n";
  return h.str();
}

/// The depth audits of every row that has them: the forget side after each audit, the depth gap
/// and the audits' time. Empty when no row has audits.
std::string audit_table_html(const std::vector<ReportSource>& sources) {
  const auto rows = report_rows(sources);
  if (std::none_of(rows.begin(), rows.end(),
                   [](const TableRow& r) { return r.entry.contains("audits"); })) {
    return "";
  }
  std::ostringstream h;
  h << "<table class=\"headline\" id=\"audits\"><thead><tr><th>model</th>";
  for (const auto& [name, header] : audit_columns()) h << "<th>" << escape_html(header) << "</th>";
  h << "<th>depth gap</th><th>audit time (s)</th></tr></thead><tbody>\n";
  for (const auto& r : rows) {
    const nlohmann::json audits = r.entry.value("audits", nlohmann::json::object());
    h << "<tr data-role=\"" << r.role << "\"><th>" << escape_html(r.name) << "</th>";
    for (const auto& [name, header] : audit_columns()) {
      h << value_cell(r.name, name.c_str(), audit_forget_side(audits, name), 2);
    }
    h << value_cell(r.name, "depth_gap", entry_number(r.entry, "depth_gap"), 2)
      << value_cell(r.name, "audit_time_s", entry_number(audits, "time_s"), 1) << "</tr>\n";
  }
  h << "</tbody></table>\n<p class=\"note\">The forget side (FTA, or Acc(D<sub>f</sub>) "
       "without a test part, in percent) after each depth audit of docs/metrics.md: batch-norm "
       "statistics recomputed on D<sub>r</sub>, fine-tuning on D<sub>r</sub>, fine-tuning on 10 "
       "and 100 forget samples, and a linear probe on frozen features. Shallow forgetting comes "
       "back under them; the retrain's row is the target. The depth gap is the mean |difference| "
       "to the retrain over the audits' UA and FTA.</p>\n";
  return h.str();
}

/// key: value lines of a flat JSON object, for the provenance section.
std::string definition_list(const nlohmann::json& j) {
  std::ostringstream h;
  h << "<dl>";
  for (const auto& [k, v] : j.items()) {
    h << "<dt>" << escape_html(k) << "</dt><dd>"
      << escape_html(v.is_string() ? v.get<std::string>() : json_text(v)) << "</dd>";
  }
  h << "</dl>";
  return h.str();
}

std::string provenance_section(const std::vector<ReportSource>& sources) {
  std::ostringstream h;
  for (size_t i = 0; i < sources.size() && i < 4; ++i) {
    const auto& r = sources[i].result;
    h << "<details" << (i == 0 ? " open" : "") << "><summary>" << escape_html(sources[i].label)
      << "</summary>";
    nlohmann::json run = nlohmann::json::object();
    run["command"] = r.value("command", std::string("?"));
    const auto& env = r.value("env", nlohmann::json::object());
    for (const auto& [k, v] : env.items()) run[k] = v;
    if (r.contains("method")) run["method"] = r.at("method").value("name", std::string("?"));
    const auto data = r.value("data", nlohmann::json::object());
    for (const auto& [k, v] : data.items()) {
      if (k != "class_names") run["data." + k] = v;
    }
    const auto models = r.value("models", nlohmann::json::object());
    for (const auto& [role, e] : models.items()) {
      if (e.contains("path")) run["model." + role] = e.at("path");
    }
    h << "<h4>Run</h4>" << definition_list(run);
    if (r.contains("method") && r.at("method").contains("options")) {
      h << "<h4>Configuration</h4>" << definition_list(r.at("method").at("options"));
    }
    // The audit manifest beside the unlearned model, when it is still there.
    const std::string out = models.contains("unlearned")
                                ? models.at("unlearned").value("path", std::string())
                                : std::string();
    nlohmann::json hashes = nlohmann::json::object();
    if (!out.empty()) {
      std::ifstream in(out + ".manifest.json");
      const auto manifest = in ? nlohmann::json::parse(in, nullptr, false) : nlohmann::json();
      if (manifest.is_object()) {
        const auto files = manifest.value("files", nlohmann::json::object());
        for (const auto& [role, f] : files.items()) {
          if (f.contains("sha256")) hashes["sha256 " + role] = f.at("sha256");
        }
        const auto content = manifest.value("data", nlohmann::json::object());
        if (content.contains("content_sha256")) {
          hashes["sha256 data"] = content.at("content_sha256");
        }
        const auto forget = manifest.value("forget", nlohmann::json::object());
        for (const auto& [k, v] : forget.items()) {
          if (k != "ids") hashes["forget " + k] = v;
        }
      }
    }
    if (!hashes.empty()) {
      h << "<h4>Audit manifest (" << escape_html(out) << ".manifest.json)</h4>"
        << definition_list(hashes);
    } else {
      h << "<p class=\"note\">No audit manifest was found beside the unlearned model.</p>";
    }
    h << "</details>\n";
  }
  return h.str();
}

const char* kStyle = R"css(
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem}h3{font-size:1rem;font-weight:600;margin:1rem 0 .3rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table.headline{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:.9rem}
table.headline th,table.headline td{border:1px solid #ddd;padding:.25rem .5rem;text-align:right}
table.headline tbody th{text-align:left}
td.met{color:#176b1c;text-align:left}td.missed{color:#a11;text-align:left}td.na{color:#888;text-align:left}
.note{color:#555;font-size:.85rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;font-size:.85rem}
dt{font-weight:600}dd{margin:0;font-family:ui-monospace,monospace;word-break:break-all}
.chart{min-height:60px}
)css";

/// Reads the charts' specs from the JSON block and draws each; marks the body with the number
/// drawn so a test (or a user) can tell when the page is complete.
const char* kBootstrap = R"js(
(function () {
  var data = JSON.parse(document.getElementById('unlearn-charts').textContent);
  var jobs = data.map(function (c) {
    var el = document.getElementById(c.id);
    return vegaEmbed(el, c.spec, {renderer: 'svg', actions: false})
      .then(function () { el.setAttribute('data-rendered', 'ok'); })
      .catch(function (e) {
        el.setAttribute('data-rendered', 'error');
        el.textContent = 'This chart could not be drawn: ' + e;
        console.error('chart ' + c.id + ': ' + e);
      });
  });
  Promise.all(jobs).then(function () {
    document.body.setAttribute('data-charts-done', String(jobs.length));
  });
})();
)js";

/// A numbered section of the page: its charts, each with an id and a caption (may be empty).
struct ReportChart {
  const char* id;
  const char* caption;
  ChartSpec (*build)(const std::vector<ReportSource>&);
};
struct ReportSection {
  const char* id;
  const char* title;
  const char* intro;
  std::vector<ReportChart> charts;
};

std::string stem_label(const fs::path& file, const fs::path& root) {
  if (file.filename() == "result.json" && !root.empty()) {
    return file.parent_path().lexically_relative(root).generic_string();
  }
  return file.stem().string();
}

}  // namespace

std::vector<ReportSource> load_report_sources(const std::vector<std::string>& paths) {
  std::vector<ReportSource> out;
  for (const auto& p : paths) {
    fs::path folder;
    if (fs::is_directory(p)) {
      folder = p;
    } else {
      nlohmann::json j = read_result(p);
      if (j.is_object() && j.contains("models")) {
        out.push_back({stem_label(p, {}), std::move(j)});
        continue;
      }
      if (!(j.is_object() && (j.contains("trials") || j.contains("cells")))) {
        throw FormatError(detail::concat(p,
                                         ": not a result file (no 'models'), nor a sweep's or "
                                         "bench's summary (no 'trials' or 'cells')"));
      }
      folder = fs::path(p).parent_path();
      if (folder.empty()) folder = ".";
    }
    // A bench folder's cells, not the trials of its tuning sweeps (tune/), which are judged on
    // a validation split rather than the test set.
    const fs::path search =
        fs::exists(folder / "results.json") && fs::is_directory(folder / "cells") ? folder / "cells"
                                                                                  : folder;
    std::vector<fs::path> cells;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(search, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file() && it->path().filename() == "result.json") {
        cells.push_back(it->path());
      }
    }
    std::sort(cells.begin(), cells.end());
    UNLEARN_CHECK_AS(UsageError, !cells.empty(), "report: ", p,
                     " holds no result.json files (expected a sweep's or bench's --out folder)");
    for (const auto& c : cells) out.push_back({stem_label(c, folder), read_result(c.string())});
  }
  return out;
}

std::string render_html_report(const std::vector<ReportSource>& sources,
                               const GoalTolerances& goals) {
  UNLEARN_CHECK_AS(InvalidArgument, !sources.empty(), "report: no result files");
  static const ReportSection kSections[] = {
      {"tradeoff",
       "Trade-off",
       "Forgetting against retention for every model. The dashed line joins the unlearned models "
       "no other beats on both axes (the Pareto front); the retrained model is the target.",
       {{"tradeoff", "", tradeoff_chart}}},
      {"time",
       "Time and Avg-gap",
       "Unlearning time against the distance to the retrain, for every unlearned model; the "
       "dashed line joins those no other is both faster and closer than (the Pareto front). "
       "Crosses overran their time budget.",
       {{"time", "", time_chart}}},
      {"accuracy",
       "Accuracy per class and per subgroup",
       "Test accuracy model by model: what should stay the same is as telling as what should "
       "change.",
       {{"per-class", "Per class.", per_class_chart},
        {"per-group", "Per value of each metadata column the selection reads (device, site, ...).",
         per_group_chart}}},
      {"convergence",
       "Convergence",
       "Per outer step, from the unlearning run's trace.",
       {{"convergence", "", convergence_chart}}},
      {"membership",
       "Membership inference",
       "How the MIA-efficacy attack's feature, the true-class probability, is spread on the "
       "forget set, the retain set and the test set. After good unlearning the forget set looks "
       "like the test set, as it does for the retrained model.",
       {{"membership", "", membership_chart}}},
      {"embedding",
       "Embeddings",
       "Penultimate features of up to 300 forget and 300 retain training samples, projected on "
       "the first two principal components of the original model's features (one set of axes "
       "for both).",
       {{"embedding", "", embedding_chart}}},
  };
  nlohmann::json charts = nlohmann::json::array();
  std::ostringstream body;
  const auto& first = sources.front().result;
  body << "<h1>unlearn report</h1>\n<p class=\"note\">"
       << escape_html(first.value("command", std::string("result"))) << " · "
       << escape_html(first.value("data", nlohmann::json::object()).value("source", std::string()))
       << " · forget <code>"
       << escape_html(first.value("data", nlohmann::json::object()).value("forget", std::string()))
       << "</code> · " << sources.size() << (sources.size() == 1 ? " result" : " results")
       << "</p>\n";
  body << "<h2 id=\"headline\">1. Headline</h2>\n" << headline_table(sources, goals);
  int number = 2;
  if (const std::string audits = audit_table_html(sources); !audits.empty()) {
    body << "<h2 id=\"section-audits\">" << number++ << ". Depth audits</h2>\n" << audits;
  }
  for (const auto& s : kSections) {
    body << "<h2 id=\"section-" << s.id << "\">" << number++ << ". " << s.title << "</h2>\n"
         << "<p class=\"note\">" << s.intro << "</p>\n";
    for (const auto& c : s.charts) {
      if (*c.caption) body << "<h3>" << c.caption << "</h3>\n";
      const ChartSpec chart = c.build(sources);
      if (chart.spec.is_null()) {
        body << "<p class=\"missing\" id=\"missing-" << c.id
             << "\">Not drawn: " << escape_html(chart.missing) << ".</p>\n";
        continue;
      }
      const std::string id = std::string("chart-") + c.id;
      body << "<div class=\"chart\" id=\"" << id << "\"></div>\n";
      charts.push_back({{"id", id}, {"spec", chart.spec}});
    }
  }
  body << "<h2 id=\"section-provenance\">" << number << ". Provenance</h2>\n"
       << provenance_section(sources);

  std::ostringstream page;
  page << "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
       << "<title>unlearn report</title><style>" << kStyle << "</style></head>\n<body>\n"
       << body.str() << "<script type=\"application/json\" id=\"unlearn-charts\">"
       << script_json(charts) << "</script>\n"
       << report_js_libraries() << "<script>" << kBootstrap << "</script>\n</body></html>\n";
  return page.str();
}

void write_html_report(const std::string& path, const std::vector<ReportSource>& sources,
                       bool force, const std::string& flag) {
  write_text_atomically(path, render_html_report(sources), force, flag);
}

std::string html_path_for(const std::string& result_path) {
  fs::path p(result_path);
  if (p.extension() == ".json") return p.replace_extension(".html").string();
  return result_path + ".html";
}

}  // namespace unlearn
