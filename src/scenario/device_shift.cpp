#include "unlearn/scenario/device_shift.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>

#include "unlearn/core/error.h"

namespace unlearn {

namespace {

namespace F = torch::nn::functional;

/// Normalised 1-D Gaussian kernel with radius ceil(2.5 sigma).
torch::Tensor gaussian_kernel(double sigma) {
  const auto radius = static_cast<int64_t>(std::ceil(2.5 * sigma));
  const torch::Tensor x = torch::arange(-radius, radius + 1, torch::kFloat32);
  const torch::Tensor k = torch::exp(-x * x / (2.0 * sigma * sigma));
  return k / k.sum();
}

/// Separable Gaussian blur of N×C×H×W floats, reflecting at the borders.
torch::Tensor blur(const torch::Tensor& x, double sigma) {
  if (sigma < 0.05) return x;
  const torch::Tensor k = gaussian_kernel(sigma);
  const int64_t r = (k.size(0) - 1) / 2;
  const int64_t c = x.size(1);
  const torch::Tensor kh = k.view({1, 1, 1, -1}).repeat({c, 1, 1, 1});
  const torch::Tensor kv = k.view({1, 1, -1, 1}).repeat({c, 1, 1, 1});
  // Reflection needs the pad to be smaller than the side; tiny images fall back to replicate.
  const bool can_reflect = r < x.size(2) && r < x.size(3);
  const F::PadFuncOptions::mode_t mode =
      can_reflect ? F::PadFuncOptions::mode_t(torch::kReflect) : torch::kReplicate;
  torch::Tensor y = F::pad(x, F::PadFuncOptions({r, r, 0, 0}).mode(mode));
  y = F::conv2d(y, kh, F::Conv2dFuncOptions().groups(c));
  y = F::pad(y, F::PadFuncOptions({0, 0, r, r}).mode(mode));
  return F::conv2d(y, kv, F::Conv2dFuncOptions().groups(c));
}

/// Downsamples by `factor` (area averaging) and back up (bilinear): detail finer than the
/// device's resolution is lost.
torch::Tensor lose_resolution(const torch::Tensor& x, double factor) {
  if (factor <= 1.01) return x;
  const int64_t h = x.size(2);
  const int64_t w = x.size(3);
  const auto small_h = std::max<int64_t>(2, std::llround(static_cast<double>(h) / factor));
  const auto small_w = std::max<int64_t>(2, std::llround(static_cast<double>(w) / factor));
  const torch::Tensor small = F::interpolate(
      x,
      F::InterpolateFuncOptions().size(std::vector<int64_t>{small_h, small_w}).mode(torch::kArea));
  return F::interpolate(small, F::InterpolateFuncOptions()
                                   .size(std::vector<int64_t>{h, w})
                                   .mode(torch::kBilinear)
                                   .align_corners(false));
}

/// Squared distance from the image centre, scaled so that the corners are at 1 (H×W).
torch::Tensor radius_squared(int64_t h, int64_t w) {
  const torch::Tensor ys = (torch::arange(h, torch::kFloat32) + 0.5) / h * 2 - 1;
  const torch::Tensor xs = (torch::arange(w, torch::kFloat32) + 0.5) / w * 2 - 1;
  return (ys.view({-1, 1}).pow(2) + xs.view({1, -1}).pow(2)) / 2.0;
}

/// Burns a 2×2-cell marker into one corner: cells whose bit is set are white, the rest black,
/// on a white frame, as scanners stamp a logo or laterality token.
void burn_marker(torch::Tensor& x, const DeviceProfile& device) {
  const int64_t h = x.size(2);
  const int64_t w = x.size(3);
  const int64_t cell = std::max<int64_t>(1, std::min(h, w) / 14);
  const int64_t side = 2 * cell + 2;  // two cells plus a one-pixel frame
  if (side + 1 >= std::min(h, w)) return;
  const int64_t top = (device.marker_corner == 2 || device.marker_corner == 3) ? h - side - 1 : 1;
  const int64_t left = (device.marker_corner == 1 || device.marker_corner == 2) ? w - side - 1 : 1;
  torch::Tensor patch = x.narrow(2, top, side).narrow(3, left, side);
  patch.fill_(1.0);
  for (int64_t bit = 0; bit < 4; ++bit) {
    const int64_t row = 1 + (bit / 2) * cell;
    const int64_t col = 1 + (bit % 2) * cell;
    const bool on = ((device.marker_code >> bit) & 1) != 0;
    patch.narrow(2, row, cell).narrow(3, col, cell).fill_(on ? 1.0 : 0.0);
  }
}

double lerp(double a, double b, double t) { return a + (b - a) * t; }

}  // namespace

std::vector<DeviceProfile> make_device_profiles(int64_t count, int64_t sites, uint64_t seed) {
  UNLEARN_CHECK(count >= 1 && count <= 26, "--devices must be between 1 and 26, got ", count);
  UNLEARN_CHECK(sites >= 1, "--sites must be at least 1, got ", sites);
  auto gen = at::detail::createCPUGenerator(seed);
  // Small per-device jitter, so that two runs with different seeds give different fleets.
  const torch::Tensor jitter = torch::rand({count, 8}, gen, torch::kDouble).mul_(2).sub_(1);
  auto j = [&](int64_t k, int64_t i) { return jitter[k][i].item<double>(); };
  std::vector<DeviceProfile> devices;
  for (int64_t k = 0; k < count; ++k) {
    const double t = count == 1 ? 1.0 : static_cast<double>(k) / static_cast<double>(count - 1);
    DeviceProfile d;
    d.name = std::string(1, static_cast<char>('A' + k));
    d.manufacturer = "Virtual Imaging " + std::string(1, static_cast<char>('A' + k % 3));
    d.site = "site-" + std::to_string(1 + k % sites);
    d.first_year = 2008 + 3 * k;
    d.last_year = d.first_year + 4;
    d.gain = lerp(0.85, 1.12, t) * (1 + 0.03 * j(k, 0));
    d.gamma = lerp(1.30, 0.80, t) * (1 + 0.04 * j(k, 1));
    const double phase = 2.0 * M_PI * static_cast<double>(k) / static_cast<double>(count);
    d.colour = {1 + 0.08 * std::cos(phase), 1 + 0.08 * std::cos(phase + 2.1),
                1 + 0.08 * std::cos(phase + 4.2)};
    d.resolution = lerp(1.6, 1.0, t);
    d.blur_sigma = std::max(0.0, lerp(0.9, 0.0, t) + 0.1 * j(k, 2));
    d.snr_db = lerp(16.0, 32.0, t) + 1.5 * j(k, 3);
    d.vignetting = std::max(0.0, lerp(0.35, 0.05, t) + 0.03 * j(k, 4));
    d.field_of_view = lerp(1.05, 1.45, t);
    d.marker_corner = k % 4;
    d.marker_code = 1 + (k * 7) % 15;
    devices.push_back(d);
  }
  return devices;
}

torch::Tensor render_device(const torch::Tensor& images, const DeviceProfile& device,
                            uint64_t seed) {
  UNLEARN_CHECK(images.dim() == 4 && images.scalar_type() == torch::kUInt8,
                "render_device: expected uint8 N×C×H×W images");
  if (images.size(0) == 0) return images.clone();
  torch::NoGradGuard no_grad;
  const int64_t h = images.size(2);
  const int64_t w = images.size(3);
  torch::Tensor x = images.to(torch::kFloat32).div_(255.0);

  // Optics first (what reaches the detector), then the detector's response, then noise.
  x = lose_resolution(x, device.resolution);
  x = blur(x, device.blur_sigma);
  x = x.clamp_min(0).pow(device.gamma).mul_(device.gain);
  if (x.size(1) == 3) {
    x.mul_(torch::tensor(device.colour, torch::kFloat64).to(torch::kFloat32).view({1, 3, 1, 1}));
  }
  const torch::Tensor r2 = radius_squared(h, w);
  x.mul_((1.0 - device.vignetting * r2).view({1, 1, h, w}));

  auto gen = at::detail::createCPUGenerator(seed);
  const torch::Tensor signal_rms = x.pow(2).mean({1, 2, 3}, true).sqrt();
  const torch::Tensor noise_rms = signal_rms / std::pow(10.0, device.snr_db / 20.0);
  x.add_(torch::randn(x.sizes(), gen, torch::kFloat32).mul_(noise_rms));

  // The aperture: outside the circle the detector sees nothing.
  const double fov2 = device.field_of_view * device.field_of_view / 2.0;
  x.mul_(r2.le(fov2).to(torch::kFloat32).view({1, 1, h, w}));
  x.clamp_(0, 1);
  burn_marker(x, device);
  return x.mul_(255.0).round_().to(torch::kUInt8).contiguous();
}

torch::Tensor assign_devices(const torch::Tensor& labels, int64_t devices, double correlation,
                             uint64_t seed) {
  UNLEARN_CHECK(devices >= 1, "assign_devices: need at least one device");
  UNLEARN_CHECK(correlation >= 0 && correlation <= 1, "--correlation must be in [0, 1], got ",
                correlation);
  auto gen = at::detail::createCPUGenerator(seed);
  const int64_t n = labels.size(0);
  const torch::Tensor uniform = torch::randint(devices, {n}, gen, torch::kLong);
  if (correlation == 0) return uniform;
  const torch::Tensor tied = labels.to(torch::kLong).remainder(devices);
  const torch::Tensor coin = torch::rand({n}, gen, torch::kDouble).lt(correlation);
  return torch::where(coin, tied, uniform);
}

}  // namespace unlearn
