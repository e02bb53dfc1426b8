#pragma once
// Virtual acquisition devices: each renders a clean image as a particular scanner would, with the
// effects device and site studies report (docs/scenarios.md): gain and gamma, colour cast,
// blur and resolution loss, noise at a device-specific signal-to-noise ratio, vignetting, a
// field-of-view mask and a burned-in marker.

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace unlearn {

/// How one virtual device distorts an image. Older devices (lower index) are blurrier, noisier
/// and darker at the edges; newer ones sharper with a wider field of view.
struct DeviceProfile {
  std::string name;           // "A", "B", ...
  std::string manufacturer;   // DICOM Manufacturer
  std::string site;           // the site that runs it
  int64_t first_year = 2010;  // acquisition years drawn from [first_year, last_year]
  int64_t last_year = 2014;
  double gain = 1.0;                          // intensity multiplier
  double gamma = 1.0;                         // x -> x^gamma before the gain
  std::vector<double> colour{1.0, 1.0, 1.0};  // per-channel gain (RGB only)
  double resolution = 1.0;                    // >1: downsampled by this factor, then upsampled back
  double blur_sigma = 0.0;                    // Gaussian point-spread, in output pixels
  double snr_db = 30.0;                       // signal RMS / noise RMS, in decibels
  double vignetting = 0.0;                    // brightness falls to (1 - v) in the corners
  double field_of_view = 2.0;  // radius of the circular aperture / half the side; >= sqrt(2): none
  int64_t marker_corner = 0;   // 0 top-left, 1 top-right, 2 bottom-right, 3 bottom-left
  int64_t marker_code = 1;     // bit pattern of the burned-in 2×2-cell marker (1..15)
};

/// `count` devices spread evenly over the parameter ranges, jittered by `seed`, with names
/// "A", "B", ... and `sites` sites ("site-1", ...) assigned round-robin.
std::vector<DeviceProfile> make_device_profiles(int64_t count, int64_t sites, uint64_t seed);

/// Renders uint8 images N×C×H×W as acquired by `device`; `seed` drives the noise.
torch::Tensor render_device(const torch::Tensor& images, const DeviceProfile& device,
                            uint64_t seed);

/// A device index per sample: uniform over devices, except that with probability `correlation`
/// the device is tied to the label (label mod devices), so device and class become confounded.
torch::Tensor assign_devices(const torch::Tensor& labels, int64_t devices, double correlation,
                             uint64_t seed);

}  // namespace unlearn
