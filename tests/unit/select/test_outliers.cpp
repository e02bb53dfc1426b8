// outliers(p) and hashed patient IDs in selections.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <torch/torch.h>

#include <fstream>

#include "expect_error.h"
#include "test_util.h"
#include "unlearn/data/patient_hash.h"
#include "unlearn/select/selection.h"

namespace unlearn {
namespace {

using test::message_of;

/// Scores set by hand: features are 1-D positions, losses a given vector.
class FixedScorer : public OutlierScorer {
 public:
  FixedScorer(torch::Tensor features, torch::Tensor losses)
      : features_(std::move(features)), losses_(std::move(losses)) {}
  torch::Tensor features(const Dataset&) const override { return features_; }
  torch::Tensor losses(const Dataset&) const override { return losses_; }

 private:
  torch::Tensor features_, losses_;
};

// Two classes of five rows each (labels 0,1,0,1,...). Class 0 (rows 0,2,4,6,8) sits at
// 0,0,0,0,10 in feature space: row 8 is far from its centroid (2). Class 1 (rows 1,3,5,7,9) at
// 5,5,-4,5,5: row 5 is the outlier.
Dataset ten_rows() {
  Dataset d;
  d.images = torch::zeros({10, 1, 2, 2}, torch::kUInt8);
  d.labels = torch::arange(10, torch::kLong).remainder(2);
  d.class_names = {"a", "b"};
  d.metadata = Metadata::with_ids(10, "train-", "x");
  return d;
}

FixedScorer ten_scorer() {
  const torch::Tensor f =
      torch::tensor({0.0, 5.0, 0.0, 5.0, 0.0, -4.0, 0.0, 5.0, 10.0, 5.0}).view({10, 1});
  // By loss, the outliers are rows 2 (class 0) and 9 (class 1).
  const torch::Tensor loss = torch::tensor({0.1, 0.2, 3.0, 0.1, 0.2, 0.3, 0.1, 0.2, 0.1, 2.0});
  return FixedScorer(f, loss);
}

std::vector<int64_t> picked(const std::string& expr, const OutlierScorer& scorer) {
  const torch::Tensor idx =
      Selection::parse(expr).mask(ten_rows(), &scorer).nonzero().flatten().contiguous();
  return {idx.data_ptr<int64_t>(), idx.data_ptr<int64_t>() + idx.numel()};
}

TEST(Outliers, PicksTheFarthestShareOfEachClass) {
  const FixedScorer scorer = ten_scorer();
  EXPECT_EQ(picked("outliers(0.2)", scorer), (std::vector<int64_t>{5, 8}));
  EXPECT_EQ(picked("outliers(0.2, by=features)", scorer), (std::vector<int64_t>{5, 8}));
  EXPECT_EQ(picked("outliers(0.2, by=loss)", scorer), (std::vector<int64_t>{2, 9}));
  EXPECT_EQ(picked("outliers(0)", scorer), (std::vector<int64_t>{}));
  EXPECT_EQ(picked("outliers(0.2) and class == 'a'", scorer), (std::vector<int64_t>{8}));
  EXPECT_EQ(picked("not outliers(0.2) and index < 3", scorer), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(picked("outliers(1)", scorer).size(), 10u);
}

TEST(Outliers, NeedsAScorerAndWellFormedArguments) {
  const std::string msg =
      message_of<InvalidArgument>([] { Selection::parse("outliers(0.1)").mask(ten_rows()); });
  EXPECT_NE(msg.find("original model"), std::string::npos) << msg;
  EXPECT_TRUE(Selection::parse("outliers(0.1) or class == 1").uses_outliers());
  EXPECT_FALSE(Selection::parse("random(0.1, 3)").uses_outliers());
  for (const char* bad : {"outliers(1.5)", "outliers()", "outliers(0.1, by=size)",
                          "outliers(0.1, loss)", "outliers(0.1, by loss)", "class = 1"}) {
    EXPECT_THROW(Selection::parse(bad), InvalidArgument) << bad;
  }
  EXPECT_NE(message_of<InvalidArgument>([] { Selection::parse("class = 1"); }).find("use '=='"),
            std::string::npos);
}

TEST(PatientSelection, HashesClearIdsFromFilesAndRefusesThemInline) {
  ::setenv("UNLEARN_PATIENT_SALT", "test-salt", 1);
  Dataset d = ten_rows();
  std::vector<std::string> patients;
  for (int i = 0; i < 10; ++i) patients.push_back(patient_hash("PAT-" + std::to_string(i / 2)));
  d.metadata.set(Column{kPatientColumn, patients});

  test::TempDir dir;
  std::ofstream(dir.file("withdrawn.txt")) << "PAT-1\n# a comment\nPAT-4\n";
  const torch::Tensor mask =
      Selection::parse("patient in @" + dir.file("withdrawn.txt")).mask(d).nonzero().flatten();
  EXPECT_TRUE(torch::equal(mask, torch::tensor({2, 3, 8, 9}, torch::kLong)));

  // A hash may be written inline; a clear ID may not, as it would land in result files.
  const std::string hashed = "patient == '" + patient_hash("PAT-0") + "'";
  EXPECT_EQ(Selection::parse(hashed).mask(d).sum().item<int64_t>(), 2);
  const std::string msg =
      message_of<InvalidArgument>([&] { Selection::parse("patient == 'PAT-0'").mask(d); });
  EXPECT_NE(msg.find("@withdrawn.txt"), std::string::npos) << msg;
}

}  // namespace
}  // namespace unlearn
