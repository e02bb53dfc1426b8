#include "unlearn/models/sync_batch_norm.h"

#include <torch/torch.h>

#include "unlearn/core/data_parallel.h"

namespace unlearn {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

const std::vector<int64_t> kReduceDims{0, 2, 3};

torch::Tensor per_channel(const torch::Tensor& v) { return v.view({1, -1, 1, 1}); }

/// Sums over every rank, in float64 so that the count and the squares stay exact enough.
torch::Tensor sum_across_ranks(DataParallelGroup& group, torch::Tensor local) {
  std::vector<torch::Tensor> t{local.to(torch::kFloat64).contiguous()};
  group.all_reduce_sum(t);
  return t[0];
}

// The group rides in the autograd context as an address: IValue holds no raw pointers, and the
// group outlives the step whose backward pass reads it.
int64_t as_saved(DataParallelGroup* group) { return reinterpret_cast<int64_t>(group); }
DataParallelGroup& from_saved(const c10::IValue& saved) {
  return *reinterpret_cast<DataParallelGroup*>(saved.toInt());
}

/// y = (x - mean) / sqrt(var + eps) * weight + bias with mean and var over every rank's batch.
/// Returns y, the global mean and the unbiased global variance (for the running statistics).
class GlobalBatchNorm : public torch::autograd::Function<GlobalBatchNorm> {
 public:
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias, double eps,
                               DataParallelGroup* group) {
    const int64_t channels = x.size(1);
    const auto xf = x.to(torch::kFloat32);
    const auto local_count =
        torch::full({1}, static_cast<double>(x.numel() / channels), torch::kFloat64);
    const auto sums = sum_across_ranks(
        *group, torch::cat({xf.sum(kReduceDims).to(torch::kFloat64),
                            (xf * xf).sum(kReduceDims).to(torch::kFloat64), local_count}));
    const double count = sums[2 * channels].item<double>();
    const auto mean = sums.slice(0, 0, channels) / count;
    const auto var = (sums.slice(0, channels, 2 * channels) / count - mean * mean).clamp_min(0);
    const auto invstd = (var + eps).rsqrt().to(torch::kFloat32);
    const auto mean32 = mean.to(torch::kFloat32);
    // The running variance is unbiased, as in BatchNorm2d.
    const auto unbiased = (var * (count / std::max(1.0, count - 1))).to(torch::kFloat32);
    ctx->save_for_backward({xf, weight, mean32, invstd});
    ctx->saved_data["count"] = count;
    ctx->saved_data["group"] = as_saved(group);
    auto y = (xf - per_channel(mean32)) * per_channel(invstd * weight) + per_channel(bias);
    ctx->mark_non_differentiable({mean32, unbiased});
    return {y.to(x.scalar_type()), mean32, unbiased};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& weight = saved[1];
    const auto xhat = (x - per_channel(saved[2])) * per_channel(saved[3]);
    const auto dy = grads[0].to(torch::kFloat32);
    const int64_t channels = x.size(1);
    const auto sum_dy = dy.sum(kReduceDims);
    const auto sum_dy_xhat = (dy * xhat).sum(kReduceDims);
    const auto global =
        sum_across_ranks(from_saved(ctx->saved_data["group"]), torch::cat({sum_dy, sum_dy_xhat}))
            .to(torch::kFloat32) /
        ctx->saved_data["count"].toDouble();
    const auto dx = (dy - per_channel(global.slice(0, 0, channels)) -
                     xhat * per_channel(global.slice(0, channels, 2 * channels))) *
                    per_channel(saved[3] * weight);
    // The affine gradients stay local: the data-parallel gradient average combines them.
    return {dx.to(grads[0].scalar_type()), sum_dy_xhat, sum_dy, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

void SyncBatchNorm2dImpl::_check_input_dim(const torch::Tensor& input) {
  TORCH_CHECK(input.dim() == 4, "expected 4D input (got ", input.dim(), "D input)");
}

void SyncBatchNorm2dImpl::pretty_print(std::ostream& stream) const {
  stream << "unlearn::SyncBatchNorm2d(" << options.num_features() << ", eps=" << options.eps()
         << ")";
}

torch::Tensor SyncBatchNorm2dImpl::forward(const torch::Tensor& input) {
  _check_input_dim(input);
  // BatchNorm2d's rule: a fixed momentum, or without one a cumulative average.
  double factor = options.momentum().value_or(0.0);
  const bool update = is_training() && options.track_running_stats();
  if (update) {
    num_batches_tracked.add_(1);
    if (!options.momentum()) factor = 1.0 / num_batches_tracked.item<double>();
  }
  if (!update || group_ == nullptr || !options.affine()) {
    return torch::nn::functional::detail::batch_norm(
        input, running_mean, running_var, weight, bias,
        is_training() || !options.track_running_stats(), factor, options.eps());
  }
  const auto out = GlobalBatchNorm::apply(input, weight, bias, options.eps(), group_);
  {
    torch::NoGradGuard no_grad;
    running_mean.mul_(1 - factor).add_(out[1].detach(), factor);
    running_var.mul_(1 - factor).add_(out[2].detach(), factor);
  }
  return out[0];
}

}  // namespace unlearn
