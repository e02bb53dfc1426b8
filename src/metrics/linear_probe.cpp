#include "unlearn/metrics/linear_probe.h"

#include <torch/torch.h>

#include "unlearn/core/error.h"

namespace unlearn {

LinearProbe LinearProbe::fit(const torch::Tensor& features, const torch::Tensor& labels,
                             int64_t num_classes, const ProbeOptions& options) {
  constexpr const char* kFn = "LinearProbe::fit";
  UNLEARN_CHECK(features.defined() && features.dim() == 2 && features.size(0) > 0, kFn,
                ": features: expected a non-empty N×D matrix");
  UNLEARN_CHECK(labels.defined() && labels.dim() == 1 && labels.size(0) == features.size(0), kFn,
                ": labels: expected one per feature row");
  UNLEARN_CHECK(num_classes >= 2, kFn, ": num_classes: expected >= 2, got ", num_classes);
  UNLEARN_CHECK(options.l2() >= 0, kFn, ": l2: expected >= 0, got ", options.l2());
  UNLEARN_CHECK(options.iterations() >= 1, kFn, ": iterations: expected >= 1, got ",
                options.iterations());
  const auto y = labels.to(torch::kCPU, torch::kLong);
  UNLEARN_CHECK(y.min().item<int64_t>() >= 0 && y.max().item<int64_t>() < num_classes, kFn,
                ": labels: expected classes in [0, ", num_classes, ")");

  LinearProbe probe;
  const auto x = features.to(torch::kCPU, torch::kFloat64);
  probe.mean_ = x.mean(0);
  // A constant feature (a dead unit) is left unscaled rather than divided by zero.
  const auto sd = x.std(0, /*unbiased=*/false);
  probe.scale_ = torch::where(sd > 1e-12, sd, torch::ones_like(sd));
  const auto z = (x - probe.mean_) / probe.scale_;

  torch::NoGradGuard outer;  // only the closure records a graph
  auto weight = torch::zeros({x.size(1), num_classes}, torch::kFloat64).requires_grad_(true);
  auto bias = torch::zeros({num_classes}, torch::kFloat64).requires_grad_(true);
  torch::optim::LBFGS optimizer({weight, bias}, torch::optim::LBFGSOptions(1.0)
                                                    .max_iter(options.iterations())
                                                    .line_search_fn("strong_wolfe"));
  const double l2 = options.l2();
  auto closure = [&] {
    torch::AutoGradMode grad(true);
    optimizer.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(torch::addmm(bias, z, weight), y) +
                l2 * weight.pow(2).sum();
    loss.backward();
    return loss;
  };
  optimizer.step(closure);
  probe.weight_ = weight.detach();
  probe.bias_ = bias.detach();
  return probe;
}

torch::Tensor LinearProbe::predict(const torch::Tensor& features) const {
  UNLEARN_CHECK(weight_.defined(), "LinearProbe::predict: the probe was not fitted");
  UNLEARN_CHECK(features.dim() == 2 && features.size(1) == weight_.size(0),
                "LinearProbe::predict: expected N×", weight_.size(0), " features");
  const auto z = (features.to(torch::kCPU, torch::kFloat64) - mean_) / scale_;
  return torch::addmm(bias_, z, weight_).argmax(1);
}

}  // namespace unlearn
