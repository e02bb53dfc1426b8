#include "unlearn/methods/salun.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "unlearn/core/error.h"

namespace unlearn {

void SalunOptions::validate() const {
  require_option(threshold() > 0 && threshold() <= 1, "threshold", "a share in (0,1]", threshold());
  relabel().validate();
}

SaliencyMask saliency_mask(Model& model, const UnlearnData& data, int64_t batch, double threshold,
                           torch::Device device) {
  UNLEARN_CHECK(batch >= 1, "saliency_mask: batch ", batch, " (expected >= 1)");
  UNLEARN_CHECK(threshold >= 0 && threshold <= 1, "saliency_mask: threshold ", threshold,
                " (expected a share in [0,1])");
  const auto params = model.parameters();
  auto drop_gradients = [&] {
    for (torch::Tensor p : params) {
      if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
    }
  };
  const bool was_training = model.is_training();
  model.train(false);
  drop_gradients();
  // Each chunk contributes its summed loss / |D_f|: the gradient of the mean over all of D_f,
  // whatever the batch size.
  const int64_t n = data.forget.numel();
  for (int64_t start = 0; start < n; start += batch) {
    const auto rows = data.forget.slice(0, start, std::min(n, start + batch));
    const Batch b = fetch_batch(data, rows, device);
    const double share = static_cast<double>(rows.numel()) / static_cast<double>(n);
    (cross_entropy_to(model.logits(b.x), b.y) * share).backward();
  }

  SaliencyMask out;
  std::vector<torch::Tensor> magnitudes;
  magnitudes.reserve(params.size());
  {
    torch::NoGradGuard no_grad;
    for (const auto& p : params) {
      magnitudes.push_back(p.grad().defined() ? p.grad().abs().flatten()
                                              : torch::zeros({p.numel()}, p.options()));
    }
    const auto all = torch::cat(magnitudes);
    out.total = all.numel();
    out.selected =
        std::clamp<int64_t>(std::llround(threshold * static_cast<double>(out.total)), 0, out.total);
    auto flat = torch::zeros_like(all);
    if (out.selected > 0) {
      const auto top = std::get<1>(all.topk(out.selected, 0, /*largest=*/true, /*sorted=*/false));
      flat.index_fill_(0, top, 1.0);
    }
    int64_t offset = 0;
    for (const auto& p : params) {
      out.masks.push_back(flat.slice(0, offset, offset + p.numel()).view_as(p).clone());
      offset += p.numel();
    }
  }
  drop_gradients();
  model.train(was_training);
  return out;
}

OptionTable Salun::option_table(Options& o) {
  OptionTable table = RandomLabel::option_table(o.relabel());
  table.add("threshold", "share of all weights, the most salient for the forget loss, that move",
            o.threshold());
  return table;
}

MethodResult Salun::run(const Model& original, const UnlearnData& data, const RunContext& context,
                        Observer& observer) const {
  const Options& o = options_;
  if (data.forget.numel() == 0) return unchanged_result(original);
  const torch::Device device = context.device();
  const UpdateOptions& u = o.relabel().update();

  Model model = working_copy(original, context);
  const auto params = model.parameters();
  const SaliencyMask mask = saliency_mask(model, data, u.batch(), o.threshold(), device);
  observer.message(
      detail::concat("salun: the mask frees ", mask.selected, " of ", mask.total, " weights"));

  // The optimiser gets no weight decay of its own: decay enters the gradient here and is masked
  // with it, so momentum buffers and Adam's moments stay exactly 0 outside the mask.
  auto optimizer = make_optimizer(u.optimizer(), params, u.lr(), u.momentum(), 0.0);
  const double decay = u.weight_decay();
  auto mask_gradients = [&] {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) {
      torch::Tensor p = params[i];  // a handle copy shares the parameter's gradient slot
      if (!p.grad().defined()) continue;
      torch::Tensor& grad = p.mutable_grad();
      if (decay > 0) grad.add_(p.detach(), decay);
      grad.mul_(mask.masks[i]);
    }
  };
  auto trace = run_random_label_updates(model, data, o.relabel(), *optimizer, mask_gradients,
                                        name(), context, observer);

  settle_bn_mode(model, u.bn_mode(), data, method_seed(o.relabel().seed(), context));
  finish_model(model);
  MethodResult result{std::move(model), std::move(trace), {}};
  result.summary = step_counts(result.trace, random_label_steps(data, o.relabel(), context));
  result.summary["masked_weights"] = mask.selected;
  result.summary["total_weights"] = mask.total;
  result.summary["mask_share"] =
      static_cast<double>(mask.selected) / static_cast<double>(std::max<int64_t>(1, mask.total));
  return result;
}

}  // namespace unlearn
