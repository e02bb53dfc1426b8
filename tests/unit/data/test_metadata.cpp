// Metadata table and Dataset::subset / validate.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "unlearn/core/error.h"
#include "unlearn/data/dataset.h"
#include "unlearn/data/metadata.h"

namespace unlearn {
namespace {

Metadata sample_table() {
  Metadata m = Metadata::with_ids(4, "train-", "file.idx");
  m.set(Column{"year", std::vector<int64_t>{2017, 2018, 2019, 2020}});
  m.set(Column{"score", std::vector<double>{0.5, 1.5, 2.5, 3.5}});
  m.set(Column{"device", std::vector<std::string>{"a", "b", "c", "d"}});
  return m;
}

TEST(Metadata, WithIds) {
  const Metadata m = Metadata::with_ids(3, "test-", "t10k-images-idx3-ubyte.gz");
  EXPECT_EQ(m.rows(), 3);
  EXPECT_EQ(m.column_names(), (std::vector<std::string>{"id", "source"}));
  EXPECT_EQ(m.column("id").text(0), "test-0");
  EXPECT_EQ(m.column("id").text(2), "test-2");
  EXPECT_EQ(m.column("source").text(1), "t10k-images-idx3-ubyte.gz");
  EXPECT_TRUE(m.column("id").is_string());
  EXPECT_EQ(Metadata::with_ids(0, "x-", "f").rows(), 0);
}

TEST(Metadata, SetAddsReplacesAndChecksLength) {
  Metadata m = sample_table();
  EXPECT_EQ(m.column_names(),
            (std::vector<std::string>{"id", "source", "year", "score", "device"}));
  EXPECT_TRUE(m.has("year"));
  EXPECT_FALSE(m.has("site"));
  EXPECT_TRUE(m.column("year").is_numeric());
  EXPECT_DOUBLE_EQ(m.column("year").number(3), 2020.0);
  EXPECT_DOUBLE_EQ(m.column("score").number(1), 1.5);

  m.set(Column{"year", std::vector<double>{1, 2, 3, 4}});  // replaced in place
  EXPECT_EQ(m.column_names().size(), 5u);
  EXPECT_DOUBLE_EQ(m.column("year").number(0), 1.0);

  EXPECT_THROW(m.set(Column{"site", std::vector<int64_t>{1, 2}}), InvalidArgument);
  EXPECT_THROW(m.set(Column{"", std::vector<int64_t>{1, 2, 3, 4}}), InvalidArgument);

  Metadata empty;
  empty.set(Column{"k", std::vector<int64_t>{7, 8}});
  EXPECT_EQ(empty.rows(), 2);
}

TEST(Metadata, TypedAccessAndUnknownColumn) {
  const Metadata m = sample_table();
  EXPECT_THROW(m.column("device").number(0), InvalidArgument);
  EXPECT_THROW(m.column("year").text(0), InvalidArgument);
  try {
    m.column("devce");
    FAIL() << "no exception";
  } catch (const InvalidArgument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'devce'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("id, source, year, score, device"), std::string::npos) << msg;
  }
}

TEST(Metadata, SelectReordersAndRepeats) {
  const Metadata m = sample_table();
  const Metadata s = m.select(torch::tensor({3, 0, 0}, torch::kLong));
  EXPECT_EQ(s.rows(), 3);
  EXPECT_EQ(s.column_names(), m.column_names());
  EXPECT_EQ(s.column("id").text(0), "train-3");
  EXPECT_EQ(s.column("id").text(2), "train-0");
  EXPECT_DOUBLE_EQ(s.column("year").number(0), 2020.0);
  EXPECT_DOUBLE_EQ(s.column("score").number(1), 0.5);
  EXPECT_EQ(s.column("device").text(0), "d");
  EXPECT_TRUE(std::holds_alternative<std::vector<int64_t>>(s.column("year").values));

  EXPECT_EQ(m.select(torch::empty({0}, torch::kLong)).rows(), 0);
  EXPECT_THROW(m.select(torch::tensor({4}, torch::kLong)), InvalidArgument);
  EXPECT_THROW(m.select(torch::tensor({-1}, torch::kLong)), InvalidArgument);
}

Dataset sample_dataset() {
  Dataset d;
  d.images = torch::arange(4 * 2 * 2, torch::kUInt8).reshape({4, 1, 2, 2});
  d.labels = torch::tensor({0, 1, 2, 1}, torch::kLong);
  d.class_names = {"x", "y", "z"};
  d.metadata = sample_table();
  return d;
}

TEST(Dataset, SubsetKeepsEverythingAligned) {
  const Dataset d = sample_dataset();
  const Dataset s = d.subset(torch::tensor({2, 0}, torch::kLong));
  EXPECT_EQ(s.size(), 2);
  EXPECT_EQ(s.channels(), 1);
  EXPECT_EQ(s.height(), 2);
  EXPECT_EQ(s.width(), 2);
  EXPECT_TRUE(s.images[0].equal(d.images[2]));
  EXPECT_TRUE(s.images[1].equal(d.images[0]));
  EXPECT_TRUE(s.images.is_contiguous());
  EXPECT_TRUE(s.labels.equal(torch::tensor({2, 0}, torch::kLong)));
  EXPECT_EQ(s.class_names, d.class_names);
  EXPECT_EQ(s.metadata.column("id").text(0), "train-2");
  EXPECT_EQ(s.metadata.column("device").text(1), "a");
  EXPECT_NO_THROW(s.validate("subset"));

  // The subset is a copy: writing to it leaves the original alone.
  s.images.zero_();
  EXPECT_EQ(d.images[2][0][0][0].item<int>(), 8);

  EXPECT_THROW(d.subset(torch::tensor({4}, torch::kLong)), InvalidArgument);
  EXPECT_EQ(d.subset(torch::empty({0}, torch::kLong)).size(), 0);
}

TEST(Dataset, ValidateCatchesDisagreement) {
  EXPECT_NO_THROW(sample_dataset().validate("ok"));

  Dataset wrong_labels = sample_dataset();
  wrong_labels.labels = torch::tensor({0, 1, 2}, torch::kLong);
  EXPECT_THROW(wrong_labels.validate("x"), FormatError);

  Dataset float_images = sample_dataset();
  float_images.images = float_images.images.to(torch::kFloat);
  EXPECT_THROW(float_images.validate("x"), FormatError);

  Dataset big_label = sample_dataset();
  big_label.labels = torch::tensor({0, 1, 3, 1}, torch::kLong);
  try {
    big_label.validate("where");
    FAIL() << "no exception";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("where: label 3"), std::string::npos) << e.what();
  }

  Dataset short_meta = sample_dataset();
  short_meta.metadata = Metadata::with_ids(3, "train-", "f");
  EXPECT_THROW(short_meta.validate("x"), FormatError);
}

}  // namespace
}  // namespace unlearn
