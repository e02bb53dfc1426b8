#pragma once
// Tiny synthetic problems shared by the unit tests.

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "unlearn/models/model.h"

namespace unlearn::test {

/// A fresh empty folder under the system temp folder, removed by the destructor.
class TempDir {
 public:
  TempDir() {
    auto base = std::filesystem::temp_directory_path();
    ++counter();
    for (int i = 0;; ++i) {
      path_ = base / ("unlearn-test-" + std::to_string(::getpid()) + "-" + std::to_string(i) + "-" +
                      std::to_string(counter()));
      if (std::filesystem::create_directory(path_)) break;
    }
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  static int& counter() {
    static int c = 0;
    return c;
  }
  std::filesystem::path path_;
};

/// A model on D-dimensional points stored as N×D×1×1 "images" (D channels, size 1), with
/// identity normalisation. hidden = 0 gives multinomial logistic regression.
inline Model point_model(int64_t dims, int64_t classes, int64_t hidden, uint64_t seed) {
  torch::manual_seed(seed);
  ModelSpec spec;
  spec.arch = "mlp";
  spec.options =
      ArchOptions(classes).in_channels(dims).input_size(1).hidden_layers(hidden).width(0.25);
  spec.input.channels = dims;
  spec.input.size = 1;
  spec.input.mean.assign(dims, 0.0);
  spec.input.std.assign(dims, 1.0);
  return Model::create(spec);
}

/// `per_class` points per class around well-separated centres in [0.1, 0.9]^2, as N×2×1×1.
struct Blobs {
  torch::Tensor x, y;
};
inline Blobs blobs(int64_t classes, int64_t per_class, uint64_t seed, double spread = 0.04) {
  auto gen = at::detail::createCPUGenerator(seed);
  std::vector<torch::Tensor> xs, ys;
  for (int64_t k = 0; k < classes; ++k) {
    const double angle = 2 * M_PI * static_cast<double>(k) / static_cast<double>(classes);
    auto centre = torch::tensor({0.5 + 0.3 * std::cos(angle), 0.5 + 0.3 * std::sin(angle)});
    xs.push_back(centre + spread * torch::randn({per_class, 2}, gen));
    ys.push_back(torch::full({per_class}, k, torch::kInt64));
  }
  return {torch::cat(xs).clamp(0, 1).view({-1, 2, 1, 1}).to(torch::kFloat32), torch::cat(ys)};
}

/// True when every parameter and buffer of `a` equals the one of `b` exactly.
inline bool same_state(const Model& a, const Model& b) {
  auto pa = a.named_parameters(), pb = b.named_parameters();
  for (const auto& item : pa) {
    if (!torch::equal(item.value(), pb[item.key()])) return false;
  }
  auto ba = a.named_buffers(), bb = b.named_buffers();
  for (const auto& item : ba) {
    if (!torch::equal(item.value(), bb[item.key()])) return false;
  }
  return true;
}

}  // namespace unlearn::test
