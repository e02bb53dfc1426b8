#include "unlearn/models/resnet18.h"

#include <torch/nn/modules/pooling.h>
#include <torch/torch.h>

#include "conv_block.h"
#include "unlearn/core/error.h"

namespace unlearn {

namespace {

/// Two 3×3 conv/BN layers with an identity (or 1×1 projection) shortcut.
class BasicBlockImpl : public torch::nn::Cloneable<BasicBlockImpl> {
 public:
  BasicBlockImpl(int64_t in, int64_t out, int64_t stride) : in_(in), out_(out), stride_(stride) {
    reset();
  }
  void reset() override {
    namespace nn = torch::nn;
    conv1_ = register_module(
        "conv1",
        nn::Conv2d(nn::Conv2dOptions(in_, out_, 3).stride(stride_).padding(1).bias(false)));
    bn1_ = register_module("bn1", SyncBatchNorm2d(out_));
    conv2_ = register_module(
        "conv2", nn::Conv2d(nn::Conv2dOptions(out_, out_, 3).stride(1).padding(1).bias(false)));
    bn2_ = register_module("bn2", SyncBatchNorm2d(out_));
    shortcut_ = nn::Sequential();
    if (stride_ != 1 || in_ != out_) {
      shortcut_->push_back(nn::Conv2d(nn::Conv2dOptions(in_, out_, 1).stride(stride_).bias(false)));
      shortcut_->push_back(SyncBatchNorm2d(out_));
    }
    register_module("shortcut", shortcut_);
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto y = torch::relu(bn1_->forward(conv1_->forward(x)));
    y = bn2_->forward(conv2_->forward(y));
    auto skip = shortcut_->is_empty() ? x : shortcut_->forward(x);
    return torch::relu(y + skip);
  }

 private:
  int64_t in_, out_, stride_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  SyncBatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Sequential shortcut_{nullptr};
};
TORCH_MODULE(BasicBlock);

}  // namespace

ResNet18Impl::ResNet18Impl(const ArchOptions& opts) : options(opts) {
  UNLEARN_CHECK(options.width() > 0, "resnet18: width must be > 0, got ", options.width());
  UNLEARN_CHECK(options.input_size() >= 8, "resnet18: input size must be at least 8, got ",
                options.input_size());
  reset();
}

void ResNet18Impl::reset() {
  using models_detail::scaled;
  const int64_t base = scaled(64, options.width());
  stem_ = torch::nn::Sequential();
  models_detail::append_conv_bn_relu(stem_, options.in_channels(), base, 3, 1);
  register_module("stem", stem_);
  layers_.clear();
  int64_t in = base;
  for (int64_t stage = 0; stage < 4; ++stage) {
    const int64_t out = scaled(64 << stage, options.width());
    const int64_t stride = stage == 0 ? 1 : 2;
    torch::nn::Sequential layer(BasicBlock(in, out, stride), BasicBlock(out, out, 1));
    layers_.push_back(register_module("layer" + std::to_string(stage + 1), layer));
    in = out;
  }
  fc_ = register_module("fc", torch::nn::Linear(in, options.num_classes()));
}

torch::Tensor ResNet18Impl::embed(const torch::Tensor& x) {
  auto y = stem_->forward(x);
  for (auto& layer : layers_) y = layer->forward(y);
  return torch::adaptive_avg_pool2d(y, {1, 1}).flatten(1);
}

torch::Tensor ResNet18Impl::head(const torch::Tensor& f) { return fc_->forward(f); }

std::vector<ModuleGroup> ResNet18Impl::groups() {
  std::vector<ModuleGroup> out{{"stem", stem_.ptr()}};
  for (size_t i = 0; i < layers_.size(); ++i)
    out.push_back({"layer" + std::to_string(i + 1), layers_[i].ptr()});
  out.push_back({"fc", fc_.ptr()});
  return out;
}

}  // namespace unlearn
