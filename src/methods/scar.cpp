#include "unlearn/methods/scar.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <limits>

#include "unlearn/core/data_parallel.h"
#include "unlearn/core/error.h"
#include "unlearn/methods/scrub.h"
#include "unlearn/metrics/evaluator.h"
#include "unlearn/train/batches.h"

namespace unlearn {

void ScarOptions::validate() const {
  require_option(epochs() > 0, "epochs", "> 0", epochs());
  require_option(forget_weight() >= 0, "forget-weight", ">= 0", forget_weight());
  require_option(distill_weight() >= 0, "distill-weight", ">= 0", distill_weight());
  require_option(forget_weight() + distill_weight() > 0, "forget-weight",
                 "> 0 when --distill-weight is 0", forget_weight());
  require_option(temperature() > 0, "temperature", "> 0", temperature());
  require_option(shrinkage() >= 0, "shrinkage", ">= 0", shrinkage());
  require_option(stat_samples() >= 2, "stat-samples", ">= 2", static_cast<double>(stat_samples()));
  update().validate();
}

OptionTable Scar::option_table(Options& o) {
  OptionTable table;
  table.add("epochs", "passes over the forget set (fractions allowed)", o.epochs());
  table.add("forget-weight", "weight of the Mahalanobis pull of D_f's features", o.forget_weight());
  table.add("distill-weight", "weight of the distillation from the original on D_r",
            o.distill_weight());
  table.add("temperature", "distillation temperature T (the KL is multiplied by T^2)",
            o.temperature());
  table.add("shrinkage", "covariance shrinkage gamma", o.shrinkage());
  table.add("stat-samples", "retain rows (seeded) the class statistics come from",
            o.stat_samples());
  add_update_options(table, o.update());
  add_bn_mode_option(table, o.update());
  table.add("method-seed", "seed of the batch order and statistics rows, mixed with --seed",
            o.seed());
  return table;
}

ClassStatistics class_statistics(const torch::Tensor& features, const torch::Tensor& labels,
                                 int64_t classes, double shrinkage) {
  UNLEARN_CHECK(features.dim() == 2 && labels.dim() == 1 && labels.size(0) == features.size(0),
                "class_statistics: expected N×D features and N labels");
  const auto x = features.to(torch::kFloat64);
  const int64_t d = x.size(1);
  const auto eye = torch::eye(d, x.options());
  ClassStatistics s{torch::zeros({classes, d}, x.options()),
                    eye.unsqueeze(0).repeat({classes, 1, 1}),
                    torch::zeros({classes}, torch::kBool)};
  for (int64_t c = 0; c < classes; ++c) {
    const auto rows = x.index_select(0, torch::nonzero(labels.eq(c)).flatten());
    if (rows.size(0) < 2) continue;  // no covariance from one sample
    const auto mean = rows.mean(0);
    const auto centred = rows - mean;
    const auto cov = centred.t().mm(centred) / static_cast<double>(rows.size(0) - 1);
    const auto diag_mean = cov.diagonal().mean();
    const auto off = cov * (1 - eye);
    const auto off_mean = d > 1 ? off.sum() / static_cast<double>(d * d - d) : off.sum();
    const auto shrunk = cov + shrinkage * (diag_mean * eye + off_mean * (1 - eye));
    s.means[c] = mean;
    s.inverses[c] = torch::linalg_pinv(shrunk, 1e-10, /*hermitian=*/true);
    s.present[c] = true;
  }
  return s;
}

torch::Tensor mahalanobis_distances(const torch::Tensor& features, const ClassStatistics& stats) {
  const auto x = features.to(torch::kFloat64);
  const auto means = stats.means.to(x.device());
  const auto inverses = stats.inverses.to(x.device());
  // diff: N×K×D; squared distance: diff·Σ⁻¹·diff per (n, k).
  const auto diff = x.unsqueeze(1) - means.unsqueeze(0);
  const auto projected = torch::einsum("nkd,kde->nke", {diff, inverses});
  const auto squared = (projected * diff).sum(2).clamp_min(1e-12);
  const auto absent = stats.present.to(x.device()).logical_not().unsqueeze(0).expand_as(squared);
  return squared.sqrt().masked_fill(absent, std::numeric_limits<double>::infinity());
}

MethodResult Scar::run(const Model& original, const UnlearnData& data, const RunContext& context,
                       Observer& observer) const {
  const Options& o = options_;
  if (data.forget.numel() == 0) return unchanged_result(original);
  UNLEARN_CHECK(data.retain.numel() > 0, name(),
                ": the retain set is empty; the class statistics and the distillation need it");
  const torch::Device device = context.device();
  const uint64_t seed = method_seed(o.seed(), context);
  const Model teacher = frozen_copy(original, device);

  // The class statistics: the original's features on a seeded sample of D_r.
  ClassStatistics stats;
  {
    auto generator = at::detail::createCPUGenerator(seed + 3);
    const auto order = torch::randperm(data.retain.numel(), generator, torch::kLong);
    const auto rows = data.retain.index_select(
        0, order.slice(0, 0, std::min(o.stat_samples(), data.retain.numel())));
    stats =
        class_statistics(predict_features(teacher, data.inputs.index_select(0, rows), 256),
                         data.labels.index_select(0, rows), original.num_classes(), o.shrinkage());
    UNLEARN_CHECK(stats.present.sum().item<int64_t>() >= 1, name(),
                  ": no class has two retain samples for its statistics");
  }
  stats.means = stats.means.to(device);
  stats.inverses = stats.inverses.to(device);
  stats.present = stats.present.to(device);

  Model model = working_copy(original, context);
  apply_bn_mode(model, o.update().bn_mode());
  const auto params = model.parameters();
  auto optimizer = make_optimizer(o.update(), params);
  const Shard shard = shard_of(context.group());
  BatchStream forget(data.forget, o.update().batch(), seed, true, false, shard);
  BatchStream retain(data.retain, o.update().batch(), seed + 1, true, false, shard);
  UpdateLoop loop(context, name(),
                  steps_for_epochs(data.forget.numel(), o.update().batch(), o.epochs(), shard));
  const double t = o.temperature();
  MethodResult result{original, {}, {}};
  result.trace = run_update_loop(
      loop, params, *optimizer,
      [&](int64_t) {
        const Batch f = fetch_batch(data, forget.next(), device);
        const Batch r = fetch_batch(data, retain.next(), device);
        const int64_t nf = f.x.size(0);
        // One forward pass over both, so that training-mode batch norm sees mixed batches.
        const auto features = model.embed(torch::cat({f.x, r.x}));
        // Each forget sample's distance to its nearest class other than its own, differentiable
        // in the features; the choice of that class is not.
        const auto distances = mahalanobis_distances(features.slice(0, 0, nf), stats);
        const auto nearest =
            distances.detach()
                .scatter(1, f.y.unsqueeze(1), std::numeric_limits<double>::infinity())
                .argmin(1, /*keepdim=*/true);
        const auto pull = distances.gather(1, nearest).mean();
        torch::Tensor teacher_logits;
        {
          torch::NoGradGuard no_grad;
          teacher_logits = teacher.logits(r.x);
        }
        const auto distill = distillation_kl(model.head(features.slice(0, nf)), teacher_logits, t);
        StepLoss out;
        out.loss = o.forget_weight() * pull.to(torch::kFloat32) + o.distill_weight() * distill;
        out.values = {{"mahalanobis", pull.item<double>()}, {"distill", distill.item<double>()}};
        return out;
      },
      observer);
  settle_bn_mode(model, o.update().bn_mode(), data, seed);
  finish_model(model);
  result.summary = step_counts(result.trace, loop.steps);
  result.summary["statistics_classes"] = stats.present.sum().item<int64_t>();
  result.model = std::move(model);
  return result;
}

}  // namespace unlearn
