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

TEST(Result, GoalsJudgeMatchRetrainByAvgGapAndSuppressByForgetAndRetainTestAccuracy) {
  nlohmann::json r;
  r["models"]["unlearned"] = metrics(96, 95, 88, 99);
  r["models"]["unlearned"]["metrics"]["FTA"] = 1.5;
  r["models"]["unlearned"]["metrics"]["RTA"] = 91.0;
  r["models"]["retrain"] = metrics(100, 97, 89, 100);
  r["data"]["has_test_part"] = true;
  add_avg_gaps(r);
  auto g = goal_entry(r);
  EXPECT_EQ(g["match-retrain"]["judged_by"], "avg_gap");
  EXPECT_DOUBLE_EQ(g["match-retrain"]["value"].get<double>(), 2.0);  // (4 + 2 + 1 + 1) / 4
  EXPECT_EQ(g["suppress"]["judged_by"], nlohmann::json({"FTA", "RTA"}));
  EXPECT_DOUBLE_EQ(g["suppress"]["FTA"].get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(g["suppress"]["RTA"].get<double>(), 91.0);

  // No test part (random(), id): suppress falls back to UA and RA; no retrain: no gap value.
  nlohmann::json e;
  e["models"]["model"] = metrics(96, 95, 88, 99);
  e["data"]["has_test_part"] = false;
  g = goal_entry(e);
  EXPECT_FALSE(g["match-retrain"].contains("value"));
  EXPECT_EQ(g["suppress"]["judged_by"], nlohmann::json({"UA", "RA"}));
  EXPECT_DOUBLE_EQ(g["suppress"]["UA"].get<double>(), 96.0);
  EXPECT_DOUBLE_EQ(g["suppress"]["RA"].get<double>(), 95.0);
  EXPECT_TRUE(goal_entry(nlohmann::json::object()).empty());
}

TEST(Result, ModelEntryWritesClinicalTablesBesideFlatMetrics) {
  ModelSpec spec;
  spec.arch = "mlp";
  spec.options = ArchOptions(2).in_channels(2).input_size(1).hidden_layers(0);
  spec.input.channels = 2;
  spec.input.size = 1;
  spec.input.mean = {0.0, 0.0};
  spec.input.std = {1.0, 1.0};
  spec.class_names = {"healthy", "sick"};
  const Model model = Model::create(spec);
  ModelMetrics m;
  m.metrics = {{"UA", 10.0}, {"ECE", 3.5}, {"MIA_entropy", std::nan("")}};
  m.per_class_test = {90.0, 80.0};
  m.per_class = {{90.0, 80.0, 0.95, 10}, {80.0, 90.0, 0.95, 5}};
  m.per_group["device"]["Cirrus 800"] = {85.0, std::nan(""), 12, 0};
  const auto e = model_entry("m.pt", model, m);
  EXPECT_DOUBLE_EQ(e["metrics"]["ECE"].get<double>(), 3.5);
  EXPECT_FALSE(e["metrics"].contains("MIA_entropy"));  // NaN is left out
  EXPECT_DOUBLE_EQ(e["per_class"]["sick"]["sensitivity"].get<double>(), 80.0);
  EXPECT_DOUBLE_EQ(e["per_class"]["healthy"]["auroc"].get<double>(), 0.95);
  EXPECT_EQ(e["per_class"]["sick"]["n"].get<int64_t>(), 5);
  const auto& g = e["per_group"]["device"]["Cirrus 800"];
  EXPECT_DOUBLE_EQ(g["train_acc"].get<double>(), 85.0);
  EXPECT_FALSE(g.contains("test_acc"));
  EXPECT_EQ(g["n_test"].get<int64_t>(), 0);
  for (auto it = e["metrics"].begin(); it != e["metrics"].end(); ++it) {
    EXPECT_TRUE(it.value().is_number()) << it.key();  // metrics stays flat
  }
}

}  // namespace
}  // namespace unlearn
