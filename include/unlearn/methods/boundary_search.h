#pragma once
// The lower level of PSG: for each forget sample, the nearest point across the decision boundary
// of a reference model, found by K steps of perturbed sign-gradient ascent (docs/method-psg.md).

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "unlearn/core/choices.h"

namespace unlearn {

/// The ball of the search and its projection.
enum class SearchNorm { linf, l2 };
/// The law of the search noise ξ.
enum class NoiseLaw { normal, laplace, cauchy, uniform };
/// When a sample stops moving.
enum class SearchStop { crossing, none };
/// The loss whose input gradient steers the search.
enum class GradientReduction { sum, mean };

template <>
struct ChoiceTable<SearchNorm> {
  static constexpr Choice<SearchNorm> kAll[] = {{SearchNorm::linf, "linf"}, {SearchNorm::l2, "l2"}};
};
template <>
struct ChoiceTable<NoiseLaw> {
  static constexpr Choice<NoiseLaw> kAll[] = {{NoiseLaw::normal, "normal"},
                                              {NoiseLaw::laplace, "laplace"},
                                              {NoiseLaw::cauchy, "cauchy"},
                                              {NoiseLaw::uniform, "uniform"}};
};
template <>
struct ChoiceTable<SearchStop> {
  static constexpr Choice<SearchStop> kAll[] = {{SearchStop::crossing, "crossing"},
                                                {SearchStop::none, "none"}};
};
template <>
struct ChoiceTable<GradientReduction> {
  static constexpr Choice<GradientReduction> kAll[] = {{GradientReduction::sum, "sum"},
                                                       {GradientReduction::mean, "mean"}};
};

/// Logits of the reference model for inputs in raw pixel space.
using LogitsFn = std::function<torch::Tensor(const torch::Tensor&)>;

/// Options of the boundary search.  Example: BoundarySearchOptions().epsilon(0.1).inner_steps(4)
struct BoundarySearchOptions {
  /// Radius of the search ball, in raw pixel units ([0,1]).
  TORCH_ARG(double, epsilon) = 0.1;
  TORCH_ARG(int64_t, inner_steps) = 1;
  /// Step α; 0 means epsilon / inner_steps.
  TORCH_ARG(double, step_size) = 0;
  /// linf: sign steps, clip to the cube. l2: steps along g/‖g‖, scale back into the ball.
  TORCH_ARG(SearchNorm, norm) = SearchNorm::linf;
  /// Snap x* to the 1/255 grid.
  TORCH_ARG(bool, quantize) = true;
  /// Noise scale γ and law ξ (uniform: on [-1,1]).
  TORCH_ARG(double, gamma) = 0;
  TORCH_ARG(NoiseLaw, noise) = NoiseLaw::normal;
  /// crossing: a sample stops moving at the first iterate across the boundary (the nearest
  /// crossing point as K grows). none: all K steps are taken.
  TORCH_ARG(SearchStop, stop) = SearchStop::crossing;
  /// sum: per-sample loss gradients (independent of batch size). mean: the authors' batch-mean.
  TORCH_ARG(GradientReduction, reduction) = GradientReduction::sum;
  /// Reproduces the authors' arithmetic: the search un-normalises with fixed CIFAR-10
  /// statistics whatever the data set (see method-psg.md). `model_mean`/`model_std` must then
  /// hold the model's own normalisation.
  TORCH_ARG(bool, authors_exact) = false;
  TORCH_ARG(std::vector<double>, model_mean) = std::vector<double>{0.5};
  TORCH_ARG(std::vector<double>, model_std) = std::vector<double>{0.5};

 public:
  double effective_step() const {
    return step_size() > 0 ? step_size() : epsilon() / inner_steps();
  }
  /// Throws UsageError naming the first bad option (they are the user's flags).
  void validate() const;
};

struct BoundarySearchResult {
  torch::Tensor x_star;       // the boundary points, raw pixel space, same shape as x
  torch::Tensor logits_star;  // reference logits at x_star (no grad)
  torch::Tensor flipped;      // bool N: argmax at x_star differs from y
  double objective = 0;       // mean over the batch of ℓ(f_ref(x*), y) − (λ/2)‖x* − x‖²
};

/// Draws noise of `law` with the shape of `like` from `generator`.
torch::Tensor sample_noise(NoiseLaw law, const torch::Tensor& like, torch::Generator& generator);

/// Runs the search from x (raw pixels in [0,1]) with labels y and proximal weight `lambda`.
/// The reference is evaluated in whatever mode the caller put it in (eval for a frozen model).
/// `first_gradient`, when defined, is the loss gradient at x under options.reduction() that
/// the caller already has (PSG caches it for a frozen reference); the first step then skips
/// the forward and backward pass that would compute it.
BoundarySearchResult boundary_search(const LogitsFn& reference, const torch::Tensor& x,
                                     const torch::Tensor& y, const BoundarySearchOptions& options,
                                     double lambda, torch::Generator& generator,
                                     const torch::Tensor& first_gradient = {});

/// ∂ℓ/∂x of the cross-entropy of `reference` at x: per-sample gradients for reduction "sum",
/// those divided by the batch size for "mean". Only the input gets a gradient.
torch::Tensor input_gradient(const LogitsFn& reference, const torch::Tensor& x,
                             const torch::Tensor& y, GradientReduction reduction);

/// The fixed CIFAR-10 statistics the authors' search code applies to every data set
/// (their three-channel mean has 0.2265 for the third channel, reproduced as is).
const std::vector<double>& authors_search_mean();
const std::vector<double>& authors_search_std();

}  // namespace unlearn
