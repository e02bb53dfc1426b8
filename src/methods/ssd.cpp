#include "unlearn/methods/ssd.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <utility>

#include "unlearn/core/error.h"
#include "unlearn/methods/update_loop.h"
#include "unlearn/train/batches.h"

namespace unlearn {

void SsdOptions::validate() const {
  require_option(alpha() > 0, "alpha", "> 0", alpha());
  require_option(lambda() > 0, "lambda", "> 0", lambda());
  require_option(importance_samples() >= 0, "importance-samples", ">= 0 (0 = all)",
                 static_cast<double>(importance_samples()));
  require_option(batch() >= 1, "batch", ">= 1", static_cast<double>(batch()));
}

OptionTable Ssd::option_table(Options& o) {
  OptionTable table;
  table.add("alpha", "selection: dampen weights with I_f > alpha * I_D", o.alpha())
      .add("lambda", "dampening: scale a selected weight by min(lambda * I_D / I_f, 1)", o.lambda())
      .add("importance-samples", "training rows sampled to estimate I_D; 0 uses all of D",
           o.importance_samples())
      .add("batch", "batch size of the importance estimates", o.batch())
      .add("method-seed", "seed of the I_D sample and of the batch order", o.method_seed());
  return table;
}

std::vector<torch::Tensor> fisher_importance(Model& model, const UnlearnData& data,
                                             const torch::Tensor& rows, int64_t batch,
                                             uint64_t seed, torch::Device device,
                                             Observer& observer, const std::string& phase) {
  model.train(false);
  const auto params = model.parameters();
  std::vector<torch::Tensor> importance;
  importance.reserve(params.size());
  for (const auto& p : params) importance.push_back(torch::zeros_like(p));
  BatchStream stream(rows, batch, seed);
  const int64_t batches = stream.batches_per_pass();
  observer.begin(phase, batches);
  for (int64_t b = 0; b < batches; ++b) {
    for (torch::Tensor p : params) {  // a handle copy shares the parameter's gradient slot
      if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
    }
    auto x = fetch_batch(data, stream.next(), device);
    cross_entropy_to(model.logits(x.x), x.y).backward();
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) {
      if (params[i].grad().defined()) importance[i].add_(params[i].grad().square());
    }
    observer.progress(b + 1, "");
  }
  observer.end();
  for (torch::Tensor p : params) p.mutable_grad() = torch::Tensor();
  for (auto& imp : importance) imp.div_(static_cast<double>(batches));
  return importance;
}

int64_t dampen_by_importance(const std::vector<torch::Tensor>& params,
                             const std::vector<torch::Tensor>& importance_all,
                             const std::vector<torch::Tensor>& importance_forget, double alpha,
                             double lambda) {
  UNLEARN_CHECK(params.size() == importance_all.size() && params.size() == importance_forget.size(),
                "dampen_by_importance: ", params.size(), " parameters but ", importance_all.size(),
                " and ", importance_forget.size(), " importances");
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> counts;
  for (size_t i = 0; i < params.size(); ++i) {
    const auto& all = importance_all[i];
    const auto& forget = importance_forget[i];
    auto selected = forget.gt(alpha * all);
    // Only selected elements are scaled; there I_f > 0, so the ratio is finite.
    auto factor = (lambda * all / forget).clamp_max(1.0);
    auto p = params[i];
    p.copy_(torch::where(selected, p * factor, p));
    counts.push_back(selected.sum());
  }
  return counts.empty() ? 0 : torch::stack(counts).sum().item<int64_t>();
}

MethodResult Ssd::run(const Model& original, const UnlearnData& data, const RunContext& context,
                      Observer& observer) const {
  const Options& o = options_;
  if (data.forget.numel() == 0) return unchanged_result(original);
  const torch::Device device = context.device();

  const uint64_t seed = method_seed(o.method_seed(), context);
  torch::Tensor all_rows = torch::cat({data.forget, data.retain});
  if (o.importance_samples() > 0 && o.importance_samples() < all_rows.numel()) {
    auto gen = at::detail::createCPUGenerator(seed);
    auto pick = torch::randperm(all_rows.numel(), gen, torch::kInt64);
    all_rows = all_rows.index_select(0, pick.slice(0, 0, o.importance_samples()));
  }

  Model model = working_copy(original, context);
  // D's batches mix forget and retain rows, as in training. In batches of forget rows alone
  // (or per sample) a forget set holding a share s of D would bound I_f / I_D by 1/s, and
  // alpha = 10 could select nothing for a one-class forget set of a ten-class problem.
  const auto importance_all = fisher_importance(model, data, all_rows, o.batch(), seed + 1, device,
                                                observer, "ssd: importance on D");
  const auto importance_forget = fisher_importance(model, data, data.forget, o.batch(), seed + 2,
                                                   device, observer, "ssd: importance on D_f");
  const auto params = model.parameters();
  const int64_t dampened =
      dampen_by_importance(params, importance_all, importance_forget, o.alpha(), o.lambda());
  int64_t total = 0;
  for (const auto& p : params) total += p.numel();
  finish_model(model);

  TraceRecord record;
  record.step = 1;
  record.values = {{"dampened", static_cast<double>(dampened)},
                   {"dampened_share", total ? static_cast<double>(dampened) / total : 0.0}};
  observer.trace(record);
  MethodResult result{std::move(model), {record}, {}};
  result.summary = {{"dampened_weights", dampened},
                    {"weights", total},
                    {"importance_rows", all_rows.numel()},
                    {"forget_rows", data.forget.numel()}};
  return result;
}

}  // namespace unlearn
