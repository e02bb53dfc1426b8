// Image files (stb) and the folder: reader, on tiny PNG/JPEG fixtures written to a temp folder.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <variant>
#include <vector>

#include "expect_error.h"
#include "idx_test_util.h"
#include "unlearn/core/error.h"
#include "unlearn/data/folder.h"
#include "unlearn/data/image_file.h"
#include "unlearn/data/image_ops.h"
#include "unlearn/data/patient_hash.h"
#include "unlearn/select/selection.h"

namespace unlearn {
namespace {

namespace fs = std::filesystem;

using test::message_of;
using test_util::TempDir;

/// A C×H×W uint8 image whose pixels differ by channel, row, column and `seed`.
torch::Tensor pattern(int64_t channels, int64_t height, int64_t width, int64_t seed = 0) {
  const torch::Tensor c = torch::arange(channels).view({channels, 1, 1}) * 70;
  const torch::Tensor y = torch::arange(height).view({1, height, 1}) * 13;
  const torch::Tensor x = torch::arange(width).view({1, 1, width}) * 5;
  return ((c + y + x + seed * 29) % 256).to(torch::kUInt8);
}

/// A smooth RGB gradient, which JPEG keeps to within a few grey levels.
torch::Tensor gradient(int64_t size) {
  const torch::Tensor y = torch::arange(size).view({1, size, 1}) * (200 / size);
  const torch::Tensor x = torch::arange(size).view({1, 1, size}) * (100 / size);
  const torch::Tensor c = torch::tensor({20, 60, 100}).view({3, 1, 1});
  return (c + y + x).to(torch::kUInt8).contiguous();
}

/// Writes `image` as a PNG at DIR/relative, creating folders on the way.
std::string put_png(const TempDir& dir, const std::string& relative, const torch::Tensor& image) {
  const fs::path path = fs::path(dir.path()) / relative;
  fs::create_directories(path.parent_path());
  write_png(path.string(), image);
  return path.string();
}

void put_text(const TempDir& dir, const std::string& relative, const std::string& text) {
  const fs::path path = fs::path(dir.path()) / relative;
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

/// Expects `f` to throw E whose message contains every one of `needles`.
template <typename E, typename F>
void expect_error(F&& f, const std::vector<std::string>& needles) {
  const std::string msg = message_of<E>(std::forward<F>(f));
  for (const auto& needle : needles) {
    EXPECT_NE(msg.find(needle), std::string::npos)
        << "message: " << msg << "\nexpected: " << needle;
  }
}

std::vector<std::string> texts(const Dataset& d, const std::string& column) {
  return std::get<std::vector<std::string>>(d.metadata.column(column).values);
}

// ---- Image files -------------------------------------------------------------------------------

TEST(ImageFile, PngRoundTripGreyAndRgb) {
  TempDir dir;
  for (const int64_t channels : {1, 3}) {
    const torch::Tensor image = pattern(channels, 5, 7);
    const std::string path = dir.file("c" + std::to_string(channels) + ".png");
    write_png(path, image);
    const torch::Tensor back = read_image_file(path);
    EXPECT_EQ(back.sizes(), image.sizes());
    EXPECT_EQ(back.scalar_type(), torch::kUInt8);
    EXPECT_TRUE(back.equal(image)) << channels;
    const ImageInfo info = read_image_info(path);
    EXPECT_EQ(info.channels, channels);
    EXPECT_EQ(info.height, 5);
    EXPECT_EQ(info.width, 7);
  }
}

TEST(ImageFile, AlphaIsDropped) {
  TempDir dir;
  const torch::Tensor rgba = pattern(4, 3, 4);
  write_png(dir.file("rgba.png"), rgba);
  EXPECT_TRUE(read_image_file(dir.file("rgba.png")).equal(rgba.narrow(0, 0, 3)));
  const torch::Tensor grey_alpha = pattern(2, 3, 4);
  write_png(dir.file("ga.png"), grey_alpha);
  EXPECT_EQ(read_image_info(dir.file("ga.png")).channels, 2);
  EXPECT_TRUE(read_image_file(dir.file("ga.png")).equal(grey_alpha.narrow(0, 0, 1)));
}

TEST(ImageFile, JpegDecodesApproximately) {
  TempDir dir;
  const torch::Tensor image = gradient(16);
  write_jpeg(dir.file("g.jpg"), image, 95);
  const torch::Tensor back = read_image_file(dir.file("g.jpg"));
  ASSERT_EQ(back.sizes(), image.sizes());
  const auto mean_error =
      (back.to(torch::kFloat) - image.to(torch::kFloat)).abs().mean().item<double>();
  EXPECT_LT(mean_error, 3.0);
  // stb's JPEG writer always stores three components, so grey comes back as three equal planes.
  const torch::Tensor grey = image.narrow(0, 0, 1).contiguous();
  write_jpeg(dir.file("grey.jpg"), grey, 95);
  const torch::Tensor grey_back = read_image_file(dir.file("grey.jpg")).to(torch::kFloat);
  ASSERT_EQ(grey_back.sizes(), torch::IntArrayRef({3, 16, 16}));
  EXPECT_LT((grey_back - grey.to(torch::kFloat)).abs().mean().item<double>(), 3.0);
}

TEST(ImageFile, UndecodableFileIsFormatErrorWithReason) {
  TempDir dir;
  put_text(dir, "bad.png", "this is not a PNG file at all");
  expect_error<FormatError>([&] { read_image_file(dir.file("bad.png")); },
                            {"read_image_file", dir.file("bad.png"), "not a decodable image"});
  put_text(dir, "empty.png", "");
  expect_error<FormatError>([&] { read_image_file(dir.file("empty.png")); },
                            {dir.file("empty.png"), "empty file"});
  // A PNG cut in half: the header is fine, the pixels are not.
  write_png(dir.file("whole.png"), pattern(3, 32, 32));
  const std::vector<uint8_t> bytes = test_util::read_bytes(dir.file("whole.png"));
  const auto half = static_cast<std::ptrdiff_t>(bytes.size() / 2);
  test_util::write_bytes(dir.file("cut.png"),
                         std::vector<uint8_t>(bytes.begin(), bytes.begin() + half));
  EXPECT_EQ(read_image_info(dir.file("cut.png")).height, 32);
  expect_error<FormatError>([&] { read_image_file(dir.file("cut.png")); },
                            {dir.file("cut.png"), "not a decodable image"});
}

TEST(ImageFile, UnreadableFileIsIoError) {
  TempDir dir;
  expect_error<IoError>([&] { read_image_file(dir.file("missing.png")); },
                        {"read_image_file", dir.file("missing.png"), "cannot open"});
  expect_error<IoError>([&] { read_image_info(dir.path()); }, {"it is a directory"});
}

TEST(ImageFile, ReadIntoConvertsAndResizes) {
  TempDir dir;
  const torch::Tensor grey = pattern(1, 4, 4);
  write_png(dir.file("grey.png"), grey);
  torch::Tensor out = torch::empty({3, 4, 4}, torch::kUInt8);
  read_image_into(dir.file("grey.png"), 3, 4, out.data_ptr<uint8_t>());
  EXPECT_TRUE(out.equal(grey.expand({3, 4, 4})));

  const torch::Tensor rgb = pattern(3, 8, 6);
  write_png(dir.file("rgb.png"), rgb);
  out = torch::empty({1, 4, 4}, torch::kUInt8);
  read_image_into(dir.file("rgb.png"), 1, 4, out.data_ptr<uint8_t>());
  EXPECT_TRUE(out.equal(resize_square(to_channels(rgb, 1), 4)));

  out = torch::empty({3, 5, 5}, torch::kUInt8);
  read_image_into(dir.file("rgb.png"), 3, 5, out.data_ptr<uint8_t>());
  EXPECT_TRUE(out.equal(resize_square(rgb, 5)));
  test::expect_invalid([&] { read_image_into(dir.file("rgb.png"), 2, 5, out.data_ptr<uint8_t>()); },
                       "channels must be 1 or 3");
}

TEST(ImageFile, WriteErrors) {
  TempDir dir;
  expect_error<IoError>([&] { write_png(dir.file("no/such/folder/x.png"), pattern(1, 2, 2)); },
                        {"write_png", "no/such/folder"});
  test::expect_invalid([&] { write_png(dir.file("f.png"), pattern(1, 2, 2).to(torch::kFloat)); },
                       "uint8");
  test::expect_invalid([&] { write_png(dir.file("f.png"), pattern(5, 2, 2)); }, "channels");
  test::expect_invalid([&] { write_jpeg(dir.file("f.jpg"), pattern(4, 2, 2)); }, "channels");
  test::expect_invalid(
      [&] {
        write_png(dir.file("f.png"), torch::zeros({2, 2}, torch::kUInt8));
      },
      "C×H×W");
  EXPECT_FALSE(fs::exists(dir.file("f.png")));
}

// ---- Class subfolders --------------------------------------------------------------------------

TEST(FolderClasses, ReadsTrainTestAndVal) {
  TempDir dir;
  put_png(dir, "train/dog/b.png", pattern(1, 6, 6, 1));
  put_png(dir, "train/dog/a.png", pattern(1, 6, 6, 2));
  put_png(dir, "train/cat/x.png", pattern(1, 6, 6, 3));
  put_png(dir, "train/cat/more/y.png", pattern(1, 6, 6, 4));
  fs::create_directories(fs::path(dir.path()) / "train" / "emu");  // a class with no samples
  put_png(dir, "test/dog/t.png", pattern(1, 6, 6, 5));
  put_png(dir, "val/cat/v.png", pattern(1, 6, 6, 6));
  put_text(dir, "train/cat/.DS_Store", "hidden files are skipped");
  put_text(dir, "README.txt", "files beside the split folders are ignored");

  const DataBundle b = read_folder(dir.path());
  EXPECT_EQ(b.source, dir.path());
  EXPECT_EQ(b.train.class_names, (std::vector<std::string>{"cat", "dog", "emu"}));
  ASSERT_EQ(b.train.size(), 4);
  EXPECT_EQ(b.train.images.sizes(), torch::IntArrayRef({4, 1, 6, 6}));
  EXPECT_TRUE(b.train.images.is_contiguous());
  EXPECT_EQ(texts(b.train, "id"),
            (std::vector<std::string>{"train/cat/more/y.png", "train/cat/x.png", "train/dog/a.png",
                                      "train/dog/b.png"}));
  EXPECT_TRUE(b.train.labels.equal(torch::tensor({0, 0, 1, 1}, torch::kLong)));
  EXPECT_EQ(texts(b.train, "source")[2], dir.file("train/dog/a.png"));
  EXPECT_TRUE(b.train.images[2].equal(pattern(1, 6, 6, 2)));
  EXPECT_TRUE(b.train.images[0].equal(pattern(1, 6, 6, 4)));

  ASSERT_EQ(b.test.size(), 1);
  EXPECT_EQ(b.test.class_names, b.train.class_names);
  EXPECT_EQ(b.test.labels[0].item<int64_t>(), 1);
  EXPECT_EQ(texts(b.test, "id")[0], "test/dog/t.png");
  ASSERT_EQ(b.validation.size(), 1);
  EXPECT_EQ(b.validation.labels[0].item<int64_t>(), 0);
  EXPECT_TRUE(b.validation.images[0].equal(pattern(1, 6, 6, 6)));
}

TEST(FolderClasses, NoValidationFolderLeavesItEmpty) {
  TempDir dir;
  put_png(dir, "train/a/1.png", pattern(3, 4, 4));
  put_png(dir, "test/a/2.jpeg", pattern(3, 4, 4));
  const DataBundle b = read_folder(dir.path(), DataOptions{});
  EXPECT_EQ(b.validation.size(), 0);
  EXPECT_EQ(b.train.channels(), 3);
}

TEST(FolderClasses, TestClassMissingFromTrain) {
  TempDir dir;
  put_png(dir, "train/cat/1.png", pattern(1, 4, 4));
  put_png(dir, "test/zebra/2.png", pattern(1, 4, 4));
  expect_error<FormatError>([&] { read_folder(dir.path()); },
                            {"class 'zebra'", "test/zebra", "the classes are: cat"});
}

TEST(FolderClasses, LayoutErrors) {
  TempDir dir;
  put_png(dir, "train/cat/1.png", pattern(1, 4, 4));
  expect_error<FormatError>([&] { read_folder(dir.path()); }, {"no test/ folder", "labels.csv"});
  put_png(dir, "test/cat/2.png", pattern(1, 4, 4));
  put_text(dir, "test/cat/notes.tif", "x");
  expect_error<FormatError>([&] { read_folder(dir.path()); },
                            {"notes.tif", "not a .png, .jpg or .jpeg file"});
  fs::remove(dir.file("test/cat/notes.tif"));
  put_png(dir, "test/loose.png", pattern(1, 4, 4));
  expect_error<FormatError>([&] { read_folder(dir.path()); },
                            {"loose.png", "subfolder named after their class"});

  TempDir empty;
  expect_error<FormatError>([&] { read_folder(empty.path()); },
                            {"neither labels.csv nor a train/ folder", "DIR/train/<class>"});
  expect_error<IoError>([&] { read_folder(empty.file("nowhere")); }, {"no such file or folder"});
}

// ---- CSV sample sheets -------------------------------------------------------------------------

/// Five 4×4 grey images with metadata columns, patient IDs and all three splits.
void write_clinical_sheet(const TempDir& dir) {
  for (int i = 0; i < 5; ++i)
    put_png(dir, "img/" + std::to_string(i) + ".png", pattern(1, 4, 4, i));
  put_text(dir, "labels.csv",
           "path,label,split,device,site,year,PatientID\n"
           "img/0.png,1,train,A,north,2017,MRN-0001\n"
           "img/1.png,0,train,B,south,2018,MRN-0002\n"
           "img/2.png,1,train,B,north,2020,MRN-0001\n"
           "img/3.png,0,test,B,south,2018,MRN-0003\n"
           "img/4.png,1,val,A,north,2019,\n");
}

TEST(FolderSheet, MetadataColumnsAreTyped) {
  TempDir dir;
  write_clinical_sheet(dir);
  ::setenv("UNLEARN_PATIENT_SALT", "unit-test-salt", 1);
  const DataBundle b = read_folder(dir.path());
  ASSERT_EQ(b.train.size(), 3);
  ASSERT_EQ(b.test.size(), 1);
  ASSERT_EQ(b.validation.size(), 1);
  EXPECT_EQ(b.train.class_names, (std::vector<std::string>{"0", "1"}));
  EXPECT_TRUE(b.train.labels.equal(torch::tensor({1, 0, 1}, torch::kLong)));
  EXPECT_EQ(texts(b.train, "id"),
            (std::vector<std::string>{"img/0.png", "img/1.png", "img/2.png"}));
  EXPECT_EQ(texts(b.test, "source")[0], (fs::path(dir.path()) / "img/3.png").string());
  EXPECT_TRUE(b.train.images[2].equal(pattern(1, 4, 4, 2)));
  EXPECT_TRUE(b.validation.images[0].equal(pattern(1, 4, 4, 4)));

  EXPECT_EQ(b.train.metadata.column_names(),
            (std::vector<std::string>{"id", "source", "device", "site", "year", kPatientColumn}));
  EXPECT_EQ(texts(b.train, "device"), (std::vector<std::string>{"A", "B", "B"}));
  EXPECT_EQ(texts(b.test, "site"), (std::vector<std::string>{"south"}));
  const Column& year = b.train.metadata.column("year");
  ASSERT_TRUE(std::holds_alternative<std::vector<int64_t>>(year.values));
  EXPECT_EQ(std::get<std::vector<int64_t>>(year.values), (std::vector<int64_t>{2017, 2018, 2020}));
  EXPECT_DOUBLE_EQ(b.validation.metadata.column("year").number(0), 2019);

  // device == 'B' and year < 2019: train row 1 only; test row 0.
  const Selection sel = Selection::parse("device == 'B' and year < 2019");
  EXPECT_TRUE(sel.mask(b.train).equal(torch::tensor({false, true, false})));
  EXPECT_TRUE(sel.mask(b.test).equal(torch::tensor({true})));
}

TEST(FolderSheet, PatientIdsAreOnlyKeptHashed) {
  TempDir dir;
  write_clinical_sheet(dir);
  ::setenv("UNLEARN_PATIENT_SALT", "unit-test-salt", 1);
  const DataBundle b = read_folder(dir.path());
  EXPECT_FALSE(b.train.metadata.has("PatientID"));
  EXPECT_EQ(texts(b.train, kPatientColumn),
            (std::vector<std::string>{patient_hash("MRN-0001"), patient_hash("MRN-0002"),
                                      patient_hash("MRN-0001")}));
  EXPECT_EQ(texts(b.test, kPatientColumn)[0], patient_hash("MRN-0003"));
  EXPECT_EQ(texts(b.validation, kPatientColumn)[0], "");  // no patient recorded
  for (const Dataset* part : {&b.train, &b.test, &b.validation}) {
    for (const Column& column : part->metadata.columns()) {
      if (!column.is_string()) continue;
      for (const std::string& value : std::get<std::vector<std::string>>(column.values)) {
        EXPECT_EQ(value.find("MRN"), std::string::npos) << column.name << ": " << value;
      }
    }
  }
  // A patient's samples are selectable by the hash.
  const Selection sel = Selection::parse("patient == '" + patient_hash("MRN-0001") + "'");
  EXPECT_TRUE(sel.mask(b.train).equal(torch::tensor({true, false, true})));
}

TEST(FolderSheet, MixedSizesAndColoursBecomeOneShape) {
  TempDir dir;
  const torch::Tensor grey = pattern(1, 8, 8, 1);
  const torch::Tensor small_rgb = pattern(3, 4, 4, 2);
  const torch::Tensor wide_grey = pattern(1, 6, 10, 3);
  put_png(dir, "a.png", grey);
  put_png(dir, "b.png", small_rgb);
  put_png(dir, "c.png", wide_grey);
  put_text(dir, "sheet.csv",
           "split,path,label\n"
           "train,a.png,cat\n"
           "train,b.png,dog\n"
           "test,c.png,cat\n");
  // A .csv file names the sheet directly; sizes default to the first training image's (8).
  DataBundle b = read_folder(dir.file("sheet.csv"));
  EXPECT_EQ(b.train.class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_TRUE(b.train.labels.equal(torch::tensor({0, 1}, torch::kLong)));
  EXPECT_EQ(b.train.images.sizes(), torch::IntArrayRef({2, 3, 8, 8}));
  EXPECT_EQ(b.test.images.sizes(), torch::IntArrayRef({1, 3, 8, 8}));
  EXPECT_TRUE(b.train.images[0].equal(grey.expand({3, 8, 8})));
  EXPECT_TRUE(b.train.images[1].equal(resize_square(small_rgb, 8)));
  EXPECT_TRUE(b.test.images[0].equal(resize_square(to_channels(wide_grey, 3), 8)));

  DataOptions options;
  options.image_size = 4;
  b = read_folder(dir.file("sheet.csv"), options);
  EXPECT_EQ(b.train.images.sizes(), torch::IntArrayRef({2, 3, 4, 4}));
  EXPECT_TRUE(b.train.images[1].equal(small_rgb));
}

TEST(FolderSheet, JpegImagesDecodeApproximately) {
  TempDir dir;
  const torch::Tensor image = gradient(16);
  write_jpeg(dir.file("g.jpg"), image, 95);
  write_jpeg(dir.file("h.jpg"), image, 95);
  put_text(dir, "labels.csv",
           "path,label,split\ng.jpg,0,train\n" + dir.file("h.jpg") + ",0,test\n");
  const DataBundle b = read_folder(dir.path());
  ASSERT_EQ(b.train.images.sizes(), torch::IntArrayRef({1, 3, 16, 16}));
  const auto mean_error =
      (b.train.images[0].to(torch::kFloat) - image.to(torch::kFloat)).abs().mean().item<double>();
  EXPECT_LT(mean_error, 3.0);
  EXPECT_EQ(texts(b.test, "id")[0], dir.file("h.jpg"));  // an absolute path, as written
}

TEST(FolderSheet, ClassesFileNamesTheClasses) {
  TempDir dir;
  for (int i = 0; i < 3; ++i) put_png(dir, std::to_string(i) + ".png", pattern(1, 4, 4, i));
  put_text(dir, "classes.txt", "normal\n\nbenign\r\nmalignant\n");
  put_text(dir, "labels.csv",
           "path,label,split\n0.png,malignant,train\n1.png,0,train\n2.png,benign,test\n");
  const DataBundle b = read_folder(dir.path());
  EXPECT_EQ(b.train.class_names, (std::vector<std::string>{"normal", "benign", "malignant"}));
  EXPECT_TRUE(b.train.labels.equal(torch::tensor({2, 0}, torch::kLong)));
  EXPECT_EQ(b.test.labels[0].item<int64_t>(), 1);

  put_text(dir, "labels.csv", "path,label,split\n0.png,normal,train\n1.png,cyst,test\n");
  expect_error<FormatError>([&] { read_folder(dir.path()); },
                            {"labels.csv:3", "unknown class 'cyst'", "normal, benign, malignant"});
  put_text(dir, "labels.csv", "path,label,split\n0.png,normal,train\n1.png,3,test\n");
  expect_error<FormatError>([&] { read_folder(dir.path()); },
                            {"labels.csv:3", "label 3 is out of range for the 3 classes"});
}

/// A folder with two good images and a sheet whose line 3 is `row3`.
void write_sheet_with_row(const TempDir& dir, const std::string& row3) {
  put_png(dir, "a.png", pattern(1, 4, 4));
  put_png(dir, "b.png", pattern(1, 4, 4));
  put_text(dir, "labels.csv", "path,label,split,site\na.png,0,train,x\n" + row3 + "\n");
}

TEST(FolderSheet, RowErrorsNameTheSheetAndLine) {
  TempDir dir;
  const std::string sheet = dir.file("labels.csv");
  write_sheet_with_row(dir, "b.png,1,test");
  expect_error<FormatError>([&] { read_folder(dir.path()); },
                            {sheet + ":3", "missing column 'site'"});
  write_sheet_with_row(dir, "gone.png,1,test,y");
  expect_error<FormatError>([&] { read_folder(dir.path()); }, {sheet + ":3: no file gone.png"});
  write_sheet_with_row(dir, "b.png,1,tst,y");
  expect_error<FormatError>([&] { read_folder(dir.path()); },
                            {sheet + ":3", "split 'tst' is not train, test or val"});
  write_sheet_with_row(dir, "b.png,-1,test,y");
  expect_error<FormatError>([&] { read_folder(dir.path()); }, {sheet + ":3", "negative label -1"});
  write_sheet_with_row(dir, "a.png,1,test,y");
  expect_error<FormatError>([&] { read_folder(dir.path()); },
                            {sheet + ":3", "a.png is already listed on line 2"});
  write_sheet_with_row(dir, "b.png,,test,y");
  expect_error<FormatError>([&] { read_folder(dir.path()); }, {sheet + ":3", "empty label"});
  write_sheet_with_row(dir, "b.png,1,train,y");
  expect_error<FormatError>([&] { read_folder(dir.path()); }, {"no row has split test"});
}

TEST(FolderSheet, UndecodableImageNamesTheSheetLineAndFile) {
  TempDir dir;
  write_sheet_with_row(dir, "broken.png,1,test,y");
  put_text(dir, "broken.png", "not an image");
  expect_error<FormatError>(
      [&] { read_folder(dir.path()); },
      {dir.file("labels.csv") + ":3", dir.file("broken.png"), "not a decodable image"});
}

TEST(FolderSheet, MissingSplitColumnExplainsBothLayouts) {
  TempDir dir;
  put_png(dir, "a.png", pattern(1, 4, 4));
  put_text(dir, "labels.csv", "path,label\na.png,0\n");
  expect_error<FormatError>([&] { read_folder(dir.path()); },
                            {"labels.csv", "no column 'split'", "train, test or val",
                             "DIR/train/<class>/", "the columns are: path, label"});
}

TEST(FolderSheet, ReservedAndDuplicatePatientColumns) {
  TempDir dir;
  write_sheet_with_row(dir, "b.png,1,test,y");
  put_text(dir, "labels.csv", "path,label,split,id\na.png,0,train,7\nb.png,0,test,8\n");
  expect_error<FormatError>([&] { read_folder(dir.path()); }, {"column 'id'", "rename it"});
  put_text(dir, "labels.csv",
           "path,label,split,PatientID,patient_id\na.png,0,train,p,p\nb.png,0,test,q,q\n");
  expect_error<FormatError>([&] { read_folder(dir.path()); },
                            {"'PatientID' and 'patient_id' both hold patient IDs"});
}

TEST(FolderSheet, BadOptionsAndSpecs) {
  TempDir dir;
  write_sheet_with_row(dir, "b.png,1,test,y");
  DataOptions options;
  options.image_size = -1;
  test::expect_invalid([&] { read_folder(dir.path(), options); }, "image size must be >= 0");
  test::expect_invalid([&] { read_folder(dir.file("a.png")); }, "not a .csv sample sheet");
}

TEST(FolderSheet, ManyFilesDecodeInOrder) {
  // Enough files to spread over several threads; each must land in its own row.
  TempDir dir;
  std::string sheet = "path,label,split\n";
  for (int i = 0; i < 200; ++i) {
    const std::string name = "f" + std::to_string(i) + ".png";
    put_png(dir, name, pattern(1, 5, 5, i));
    sheet += name + "," + std::to_string(i % 7) + "," + (i % 4 == 0 ? "test" : "train") + "\n";
  }
  put_text(dir, "labels.csv", sheet);
  const DataBundle b = read_folder(dir.path());
  ASSERT_EQ(b.train.size(), 150);
  ASSERT_EQ(b.test.size(), 50);
  EXPECT_EQ(b.train.num_classes(), 7);
  for (int64_t k = 0; k < b.test.size(); ++k) {
    EXPECT_TRUE(b.test.images[k].equal(pattern(1, 5, 5, 4 * k))) << k;
    EXPECT_EQ(b.test.labels[k].item<int64_t>(), (4 * k) % 7);
  }
}

}  // namespace
}  // namespace unlearn
