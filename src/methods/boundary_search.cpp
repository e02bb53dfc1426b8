#include "unlearn/methods/boundary_search.h"

#include <torch/torch.h>

#include <cmath>

#include "unlearn/core/error.h"

namespace unlearn {

namespace F = torch::nn::functional;

namespace {

/// Per-channel statistics as a 1×C×1×1 tensor (first C entries of `values`).
torch::Tensor channel_stats(const std::vector<double>& values, const torch::Tensor& like) {
  const int64_t c = like.size(1);
  UNLEARN_CHECK(static_cast<int64_t>(values.size()) >= c, "boundary search: need ", c,
                " channel statistics, got ", values.size());
  std::vector<double> first(values.begin(), values.begin() + c);
  return torch::tensor(first, torch::kFloat64).to(like.options()).view({1, c, 1, 1});
}

/// Sum of squares over all dimensions but the first.
torch::Tensor per_sample_sq_norm(const torch::Tensor& t) { return t.pow(2).flatten(1).sum(1); }

/// Broadcasts a per-sample vector over the remaining dimensions of `like`.
torch::Tensor per_sample(const torch::Tensor& v, const torch::Tensor& like) {
  std::vector<int64_t> shape(like.dim(), 1);
  shape[0] = like.size(0);
  return v.view(shape);
}

torch::Tensor project(const torch::Tensor& candidate, const torch::Tensor& x, double eps,
                      SearchNorm norm, bool quantize) {
  torch::Tensor delta = candidate - x;
  if (norm == SearchNorm::linf) {
    delta = delta.clamp(-eps, eps);
  } else {
    auto n = per_sample_sq_norm(delta).sqrt().clamp_min(1e-12);
    delta = delta * per_sample((eps / n).clamp_max(1.0), delta);
  }
  auto out = (x + delta).clamp(0.0, 1.0);
  if (quantize) out = torch::round(out * 255.0) / 255.0;
  return out;
}

torch::Tensor loss_gradient(const LogitsFn& reference, const torch::Tensor& point,
                            const torch::Tensor& y, GradientReduction reduction,
                            torch::Tensor* logits_out) {
  auto input = point.detach().requires_grad_(true);
  auto logits = reference(input);
  auto loss =
      reduction == GradientReduction::mean
          ? F::cross_entropy(logits, y)
          : F::cross_entropy(logits, y, F::CrossEntropyFuncOptions().reduction(torch::kSum));
  auto grad = torch::autograd::grad({loss}, {input})[0];
  if (logits_out) *logits_out = logits.detach();
  return grad;
}

/// The authors' arithmetic: their search space is the model's normalised input, un-normalised
/// with CIFAR-10 statistics; see method-psg.md.
torch::Tensor authors_exact_search(const LogitsFn& reference, const torch::Tensor& x,
                                   const torch::Tensor& y, const BoundarySearchOptions& o,
                                   double lambda, torch::Generator& generator) {
  auto m = channel_stats(o.model_mean(), x), s = channel_stats(o.model_std(), x);
  auto mc = channel_stats(authors_search_mean(), x), sc = channel_stats(authors_search_std(), x);
  auto z0 = (x - m) / s;      // what the model sees
  auto x_nat = z0 * sc + mc;  // their "un-normalised" natural image
  auto z = z0.clone();
  const double eps = o.epsilon(), alpha = o.effective_step();
  for (int64_t k = 0; k < o.inner_steps(); ++k) {
    // d loss / d z = d loss / d p * s, since p = z*s + m.
    auto grad_z = loss_gradient(reference, z * s + m, y, GradientReduction::mean, nullptr) * s;
    auto g = grad_z;
    if (lambda > 0) g = g + lambda * (z - x_nat);
    if (o.gamma() > 0) g = g + o.gamma() * sample_noise(o.noise(), z, generator);
    auto u = z * sc + mc + g.sign() * alpha;
    auto delta = (u - x_nat).clamp(-eps, eps);
    auto q = torch::round((x_nat + delta).clamp(0.0, 1.0) * 255.0) / 255.0;
    z = (q - mc) / sc;
  }
  return (z * s + m).detach();
}

}  // namespace

void BoundarySearchOptions::validate() const {
  UNLEARN_CHECK_AS(UsageError, epsilon() > 0, "--epsilon: expected > 0, got ", epsilon());
  UNLEARN_CHECK_AS(UsageError, inner_steps() >= 1, "--inner-steps: expected >= 1, got ",
                   inner_steps());
  UNLEARN_CHECK_AS(UsageError, step_size() >= 0,
                   "--step-size: expected >= 0 (0 = epsilon / K), got ", step_size());
  UNLEARN_CHECK_AS(UsageError, gamma() >= 0, "--gamma: expected >= 0, got ", gamma());
  UNLEARN_CHECK_AS(UsageError, !authors_exact() || norm() == SearchNorm::linf,
                   "--preset authors-exact reproduces the L-infinity search only");
}

const std::vector<double>& authors_search_mean() {
  static const std::vector<double> mean{0.4914, 0.4822, 0.2265};
  return mean;
}
const std::vector<double>& authors_search_std() {
  static const std::vector<double> std{0.2023, 0.1994, 0.2010};
  return std;
}

torch::Tensor sample_noise(NoiseLaw law, const torch::Tensor& like, torch::Generator& generator) {
  // Drawn on the CPU from the CPU generator, then moved: the same seed gives the same noise on
  // every device.
  const auto opts = like.options().device(torch::kCPU);
  const auto uniform = [&] { return torch::rand(like.sizes(), generator, opts); };
  torch::Tensor out;
  switch (law) {
    case NoiseLaw::normal:
      out = torch::randn(like.sizes(), generator, opts);
      break;
    case NoiseLaw::uniform:
      out = uniform() * 2.0 - 1.0;
      break;
    case NoiseLaw::laplace: {
      // Inverse CDF of Laplace(0, 1) on v uniform in (-1/2, 1/2).
      auto v = (uniform() - 0.5).clamp(-0.5 + 1e-7, 0.5 - 1e-7);
      out = -v.sign() * torch::log1p(-2.0 * v.abs());
      break;
    }
    case NoiseLaw::cauchy:
      out = torch::tan(M_PI * (uniform().clamp(1e-7, 1 - 1e-7) - 0.5));
      break;
  }
  return out.to(like.device());
}

torch::Tensor input_gradient(const LogitsFn& reference, const torch::Tensor& x,
                             const torch::Tensor& y, GradientReduction reduction) {
  return loss_gradient(reference, x, y, reduction, nullptr);
}

BoundarySearchResult boundary_search(const LogitsFn& reference, const torch::Tensor& x_in,
                                     const torch::Tensor& y, const BoundarySearchOptions& o,
                                     double lambda, torch::Generator& generator,
                                     const torch::Tensor& first_gradient) {
  o.validate();
  UNLEARN_CHECK(x_in.size(0) == y.size(0), "boundary search: ", x_in.size(0), " inputs but ",
                y.size(0), " labels");
  UNLEARN_CHECK(
      !first_gradient.defined() || (first_gradient.sizes() == x_in.sizes() && !o.authors_exact()),
      "boundary search: a given first gradient must match the inputs' shape ", x_in.sizes(),
      " and cannot be used with the authors' arithmetic");
  const auto x = x_in.detach();
  torch::Tensor point;
  if (o.authors_exact()) {
    point = authors_exact_search(reference, x, y, o, lambda, generator);
  } else {
    point = x.clone();
    auto active = torch::ones({x.size(0)}, x.options().dtype(torch::kBool));
    const double alpha = o.effective_step();
    for (int64_t k = 0; k < o.inner_steps(); ++k) {
      torch::Tensor logits;  // read from k = 1 on only, so the given first gradient needs none
      auto g = k == 0 && first_gradient.defined()
                   ? first_gradient
                   : loss_gradient(reference, point, y, o.reduction(), &logits);
      if (k > 0 && o.stop() == SearchStop::crossing) active = active & logits.argmax(1).eq(y);
      if (lambda > 0) g = g - lambda * (point - x);
      if (o.gamma() > 0) g = g + o.gamma() * sample_noise(o.noise(), g, generator);
      torch::Tensor direction;
      if (o.norm() == SearchNorm::linf) {
        direction = g.sign();
      } else {
        direction = g / per_sample(per_sample_sq_norm(g).sqrt().clamp_min(1e-12), g);
      }
      auto moved = project(point + alpha * direction, x, o.epsilon(), o.norm(), o.quantize());
      point = torch::where(per_sample(active, point), moved, point);
    }
  }
  BoundarySearchResult result;
  torch::NoGradGuard no_grad;
  result.x_star = point.detach();
  result.logits_star = reference(result.x_star).detach();
  result.flipped = result.logits_star.argmax(1).ne(y);
  auto ce =
      F::cross_entropy(result.logits_star, y, F::CrossEntropyFuncOptions().reduction(torch::kNone));
  auto objective = ce - 0.5 * lambda * per_sample_sq_norm(result.x_star - x);
  result.objective = objective.mean().item<double>();
  return result;
}

}  // namespace unlearn
