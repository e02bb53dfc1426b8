// PSG's options: their checks, their flags, the presets and Boundary Shrink's fixed values.
// The run itself is in psg.cpp.

#include <cmath>

#include "unlearn/core/error.h"
#include "unlearn/methods/psg.h"

namespace unlearn {

void PsgOptions::validate() const {
  search_options({0.5}, {0.5}).validate();
  auto check = [](bool ok, const std::string& message) {
    if (!ok) throw UsageError(message);
  };
  check(lambda() >= 0, detail::concat("--lambda: expected >= 0, got ", lambda()));
  check(lambda_rate() >= 0, detail::concat("--lambda-rate: expected >= 0, got ", lambda_rate()));
  check(temperature() > 0, detail::concat("--temperature: expected > 0, got ", temperature()));
  check(top_k() >= 0, detail::concat("--top-k: expected >= 0 (0 = all), got ", top_k()));
  check(retain_weight() >= 0,
        detail::concat("--retain-weight: expected >= 0, got ", retain_weight()));
  check(lr() > 0, detail::concat("--lr: expected > 0, got ", lr()));
  check(momentum() >= 0 && momentum() < 1,
        detail::concat("--momentum: expected in [0,1), got ", momentum()));
  check(weight_decay() >= 0, detail::concat("--weight-decay: expected >= 0, got ", weight_decay()));
  check(passes() >= 1, detail::concat("--passes: expected >= 1, got ", passes()));
  check(batch() >= 1, detail::concat("--batch: expected >= 1, got ", batch()));
  check(retain_batch() >= 1, detail::concat("--retain-batch: expected >= 1, got ", retain_batch()));
  check(target_forget_acc() <= 100,
        detail::concat("--target-forget-acc: expected a percentage, got ", target_forget_acc()));
  check(recalibrate_samples() >= 1,
        detail::concat("--recalibrate-samples: expected >= 1, got ", recalibrate_samples()));
}

BoundarySearchOptions PsgOptions::search_options(const std::vector<double>& mean,
                                                 const std::vector<double>& std) const {
  return BoundarySearchOptions()
      .epsilon(epsilon())
      .inner_steps(inner_steps())
      .step_size(step_size())
      .norm(norm())
      .quantize(quantize())
      .gamma(gamma())
      .noise(noise())
      .stop(search_stop())
      .reduction(search_reduction())
      .authors_exact(authors_exact())
      .model_mean(mean)
      .model_std(std);
}

OptionTable psg_option_table(PsgOptions& o) {
  OptionTable t;
  t.add("epsilon", "radius of the search ball, raw pixel units", o.epsilon())
      .add("inner-steps", "K, sign-gradient steps of the boundary search", o.inner_steps())
      .add("step-size", "alpha, the search step; 0 means epsilon / K", o.step_size())
      .add("norm", "ball and projection of the search", o.norm())
      .add("quantize", "snap boundary points to the 1/255 grid", o.quantize())
      .add("lambda", "proximal weight of the search", o.lambda())
      .add("lambda-schedule", "decay of lambda over outer steps", o.lambda_schedule())
      .add("lambda-rate", "rate r of the exponential schedule", o.lambda_rate())
      .add("gamma", "scale of the search noise", o.gamma())
      .add("noise", "law of the search noise", o.noise())
      .add("search-stop", "freeze a sample once it crosses the boundary, or take all K steps",
           o.search_stop())
      .add("search-reduction", "search gradient of the per-sample or the batch-mean loss",
           o.search_reduction())
      .add("reference", "whose boundary is searched", o.reference())
      .add("label-mode", "boundary labels", o.label_mode())
      .add("temperature", "temperature of soft labels and of distillation", o.temperature())
      .add("top-k", "keep the k largest entries of soft / raw-logit labels; 0 keeps all", o.top_k())
      .add("retain-weight", "phi, the weight of the retain term", o.retain_weight())
      .add("retain-target", "target of the retain term", o.retain_target())
      .add("optimizer", "outer optimiser", o.optimizer())
      .add("lr", "outer learning rate", o.lr())
      .add("momentum", "SGD momentum", o.momentum())
      .add("weight-decay", "outer weight decay", o.weight_decay())
      .add("passes", "passes over the forget set", o.passes())
      .add("batch", "forget batch size", o.batch())
      .add("retain-batch", "retain batch size", o.retain_batch())
      .add("target-forget-acc",
           "stop once the running forget-set accuracy (percent) is at or below this; <0: off",
           o.target_forget_acc())
      .add("grad-tol", "with --target-forget-acc, also require the gradient norm below this",
           o.grad_tol())
      .add("bn-mode", "batch-norm statistics during and after the update", o.bn_mode())
      .add("recalibrate-samples", "retain samples used by --bn-mode recalibrate",
           o.recalibrate_samples())
      .add("authors-exact", "reproduce the authors' search arithmetic", o.authors_exact())
      .add("method-seed", "seed of batch order and search noise", o.seed());
  return t;
}

PsgOptions psg_preset(PsgPreset preset) {
  switch (preset) {
    case PsgPreset::authors:
    case PsgPreset::authors_exact:
      // The right-hand column of method-psg.md's option table.
      return PsgOptions()
          .epsilon(0.1)
          .inner_steps(1)
          .step_size(0)
          .norm(SearchNorm::linf)
          .quantize(true)
          .lambda(0)
          .lambda_schedule(LambdaSchedule::constant)
          .gamma(1e-4)
          .noise(NoiseLaw::normal)
          .search_stop(SearchStop::crossing)
          .search_reduction(GradientReduction::mean)
          .reference(BoundaryReference::original)
          .label_mode(LabelMode::hard)
          .retain_weight(0)
          .retain_target(RetainTarget::labels)
          .optimizer(OptimizerKind::sgd)
          .lr(1e-5)
          .momentum(0.9)
          .weight_decay(0)
          .passes(10)
          .batch(64)
          .retain_batch(64)
          .target_forget_acc(-1)
          .grad_tol(-1)
          .bn_mode(BnMode::train)
          .authors_exact(preset == PsgPreset::authors_exact);
    case PsgPreset::thorough:
      // Ours: one full pass with a strong retain term, then batch-norm statistics recomputed on
      // retain data, so the forgetting is in the weights rather than in drifted statistics.
      // About 5x the default's time (docs/results.md).
      return PsgOptions().retain_weight(1.0).passes(1).target_forget_acc(-1).bn_mode(
          BnMode::recalibrate);
  }
  return PsgOptions();  // unreachable: every preset is handled above
}

PsgOptions psg_preset(const std::string& name) {
  return psg_preset(parse_choice<PsgPreset>(name, "preset"));
}

PsgOptions boundary_shrink_options() {
  return PsgOptions().inner_steps(1).step_size(0).gamma(0).lambda(0).retain_weight(0);
}

double scheduled_lambda(const PsgOptions& o, int64_t t, int64_t total) {
  const double lambda = o.lambda();
  switch (o.lambda_schedule()) {
    case LambdaSchedule::inverse:
      return lambda / static_cast<double>(std::max<int64_t>(t, 1));
    case LambdaSchedule::exponential:
      return lambda * std::exp(-o.lambda_rate() * static_cast<double>(t));
    case LambdaSchedule::linear:
      return lambda * (1.0 - static_cast<double>(t) / std::max<int64_t>(total, 1));
    case LambdaSchedule::constant:
      break;
  }
  return lambda;
}

}  // namespace unlearn
