#include <gtest/gtest.h>

#include "unlearn/report/result.h"

namespace unlearn {
namespace {

nlohmann::json metrics(double ua, double ra, double ta, double mia) {
  return {{"metrics", {{"UA", ua}, {"RA", ra}, {"TA", ta}, {"MIA_efficacy", mia}}}};
}

TEST(Result, AvgGapIsAddedPerModelAndAtTopLevel) {
  nlohmann::json r;
  r["models"]["original"] = metrics(2, 98, 90, 5);
  r["models"]["unlearned"] = metrics(96, 95, 88, 99);
  r["models"]["retrain"] = metrics(100, 97, 89, 100);
  add_avg_gaps(r);
  // Unlearned: (4 + 2 + 1 + 1) / 4 = 2. Original: (98 + 1 + 1 + 95) / 4 = 48.75.
  EXPECT_DOUBLE_EQ(r["avg_gap"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(r["models"]["original"]["avg_gap"].get<double>(), 48.75);
  EXPECT_FALSE(r["models"]["retrain"].contains("avg_gap"));
}

TEST(Result, TableListsOriginalAndRetrainOnceAndEachMethod) {
  nlohmann::json a, b;
  a["models"]["original"] = metrics(2, 98, 90, 5);
  a["models"]["retrain"] = metrics(100, 97, 89, 100);
  a["models"]["unlearned"] = metrics(96, 95, 88, 99);
  a["method"]["name"] = "psg";
  a["time_s"]["unlearn"] = 3.25;
  b = a;
  b["method"]["name"] = "boundary-shrink";
  const std::string table = format_table({a, b});
  EXPECT_EQ(table.find("original"), table.rfind("original"));
  EXPECT_NE(table.find("psg"), std::string::npos);
  EXPECT_NE(table.find("boundary-shrink"), std::string::npos);
  EXPECT_NE(table.find("3.2"), std::string::npos);
  EXPECT_NE(table.find("FTA"), std::string::npos);
  // FTA is absent from these results: printed as "-".
  EXPECT_NE(table.find(" - "), std::string::npos);
}

}  // namespace
}  // namespace unlearn
