#include "unlearn/report/charts.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "unlearn/metrics/pareto.h"
#include "unlearn/report/result.h"

namespace unlearn {

namespace {

constexpr const char* kVegaLiteSchema = "https://vega.github.io/schema/vega-lite/v6.json";
constexpr size_t kFeatured = 4;       // unlearned models drawn in the per-model charts
constexpr size_t kTracePoints = 300;  // per trace and metric: enough for a curve
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double number_or_nan(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j.at(key).is_number() ? j.at(key).get<double>() : kNaN;
}

/// The reference rows (original, retrain) and the first kFeatured unlearned rows.
std::vector<TableRow> featured_rows(const std::vector<ReportSource>& sources) {
  std::vector<TableRow> out;
  size_t unlearned = 0;
  for (auto& r : report_rows(sources)) {
    const bool reference = r.role == "original" || r.role == "retrain";
    if (reference || unlearned++ < kFeatured) out.push_back(std::move(r));
  }
  return out;
}

nlohmann::json sort_of(const std::vector<TableRow>& rows) {
  nlohmann::json order = nlohmann::json::array();
  for (const auto& r : rows) order.push_back(r.name);
  return order;
}

nlohmann::json base_spec(const std::string& name, nlohmann::json rows) {
  return {{"$schema", kVegaLiteSchema},
          {"datasets", {{name, std::move(rows)}}},
          {"data", {{"name", name}}},
          {"config", {{"font", "system-ui, sans-serif"}}}};
}

/// How a scatter with a Pareto front is drawn: its axes, the points' colour and their shape (a
/// category with its domain and marks), the tooltip, the field the front's line follows, and
/// the Vega expression of the points whose label is written.
struct FrontScatter {
  nlohmann::json x, y, color, tooltip;
  std::string order_field;
  std::string shape_field, shape_title;
  std::vector<std::string> shape_domain, shape_marks;
  int point_size = 90;
  std::string label_filter;
};

/// The spec of `points` (each with `on_front`): a scatter, its front joined by a dashed line.
nlohmann::json front_scatter_spec(const std::string& name, nlohmann::json points,
                                  const FrontScatter& f) {
  auto spec = base_spec(name, std::move(points));
  spec["width"] = 560;
  spec["height"] = 320;
  spec["layer"] = {
      {{"transform", {{{"filter", "datum.on_front"}}}},
       {"mark", {{"type", "line"}, {"color", "#888"}, {"strokeDash", {4, 3}}}},
       {"encoding", {{"x", f.x}, {"y", f.y}, {"order", {{"field", f.order_field}}}}}},
      {{"mark", {{"type", "point"}, {"filled", true}, {"size", f.point_size}}},
       {"encoding",
        {{"x", f.x},
         {"y", f.y},
         {"color", f.color},
         {"shape",
          {{"field", f.shape_field},
           {"type", "nominal"},
           {"title", f.shape_title},
           {"scale", {{"domain", f.shape_domain}, {"range", f.shape_marks}}}}},
         {"tooltip", f.tooltip}}}},
      {{"transform", {{{"filter", f.label_filter}}}},
       {"mark", {{"type", "text"}, {"dx", 8}, {"dy", -8}, {"align", "left"}, {"fontSize", 11}}},
       {"encoding", {{"x", f.x}, {"y", f.y}, {"text", {{"field", "label"}}}}}}};
  return spec;
}

}  // namespace

std::vector<TableRow> report_rows(const std::vector<ReportSource>& sources) {
  std::vector<nlohmann::json> results;
  std::vector<std::string> labels;
  for (const auto& s : sources) {
    results.push_back(s.result);
    labels.push_back(s.label);
  }
  return table_rows(results, labels);
}

TradeoffAxes tradeoff_axes(const nlohmann::json& metrics) {
  TradeoffAxes a;
  if (metrics.is_object() && metrics.contains("FTA") && metrics.contains("RTA")) {
    a.forget = number_or_nan(metrics, "FTA");
    a.keep = number_or_nan(metrics, "RTA");
    a.forget_name = "FTA";
    a.keep_name = "RTA";
  } else {
    a.forget = 100.0 - number_or_nan(metrics, "UA");
    a.keep = number_or_nan(metrics, "RA");
    a.forget_name = "Acc(D_f)";
    a.keep_name = "RA";
  }
  return a;
}

ChartSpec tradeoff_chart(const std::vector<ReportSource>& sources) {
  const auto rows = report_rows(sources);
  std::vector<double> forget, keep;
  std::vector<size_t> candidates;  // indices into rows of unlearned models
  nlohmann::json points = nlohmann::json::array();
  std::string forget_name, keep_name;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto a = tradeoff_axes(rows[i].entry.value("metrics", nlohmann::json::object()));
    if (std::isnan(a.forget) || std::isnan(a.keep)) continue;
    forget_name = a.forget_name;
    keep_name = a.keep_name;
    const bool reference = rows[i].role == "original" || rows[i].role == "retrain";
    if (!reference) {
      candidates.push_back(points.size());
      forget.push_back(a.forget);
      keep.push_back(a.keep);
    }
    const auto& method = sources[rows[i].result].result.value("method", nlohmann::json::object());
    points.push_back({{"label", rows[i].name},
                      {"kind", reference ? rows[i].role : "unlearned"},
                      {"method", reference ? rows[i].role : method.value("name", rows[i].role)},
                      {"forget", a.forget},
                      {"keep", a.keep},
                      {"on_front", false}});
  }
  if (candidates.empty()) return {nullptr, "no unlearned model has both accuracies"};
  for (size_t k : pareto_front(forget, keep)) points[candidates[k]]["on_front"] = true;

  FrontScatter f;
  f.x = {{"field", "forget"},
         {"type", "quantitative"},
         {"title", forget_name + " (%), lower forgets more"},
         {"scale", {{"zero", false}}},
         {"axis", {{"format", ".1f"}}}};
  f.y = {{"field", "keep"},
         {"type", "quantitative"},
         {"title", keep_name + " (%), higher keeps more"},
         {"scale", {{"zero", false}}},
         {"axis", {{"format", ".1f"}}}};
  f.color = {{"field", "method"}, {"type", "nominal"}, {"title", "model"}};
  f.tooltip = {{{"field", "label"}},
               {{"field", "forget"}, {"format", ".2f"}, {"title", forget_name}},
               {{"field", "keep"}, {"format", ".2f"}, {"title", keep_name}}};
  f.order_field = "forget";
  f.shape_field = "kind";
  f.shape_title = "kind";
  f.shape_domain = {"unlearned", "original", "retrain"};
  f.shape_marks = {"circle", "square", "cross"};
  f.point_size = 90;
  f.label_filter = "datum.kind !== 'unlearned' || datum.on_front";
  const auto spec = front_scatter_spec("tradeoff", points, f);
  return {spec, ""};
}

ChartSpec time_chart(const std::vector<ReportSource>& sources) {
  const auto rows = report_rows(sources);
  std::vector<double> time, closeness;
  nlohmann::json points = nlohmann::json::array();
  for (const auto& r : rows) {
    const double gap = number_or_nan(r.entry, "avg_gap");
    if (r.role != "unlearned" || !r.time_s.is_number() || std::isnan(gap)) continue;
    const auto& result = sources[r.result].result;
    const auto budget = result.value("time_budget", nlohmann::json::object());
    std::string kept = "no budget";
    if (budget.contains("within")) {
      kept = budget.at("within").get<bool>() ? "kept to its budget" : "over its budget";
    }
    time.push_back(std::max(r.time_s.get<double>(), 1e-3));  // a log scale has no 0
    closeness.push_back(-gap);
    points.push_back(
        {{"label", r.name},
         {"method", result.value("method", nlohmann::json::object()).value("name", r.name)},
         {"time_s", time.back()},
         {"avg_gap", gap},
         {"budget", kept},
         {"on_front", false}});
  }
  if (points.size() < 2)
    return {nullptr, "fewer than two unlearned models have a time and an Avg-gap"};
  for (size_t k : pareto_front(time, closeness)) points[k]["on_front"] = true;
  FrontScatter f;
  f.x = {{"field", "time_s"},
         {"type", "quantitative"},
         {"title", "unlearning time (s, log scale)"},
         {"scale", {{"type", "log"}}}};
  f.y = {{"field", "avg_gap"},
         {"type", "quantitative"},
         {"title", "Avg-gap to the retrain (points), lower is closer"},
         {"axis", {{"format", ".1f"}}}};
  f.color = {{"field", "method"}, {"type", "nominal"}, {"title", "method"}};
  f.tooltip = {{{"field", "label"}},
               {{"field", "time_s"}, {"format", ".2f"}, {"title", "time (s)"}},
               {{"field", "avg_gap"}, {"format", ".2f"}, {"title", "Avg-gap"}},
               {{"field", "budget"}}};
  f.order_field = "time_s";
  f.shape_field = "budget";
  f.shape_title = "time budget";
  f.shape_domain = {"no budget", "kept to its budget", "over its budget"};
  f.shape_marks = {"circle", "triangle-up", "cross"};
  f.point_size = 80;
  f.label_filter = "datum.on_front";
  const auto spec = front_scatter_spec("time", points, f);
  return {spec, ""};
}

ChartSpec per_class_chart(const std::vector<ReportSource>& sources) {
  const auto rows = featured_rows(sources);
  nlohmann::json bars = nlohmann::json::array();
  nlohmann::json classes = nlohmann::json::array();
  for (const auto& r : rows) {
    if (!r.entry.contains("per_class_test")) continue;
    for (const auto& [name, acc] : r.entry.at("per_class_test").items()) {
      if (!acc.is_number()) continue;
      bars.push_back({{"class", name}, {"model", r.name}, {"accuracy", acc}});
      if (std::find(classes.begin(), classes.end(), name) == classes.end()) classes.push_back(name);
    }
  }
  if (bars.empty()) return {nullptr, "the results hold no per-class test accuracy"};
  auto spec = base_spec("per_class", bars);
  spec["width"] = {{"step", 14}};  // per bar: with xOffset, the step is one model's bar
  spec["height"] = 240;
  spec["mark"] = {{"type", "bar"}, {"tooltip", true}};
  spec["encoding"] = {
      {"x", {{"field", "class"}, {"type", "nominal"}, {"sort", classes}, {"title", "class"}}},
      {"xOffset", {{"field", "model"}, {"sort", sort_of(rows)}}},
      {"y",
       {{"field", "accuracy"},
        {"type", "quantitative"},
        {"title", "test accuracy (%)"},
        {"scale", {{"domain", {0, 100}}}}}},
      {"color", {{"field", "model"}, {"type", "nominal"}, {"sort", sort_of(rows)}}}};
  return {spec, ""};
}

ChartSpec per_group_chart(const std::vector<ReportSource>& sources) {
  const auto rows = featured_rows(sources);
  nlohmann::json bars = nlohmann::json::array();
  for (const auto& r : rows) {
    if (!r.entry.contains("per_group")) continue;
    for (const auto& [column, groups] : r.entry.at("per_group").items()) {
      for (const auto& [value, g] : groups.items()) {
        const bool test = g.contains("test_acc");
        const double acc = number_or_nan(g, test ? "test_acc" : "train_acc");
        if (std::isnan(acc)) continue;
        bars.push_back({{"column", column},
                        {"value", value},
                        {"model", r.name},
                        {"accuracy", acc},
                        {"split", test ? "test" : "train"}});
      }
    }
  }
  if (bars.empty()) {
    return {nullptr,
            "the selection reads no metadata column (device, site, ...), so there are no "
            "subgroups"};
  }
  auto spec = base_spec("per_group", bars);
  spec["facet"] = {{"row", {{"field", "column"}, {"type", "nominal"}, {"title", nullptr}}}};
  spec["resolve"] = {{"scale", {{"x", "independent"}}}};
  spec["spec"] = {
      {"width", {{"step", 14}}},
      {"height", 200},
      {"mark", {{"type", "bar"}, {"tooltip", true}}},
      {"encoding",
       {{"x", {{"field", "value"}, {"type", "nominal"}, {"title", "subgroup"}}},
        {"xOffset", {{"field", "model"}, {"sort", sort_of(rows)}}},
        {"y",
         {{"field", "accuracy"},
          {"type", "quantitative"},
          {"title", "accuracy (%)"},
          {"scale", {{"domain", {0, 100}}}}}},
        {"color", {{"field", "model"}, {"type", "nominal"}, {"sort", sort_of(rows)}}}}}};
  return {spec, ""};
}

ChartSpec convergence_chart(const std::vector<ReportSource>& sources) {
  static const char* const kCurves[] = {"flip_rate", "forget_loss", "retain_loss", "grad_norm"};
  nlohmann::json points = nlohmann::json::array();
  std::set<std::string> present;
  size_t drawn = 0;
  for (const auto& r : report_rows(sources)) {
    if (r.role == "original" || r.role == "retrain" || drawn >= kFeatured) continue;
    const auto& trace = sources[r.result].result.value("trace", nlohmann::json::array());
    if (!trace.is_array() || trace.empty()) continue;
    ++drawn;
    const size_t stride = (trace.size() + kTracePoints - 1) / kTracePoints;
    for (size_t i = 0; i < trace.size(); i += stride) {
      for (const char* curve : kCurves) {
        const double v = number_or_nan(trace[i], curve);
        if (!std::isfinite(v)) continue;
        present.insert(curve);
        points.push_back({{"model", r.name},
                          {"step", trace[i].value("step", static_cast<int64_t>(i + 1))},
                          {"metric", curve},
                          {"value", v}});
      }
    }
  }
  if (points.empty()) return {nullptr, "no method in these results records a per-step trace"};
  nlohmann::json order = nlohmann::json::array();
  for (const char* curve : kCurves) {
    if (present.count(curve)) order.push_back(curve);
  }
  auto spec = base_spec("convergence", points);
  spec["facet"] = {
      {"row", {{"field", "metric"}, {"type", "nominal"}, {"sort", order}, {"title", nullptr}}}};
  spec["resolve"] = {{"scale", {{"y", "independent"}}}};
  spec["spec"] = {{"width", 560},
                  {"height", 110},
                  {"mark", {{"type", "line"}, {"strokeWidth", 1.5}}},
                  {"encoding",
                   {{"x", {{"field", "step"}, {"type", "quantitative"}, {"title", "outer step"}}},
                    {"y", {{"field", "value"}, {"type", "quantitative"}, {"title", nullptr}}},
                    {"color", {{"field", "model"}, {"type", "nominal"}}}}}};
  return {spec, ""};
}

ChartSpec membership_chart(const std::vector<ReportSource>& sources) {
  for (const auto& source : sources) {
    const auto& d = source.result.value("diagnostics", nlohmann::json::object());
    if (!d.contains("membership")) continue;
    const auto& m = d.at("membership");
    const int64_t bins = m.value("bins", 20);
    nlohmann::json rects = nlohmann::json::array();
    nlohmann::json models = nlohmann::json::array();
    for (const char* role : {"original", "retrain", "unlearned", "model"}) {
      if (!m.contains("roles") || !m.at("roles").contains(role)) continue;
      models.push_back(role);
      for (const auto& [set, shares] : m.at("roles").at(role).items()) {
        for (int64_t b = 0; b < bins && b < static_cast<int64_t>(shares.size()); ++b) {
          rects.push_back({{"model", role},
                           {"set", set},
                           {"lo", static_cast<double>(b) / bins},
                           {"hi", static_cast<double>(b + 1) / bins},
                           {"share", shares[b]}});
        }
      }
    }
    if (rects.empty()) break;
    auto spec = base_spec("membership", rects);
    spec["facet"] = {{"column", {{"field", "model"}, {"type", "nominal"}, {"sort", models}}}};
    spec["spec"] = {{"width", 220},
                    {"height", 200},
                    {"mark", {{"type", "rect"}, {"opacity", 0.55}, {"tooltip", true}}},
                    {"encoding",
                     {{"x",
                       {{"field", "lo"},
                        {"type", "quantitative"},
                        {"title", m.value("score", std::string("score"))},
                        {"scale", {{"domain", {0, 1}}}}}},
                      {"x2", {{"field", "hi"}}},
                      {"y",
                       {{"field", "share"},
                        {"type", "quantitative"},
                        {"title", "share of set (%)"},
                        {"stack", nullptr}}},
                      {"color",
                       {{"field", "set"},
                        {"type", "nominal"},
                        {"scale", {{"domain", {"forget", "retain", "test"}}}}}}}}};
    return {spec, ""};
  }
  return {nullptr, "the results hold no membership scores (written by forget and compose)"};
}

ChartSpec embedding_chart(const std::vector<ReportSource>& sources) {
  for (const auto& source : sources) {
    const auto& d = source.result.value("diagnostics", nlohmann::json::object());
    if (!d.contains("embedding")) continue;
    const auto& e = d.at("embedding");
    nlohmann::json dots = nlohmann::json::array();
    for (const char* stage : {"before", "after"}) {
      if (!e.contains("points") || !e.at("points").contains(stage)) continue;
      for (const auto& [set, xy] : e.at("points").at(stage).items()) {
        for (const auto& p : xy)
          dots.push_back({{"stage", stage}, {"set", set}, {"pc1", p[0]}, {"pc2", p[1]}});
      }
    }
    if (dots.empty()) break;
    const auto& explained = e.value("explained", nlohmann::json::array({0.0, 0.0}));
    auto axis_title = [&](int k) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "PC%d (%.0f%% of variance)", k + 1,
                    100.0 * explained.at(k).get<double>());
      return std::string(buf);
    };
    auto spec = base_spec("embedding", dots);
    spec["facet"] = {{"column",
                      {{"field", "stage"},
                       {"type", "nominal"},
                       {"sort", {"before", "after"}},
                       {"title", "penultimate features, before and after unlearning"}}}};
    spec["spec"] = {
        {"width", 300},
        {"height", 260},
        {"mark", {{"type", "point"}, {"filled", true}, {"opacity", 0.55}, {"size", 18}}},
        {"encoding",
         {{"x", {{"field", "pc1"}, {"type", "quantitative"}, {"title", axis_title(0)}}},
          {"y", {{"field", "pc2"}, {"type", "quantitative"}, {"title", axis_title(1)}}},
          {"color",
           {{"field", "set"},
            {"type", "nominal"},
            {"scale", {{"domain", {"forget", "retain"}}}}}}}}};
    return {spec, ""};
  }
  return {nullptr, "the results hold no feature embedding (written by forget and compose)"};
}

}  // namespace unlearn
