// unlearn scenario: clinical data sets built from real images (docs/scenarios.md).

#include <cstdio>

#include "common.h"
#include "console.h"
#include "unlearn/core/json_text.h"
#include "unlearn/jobs/scenario.h"

namespace unlearn::cli {

namespace {

void add_output_options(CLI::App* sub, std::string& out, std::string& format, bool& force) {
  sub->add_option("--out", out, "output folder (read it back with --data folder:OUT or dicom:OUT)")
      ->required();
  sub->add_option("--format", format, "png (a folder of PNG files) or dicom")
      ->check(CLI::IsMember({"png", "dicom"}))
      ->capture_default_str();
  sub->add_flag("--force", force, "replace an existing output folder");
}

void print_summary(const nlohmann::json& summary, bool quiet) {
  if (!quiet) std::printf("%s\n", json_text(summary, 2).c_str());
}

}  // namespace

void register_scenario(CLI::App& app) {
  auto* scenario =
      app.add_subcommand("scenario", "build a clinical scenario data set from real images");
  scenario->require_subcommand(1);

  auto* shift = scenario->add_subcommand(
      "device-shift", "re-acquire every image with one of N virtual devices (device, site, year)");
  auto shift_job = std::make_shared<DeviceShiftJob>();
  auto shift_common = std::make_shared<CommonOptions>();
  shift->add_option("--data", shift_job->data, "source images")->capture_default_str();
  shift->add_option("--devices", shift_job->devices, "number of virtual devices (A, B, ...)")
      ->check(CLI::Range(1, 26))
      ->capture_default_str();
  shift->add_option("--sites", shift_job->sites, "number of sites running them")
      ->check(positive())
      ->capture_default_str();
  shift
      ->add_option("--correlation", shift_job->correlation,
                   "0: device independent of the label; up to 1: device tied to the label")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  shift
      ->add_option("--images-per-patient", shift_job->images_per_patient,
                   "mean number of images per synthetic patient")
      ->capture_default_str();
  add_output_options(shift, shift_job->out, shift_job->format, shift_job->force);
  add_data_options(shift, shift_job->data_options);
  add_common_options(shift, *shift_common);
  shift->callback([=] {
    shift_job->seed = shift_common->seed;
    RunContext context = shift_common->apply();
    ConsoleObserver observer(shift_common->quiet);
    print_summary(run_device_shift_job(*shift_job, context, observer), shift_common->quiet);
  });

  auto* outliers = scenario->add_subcommand(
      "outliers", "turn a share of each class into flipped, cropped or occluded variants");
  auto outlier_job = std::make_shared<OutlierScenarioJob>();
  auto outlier_common = std::make_shared<CommonOptions>();
  outliers->add_option("--data", outlier_job->data, "source images")->capture_default_str();
  outliers->add_option("--share", outlier_job->share, "share of each class made atypical")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  add_output_options(outliers, outlier_job->out, outlier_job->format, outlier_job->force);
  add_data_options(outliers, outlier_job->data_options);
  add_common_options(outliers, *outlier_common);
  outliers->callback([=] {
    outlier_job->seed = outlier_common->seed;
    RunContext context = outlier_common->apply();
    ConsoleObserver observer(outlier_common->quiet);
    print_summary(run_outlier_scenario_job(*outlier_job, context, observer), outlier_common->quiet);
  });
}

}  // namespace unlearn::cli
