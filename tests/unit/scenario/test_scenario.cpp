// Virtual devices, injected variants, and scenario folders read back through the readers.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <torch/torch.h>

#include <filesystem>

#include "expect_error.h"
#include "test_util.h"
#include "unlearn/core/observer.h"
#include "unlearn/data/dicom.h"
#include "unlearn/data/folder.h"
#include "unlearn/data/patient_hash.h"
#include "unlearn/scenario/device_shift.h"
#include "unlearn/scenario/variants.h"
#include "unlearn/scenario/writer.h"
#include "unlearn/select/selection.h"

namespace unlearn {
namespace {

/// Smooth 28×28 grey images with a bright disc, so that blur and noise are measurable.
torch::Tensor discs(int64_t n) {
  const torch::Tensor ys = torch::arange(28, torch::kFloat32).view({28, 1}) - 13.5;
  const torch::Tensor xs = torch::arange(28, torch::kFloat32).view({1, 28}) - 13.5;
  const torch::Tensor disc = (ys * ys + xs * xs).lt(64).to(torch::kFloat32) * 200 + 20;
  return disc.to(torch::kUInt8).expand({n, 1, 28, 28}).contiguous();
}

Dataset small_dataset(int64_t n, const std::string& prefix) {
  Dataset d;
  d.images = discs(n);
  d.labels = torch::arange(n, torch::kLong).remainder(2);
  d.class_names = {"round", "square"};
  d.metadata = Metadata::with_ids(n, prefix, "memory");
  return d;
}

TEST(DeviceShift, ProfilesRunFromOldToNew) {
  const auto fleet = make_device_profiles(3, 2, 0);
  ASSERT_EQ(fleet.size(), 3u);
  EXPECT_EQ(fleet[0].name, "A");
  EXPECT_EQ(fleet[2].name, "C");
  EXPECT_EQ(fleet[0].site, "site-1");
  EXPECT_EQ(fleet[1].site, "site-2");
  EXPECT_GT(fleet[0].blur_sigma, fleet[2].blur_sigma);
  EXPECT_LT(fleet[0].snr_db, fleet[2].snr_db);
  EXPECT_LT(fleet[0].last_year, fleet[2].first_year);
  EXPECT_NE(fleet[0].marker_corner, fleet[1].marker_corner);
  EXPECT_THROW(make_device_profiles(27, 1, 0), InvalidArgument);
}

TEST(DeviceShift, RendersDeterministicallyWithTheDevicesNoiseAndMarker) {
  const auto fleet = make_device_profiles(3, 1, 0);
  const torch::Tensor clean = discs(64);
  const torch::Tensor old_a = render_device(clean, fleet[0], 5);
  EXPECT_TRUE(torch::equal(old_a, render_device(clean, fleet[0], 5)));
  EXPECT_FALSE(torch::equal(old_a, render_device(clean, fleet[0], 6)));
  EXPECT_EQ(old_a.sizes(), clean.sizes());

  // The old device is noisier: pixel variance inside the flat disc centre is larger.
  const torch::Tensor new_c = render_device(clean, fleet[2], 5);
  auto centre_std = [](const torch::Tensor& x) {
    return x.to(torch::kFloat32).narrow(2, 11, 6).narrow(3, 11, 6).std().item<double>();
  };
  EXPECT_GT(centre_std(old_a), 2 * centre_std(new_c));

  // Each device stamps its marker in its own corner: device A top-left, device B top-right.
  const torch::Tensor top_left = old_a.narrow(2, 1, 3).narrow(3, 1, 3);
  EXPECT_TRUE(top_left.select(2, 0).eq(255).all().item<bool>());  // the marker's white frame
  const torch::Tensor new_b = render_device(clean, fleet[1], 5);
  EXPECT_TRUE(new_b.narrow(2, 1, 1).narrow(3, 24, 3).eq(255).all().item<bool>());
}

TEST(DeviceShift, AssignmentIsIndependentOrTiedToTheLabel) {
  const torch::Tensor labels = torch::arange(3000, torch::kLong).remainder(10);
  const torch::Tensor tied = assign_devices(labels, 3, 1.0, 1);
  EXPECT_TRUE(torch::equal(tied, labels.remainder(3)));
  const torch::Tensor free = assign_devices(labels, 3, 0.0, 1);
  const torch::Tensor counts = torch::bincount(free, {}, 3).to(torch::kDouble);
  EXPECT_LT((counts / 1000 - 1).abs().max().item<double>(), 0.1);
  // Half-tied: about half the rows follow the label, plus a third of the rest by chance.
  const double agree = assign_devices(labels, 3, 0.5, 1)
                           .eq(labels.remainder(3))
                           .to(torch::kDouble)
                           .mean()
                           .item<double>();
  EXPECT_NEAR(agree, 0.5 + 0.5 / 3, 0.05);
}

TEST(Variants, MarkTheGivenShareOfEachClass) {
  Dataset d = small_dataset(100, "train-");
  const Dataset marked = inject_variants(d, 0.1, 3);
  const Column& variant = marked.metadata.column("variant");
  int64_t changed = 0;
  int64_t flips = 0;
  for (int64_t i = 0; i < 100; ++i) {
    const bool is_variant = variant.text(i) != "none";
    changed += is_variant;
    if (variant.text(i) == "flip") {
      ++flips;
      EXPECT_TRUE(torch::equal(marked.images[i], d.images[i].flip({1, 2})));
    }
    if (!is_variant) {
      EXPECT_TRUE(torch::equal(marked.images[i], d.images[i]));
    }
  }
  EXPECT_EQ(changed, 10);  // 5 per class
  EXPECT_EQ(flips, 4);     // dealt flip, crop, occlude, flip, crop per class
  EXPECT_TRUE(torch::equal(marked.labels, d.labels));
  EXPECT_THROW(apply_variant(d.images[0], "mirror", 0), InvalidArgument);
}

TEST(ScenarioFolder, PngAndDicomReadBackAlike) {
  ::setenv("UNLEARN_PATIENT_SALT", "scenario-test", 1);
  test::TempDir dir;
  DataBundle bundle;
  bundle.train = small_dataset(12, "train-");
  bundle.test = small_dataset(6, "test-");
  const auto fleet = make_device_profiles(3, 2, 0);
  for (Dataset* part : {&bundle.train, &bundle.test}) {
    const torch::Tensor device = torch::arange(part->size(), torch::kLong).remainder(3);
    std::vector<std::string> names, patients;
    for (int64_t i = 0; i < part->size(); ++i) {
      names.push_back(fleet[static_cast<size_t>(device[i].item<int64_t>())].name);
      patients.push_back("PAT-" + std::to_string(i / 2));
    }
    part->metadata.set(Column{"device", names});
    part->metadata.set(
        Column{"year", std::vector<int64_t>(static_cast<size_t>(part->size()), 2015)});
    part->metadata.set(Column{"PatientID", patients});
  }
  NullObserver quiet;
  ImageFolderOptions png;
  write_image_folder(bundle, dir.file("png"), png, quiet);
  ImageFolderOptions dicom;
  dicom.format = "dicom";
  dicom.dicom_tags = {{"device", "ManufacturerModelName"}, {"PatientID", "PatientID"}};
  dicom.year_column = "year";
  write_image_folder(bundle, dir.file("dcm"), dicom, quiet);

  const DataBundle from_png = read_folder(dir.file("png"));
  const DataBundle from_dcm = read_dicom_dir(dir.file("dcm"));
  for (const auto* pair : {&from_png, &from_dcm}) {
    EXPECT_TRUE(torch::equal(pair->train.images, bundle.train.images));
    EXPECT_TRUE(torch::equal(pair->test.labels, bundle.test.labels));
    EXPECT_EQ(pair->train.class_names, bundle.train.class_names);
  }
  const torch::Tensor by_csv = Selection::parse("device == 'C'").mask(from_png.train);
  const torch::Tensor by_tag =
      Selection::parse("ManufacturerModelName == 'C'").mask(from_dcm.train);
  EXPECT_TRUE(torch::equal(by_csv, by_tag));
  EXPECT_EQ(by_csv.sum().item<int64_t>(), 4);
  EXPECT_EQ(from_dcm.train.metadata.column("StudyDate").text(0), "20150101");
  // Patient IDs come back hashed, the same way from both formats.
  EXPECT_EQ(from_png.train.metadata.column("patient").text(3),
            from_dcm.train.metadata.column("patient").text(3));
  EXPECT_EQ(from_png.train.metadata.column("patient").text(3), patient_hash("PAT-1"));

  // An existing folder is kept unless --force; a failed write leaves nothing behind.
  EXPECT_THROW(write_image_folder(bundle, dir.file("png"), png, quiet), IoError);
  png.force = true;
  write_image_folder(bundle, dir.file("png"), png, quiet);
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().string().find(".partial-"), std::string::npos) << entry.path();
  }
}

}  // namespace
}  // namespace unlearn
