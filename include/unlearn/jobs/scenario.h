#pragma once
// `unlearn scenario`: credible clinical data sets built from real images, written as folders
// the folder: and dicom: readers take (docs/scenarios.md).

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "unlearn/core/context.h"
#include "unlearn/core/observer.h"
#include "unlearn/data/source.h"

namespace unlearn {

/// `unlearn scenario device-shift`: every image re-acquired by one of N virtual devices.
struct DeviceShiftJob {
  std::string data = "fashion-mnist";
  DataOptions data_options;
  int64_t devices = 3;
  int64_t sites = 2;
  /// 0: devices independent of the label; 1: the device is the label mod N.
  double correlation = 0.0;
  double images_per_patient = 4.0;  // mean images per synthetic patient
  std::string format = "png";       // png or dicom
  uint64_t seed = 0;
  std::string out;
  bool force = false;
};
nlohmann::json run_device_shift_job(const DeviceShiftJob& job, const RunContext& context,
                                    Observer& observer);

/// `unlearn scenario outliers`: a share of each class turned into flipped, cropped or occluded
/// variants, marked in a `variant` column.
struct OutlierScenarioJob {
  std::string data = "fashion-mnist";
  DataOptions data_options;
  double share = 0.02;
  std::string format = "png";
  uint64_t seed = 0;
  std::string out;
  bool force = false;
};
nlohmann::json run_outlier_scenario_job(const OutlierScenarioJob& job, const RunContext& context,
                                        Observer& observer);

}  // namespace unlearn
