#include "unlearn/jobs/scenario.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cstdio>
#include <map>
#include <vector>

#include "inputs.h"
#include "unlearn/core/error.h"
#include "unlearn/scenario/device_shift.h"
#include "unlearn/scenario/variants.h"
#include "unlearn/scenario/writer.h"

namespace unlearn {

namespace {

/// The same metadata column for every row, from per-device values.
template <typename T>
Column per_device(const std::string& name, const torch::Tensor& device,
                  const std::vector<T>& values) {
  std::vector<T> out;
  out.reserve(static_cast<size_t>(device.size(0)));
  const int64_t* d = device.data_ptr<int64_t>();
  for (int64_t i = 0; i < device.size(0); ++i) out.push_back(values[static_cast<size_t>(d[i])]);
  return Column{name, std::move(out)};
}

/// Synthetic patients: consecutive samples of one device, in groups of 1 to 2·mean−1 images,
/// share a clear ID ("PAT-00001"), as a patient is scanned on one site's machine.
std::vector<std::string> make_patients(const torch::Tensor& device, double mean,
                                       const std::string& prefix, int64_t& next_patient,
                                       at::Generator& gen) {
  const int64_t n = device.size(0);
  std::vector<std::string> ids(static_cast<size_t>(n));
  const auto max_group = std::max<int64_t>(1, std::llround(2 * mean - 1));
  const torch::Tensor order = std::get<1>(device.sort(/*stable=*/true, 0, false));
  const int64_t* o = order.data_ptr<int64_t>();
  const int64_t* d = device.data_ptr<int64_t>();
  int64_t i = 0;
  while (i < n) {
    const int64_t size = 1 + torch::randint(max_group, {1}, gen, torch::kLong).item<int64_t>();
    char id[32];
    std::snprintf(id, sizeof id, "%s%05lld", prefix.c_str(),
                  static_cast<long long>(next_patient++));
    const int64_t first_device = d[o[i]];
    for (int64_t k = 0; k < size && i < n && d[o[i]] == first_device; ++k, ++i) {
      ids[static_cast<size_t>(o[i])] = id;
    }
  }
  return ids;
}

Dataset shift_part(const Dataset& part, const std::vector<DeviceProfile>& fleet,
                   const DeviceShiftJob& job, uint64_t part_seed, int64_t& next_patient) {
  const auto count = static_cast<int64_t>(fleet.size());
  const torch::Tensor device = assign_devices(part.labels, count, job.correlation, part_seed);
  Dataset out = part;
  out.images = part.images.clone();
  for (int64_t k = 0; k < count; ++k) {
    const torch::Tensor rows = torch::nonzero(device.eq(k)).flatten();
    if (rows.numel() == 0) continue;
    const torch::Tensor rendered =
        render_device(part.images.index_select(0, rows), fleet[static_cast<size_t>(k)],
                      part_seed * 131 + static_cast<uint64_t>(k));
    out.images.index_copy_(0, rows, rendered);
  }
  std::vector<std::string> names;
  std::vector<std::string> manufacturers;
  std::vector<std::string> sites;
  for (const auto& d : fleet) {
    names.push_back(d.name);
    manufacturers.push_back(d.manufacturer);
    sites.push_back(d.site);
  }
  auto gen = at::detail::createCPUGenerator(part_seed + 7);
  std::vector<int64_t> years(static_cast<size_t>(part.size()));
  const int64_t* dev = device.data_ptr<int64_t>();
  for (int64_t i = 0; i < part.size(); ++i) {
    const DeviceProfile& d = fleet[static_cast<size_t>(dev[i])];
    years[static_cast<size_t>(i)] =
        d.first_year +
        torch::randint(d.last_year - d.first_year + 1, {1}, gen, torch::kLong).item<int64_t>();
  }
  out.metadata.set(per_device("device", device, names));
  out.metadata.set(per_device("manufacturer", device, manufacturers));
  out.metadata.set(per_device("site", device, sites));
  out.metadata.set(Column{"year", std::move(years)});
  out.metadata.set(Column{
      "PatientID", make_patients(device, job.images_per_patient, "PAT-", next_patient, gen)});
  return out;
}

nlohmann::json fleet_json(const std::vector<DeviceProfile>& fleet) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : fleet) {
    out.push_back({{"device", d.name},
                   {"manufacturer", d.manufacturer},
                   {"site", d.site},
                   {"years", {d.first_year, d.last_year}},
                   {"gain", d.gain},
                   {"gamma", d.gamma},
                   {"colour", d.colour},
                   {"resolution", d.resolution},
                   {"blur_sigma", d.blur_sigma},
                   {"snr_db", d.snr_db},
                   {"vignetting", d.vignetting},
                   {"field_of_view", d.field_of_view},
                   {"marker_corner", d.marker_corner},
                   {"marker_code", d.marker_code}});
  }
  return out;
}

ImageFolderOptions folder_options(const std::string& format, bool force) {
  ImageFolderOptions options;
  options.format = format;
  options.force = force;
  // As a scanner would write them: the device in the model name, the site as institution.
  options.dicom_tags = {{"device", "ManufacturerModelName"},
                        {"manufacturer", "Manufacturer"},
                        {"site", "InstitutionName"},
                        {"PatientID", "PatientID"}};
  options.year_column = "year";
  return options;
}

void check_common(const std::string& out, const std::string& format) {
  UNLEARN_CHECK_AS(UsageError, !out.empty(), "--out is required");
  UNLEARN_CHECK_AS(UsageError, format == "png" || format == "dicom",
                   "--format must be png or dicom, got '", format, "'");
}

}  // namespace

nlohmann::json run_device_shift_job(const DeviceShiftJob& job, const RunContext& /*context*/,
                                    Observer& observer) {
  check_common(job.out, job.format);
  UNLEARN_CHECK_AS(UsageError, job.images_per_patient >= 1, "--images-per-patient must be >= 1");
  const auto fleet = make_device_profiles(job.devices, job.sites, job.seed);
  const DataBundle source = internal::load_job_data(job.data, job.data_options, observer);
  DataBundle shifted;
  shifted.source = job.data;
  int64_t next_patient = 1;
  shifted.train = shift_part(source.train, fleet, job, job.seed * 3 + 1, next_patient);
  shifted.test = shift_part(source.test, fleet, job, job.seed * 3 + 2, next_patient);
  if (source.validation.size() > 0) {
    shifted.validation = shift_part(source.validation, fleet, job, job.seed * 3 + 3, next_patient);
  }
  write_image_folder(shifted, job.out, folder_options(job.format, job.force), observer);
  return {{"out", job.out},
          {"format", job.format},
          {"source", job.data},
          {"n_train", shifted.train.size()},
          {"n_test", shifted.test.size()},
          {"n_patients", next_patient - 1},
          {"correlation", job.correlation},
          {"devices", fleet_json(fleet)}};
}

nlohmann::json run_outlier_scenario_job(const OutlierScenarioJob& job,
                                        const RunContext& /*context*/, Observer& observer) {
  check_common(job.out, job.format);
  const DataBundle source = internal::load_job_data(job.data, job.data_options, observer);
  DataBundle marked;
  marked.source = job.data;
  marked.train = inject_variants(source.train, job.share, job.seed * 3 + 1);
  marked.test = inject_variants(source.test, job.share, job.seed * 3 + 2);
  if (source.validation.size() > 0) {
    marked.validation = inject_variants(source.validation, job.share, job.seed * 3 + 3);
  }
  write_image_folder(marked, job.out, folder_options(job.format, job.force), observer);
  auto count = [](const Dataset& d) {
    std::map<std::string, int64_t> n;
    const Column& c = d.metadata.column("variant");
    for (int64_t i = 0; i < d.size(); ++i) ++n[c.text(i)];
    return n;
  };
  return {{"out", job.out},
          {"format", job.format},
          {"source", job.data},
          {"share", job.share},
          {"train_variants", count(marked.train)},
          {"test_variants", count(marked.test)}};
}

}  // namespace unlearn
