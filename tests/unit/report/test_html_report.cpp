#include <gtest/gtest.h>

#include <string>

#include "unlearn/core/error.h"
#include "unlearn/report/charts.h"
#include "unlearn/report/html_report.h"

namespace unlearn {
namespace {

nlohmann::json entry(double ua, double ra, double ta, double fta, double rta) {
  return {{"metrics",
           {{"UA", ua}, {"RA", ra}, {"TA", ta}, {"FTA", fta}, {"RTA", rta}, {"MIA_efficacy", 50}}}};
}

nlohmann::json result(double fta, double rta, double gap) {
  nlohmann::json r;
  r["command"] = "forget";
  r["models"]["original"] = entry(1, 99, 90, 95, 91);
  r["models"]["retrain"] = entry(100, 99, 82, 0, 91);
  r["models"]["unlearned"] = entry(90, 97, 80, fta, rta);
  r["models"]["unlearned"]["avg_gap"] = gap;
  r["avg_gap"] = gap;
  r["method"]["name"] = "psg";
  r["time_s"]["unlearn"] = 1.5;
  r["data"]["forget"] = "class == \"</script><script>alert(1)</script>\"";
  return r;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(HtmlReport, TextFromTheResultCannotEndAScriptElement) {
  const std::string page = render_html_report({{"run", result(3, 90.5, 1.0)}});
  // The libraries' three elements, the chart data and the start-up script: five of each.
  EXPECT_EQ(count(page, "<script"), 5u);
  EXPECT_EQ(count(page, "</script"), 5u);
  EXPECT_NE(page.find("&lt;/script&gt;"), std::string::npos);  // shown as text in the page
}

TEST(HtmlReport, GoalVerdictsFollowTheTolerances) {
  // suppress: FTA <= 0 + 5 and RTA >= 91 - 2; match-retrain: Avg-gap <= 2.
  const std::string met = render_html_report({{"a", result(4.9, 89.5, 1.9)}});
  EXPECT_EQ(count(met, "<td class=\"met\">met</td>"), 2u);
  const std::string missed = render_html_report({{"a", result(7, 88, 2.5)}});
  EXPECT_NE(missed.find("missed: FTA 2.00 too high RTA 1.00 too low"), std::string::npos);
  EXPECT_NE(missed.find("missed by 0.50"), std::string::npos);
  // Without a retrain neither goal is judged.
  auto alone = result(1, 95, 0);
  alone["models"].erase("retrain");
  alone["models"]["unlearned"].erase("avg_gap");
  EXPECT_NE(render_html_report({{"a", alone}}).find("not judged: needs the original and a retrain"),
            std::string::npos);
}

TEST(HtmlReport, HeadlineCellsCarryTheExactValues) {
  auto r = result(3.125, 90.5, 1.0);
  const std::string page = render_html_report({{"run", r}});
  EXPECT_NE(page.find("data-model=\"psg\" data-metric=\"FTA\" data-value=\"3.125\">3.12<"),
            std::string::npos);
  EXPECT_NE(page.find("data-metric=\"time_s\" data-value=\"1.5\">1.5<"), std::string::npos);
}

TEST(ReportCharts, TradeoffMarksTheParetoFrontAndSaysWhyAChartIsMissing) {
  const auto chart =
      tradeoff_chart({{"a", result(3, 90, 1)}, {"b", result(10, 89, 1)}, {"c", result(1, 85, 1)}});
  ASSERT_FALSE(chart.spec.is_null());
  const auto& rows = chart.spec["datasets"]["tradeoff"];
  int on_front = 0;
  for (const auto& p : rows) on_front += p["on_front"].get<bool>() ? 1 : 0;
  EXPECT_EQ(on_front, 2);  // b is beaten by a on both axes
  const auto none = convergence_chart({{"a", result(3, 90, 1)}});
  EXPECT_TRUE(none.spec.is_null());
  EXPECT_NE(none.missing.find("trace"), std::string::npos);
}

TEST(HtmlReport, PathForAResultFile) {
  EXPECT_EQ(html_path_for("runs/r.json"), "runs/r.html");
  EXPECT_EQ(html_path_for("runs/r"), "runs/r.html");
}

}  // namespace
}  // namespace unlearn
