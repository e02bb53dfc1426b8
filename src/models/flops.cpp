#include "unlearn/models/flops.h"

#include <torch/torch.h>

#include "unlearn/core/error.h"
#include "unlearn/models/sync_batch_norm.h"

namespace unlearn {

namespace {

/// The activation flowing through the walk: C×H×W, or a flat vector of `c` features.
struct Shape {
  int64_t c = 0, h = 0, w = 0;
  bool flat = false;
};

int64_t pooled(int64_t size, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation) {
  return (size + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1;
}

/// Adds `module`'s cost; returns why it cannot be counted, or an empty string.
std::string walk(torch::nn::Module& module, Shape& shape, ForwardCost& cost) {
  if (auto* seq = dynamic_cast<torch::nn::SequentialImpl*>(&module)) {
    for (auto& child : seq->children()) {
      if (auto why = walk(*child, shape, cost); !why.empty()) return why;
    }
    return {};
  }
  int64_t macs = -1;
  if (auto* conv = dynamic_cast<torch::nn::Conv2dImpl*>(&module)) {
    const auto& o = conv->options;
    const auto k = *o.kernel_size(), s = *o.stride(), d = *o.dilation();
    const auto* pad = c10::get_if<torch::ExpandingArray<2>>(&o.padding());
    if (pad == nullptr) return "FLOP count: convolutions with string padding are not supported";
    const int64_t h = pooled(shape.h, k[0], s[0], (**pad)[0], d[0]);
    const int64_t w = pooled(shape.w, k[1], s[1], (**pad)[1], d[1]);
    macs = o.out_channels() * (o.in_channels() / o.groups()) * k[0] * k[1] * h * w;
    shape = {o.out_channels(), h, w, false};
  } else if (auto* linear = dynamic_cast<torch::nn::LinearImpl*>(&module)) {
    macs = linear->options.in_features() * linear->options.out_features();
    shape = {linear->options.out_features(), 1, 1, true};
  } else if (auto* pool = dynamic_cast<torch::nn::MaxPool2dImpl*>(&module)) {
    const auto& o = pool->options;
    shape.h = pooled(shape.h, (*o.kernel_size())[0], (*o.stride())[0], (*o.padding())[0],
                     (*o.dilation())[0]);
    shape.w = pooled(shape.w, (*o.kernel_size())[1], (*o.stride())[1], (*o.padding())[1],
                     (*o.dilation())[1]);
  } else if (auto* adaptive = dynamic_cast<torch::nn::AdaptiveAvgPool2dImpl*>(&module)) {
    const auto& size = *adaptive->options.output_size();
    shape.h = size[0].value_or(shape.h);
    shape.w = size[1].value_or(shape.w);
  } else if (dynamic_cast<torch::nn::FlattenImpl*>(&module)) {
    shape = {shape.flat ? shape.c : shape.c * shape.h * shape.w, 1, 1, true};
  } else if (dynamic_cast<SyncBatchNorm2dImpl*>(&module) ||
             dynamic_cast<torch::nn::BatchNorm2dImpl*>(&module) ||
             dynamic_cast<torch::nn::BatchNorm1dImpl*>(&module) ||
             dynamic_cast<torch::nn::ReLUImpl*>(&module) ||
             dynamic_cast<torch::nn::DropoutImpl*>(&module)) {
    // shape-preserving and not counted
  } else {
    return detail::concat("FLOP count: layer type ", module.name(),
                          " is not supported (chains of conv, linear, batch norm, ReLU, dropout, "
                          "pooling and flatten only)");
  }
  if (macs >= 0) {
    if (cost.macs == 0) cost.first_macs = macs;
    cost.macs += macs;
  }
  return {};
}

/// The cost of `model`, or why it cannot be counted.
std::string count(const Model& model, ForwardCost& cost) {
  const auto& input = model.spec().input;
  Shape shape{input.channels, input.size, input.size, false};
  for (auto& child : model.module().children()) {
    if (auto why = walk(*child, shape, cost); !why.empty()) return why;
  }
  if (cost.macs == 0) {
    return "FLOP count: no convolution or linear layer found in " + model.spec().arch;
  }
  return {};
}

}  // namespace

ForwardCost forward_cost(const Model& model) {
  ForwardCost cost;
  if (auto why = count(model, cost); !why.empty()) throw InvalidArgument(why);
  return cost;
}

std::optional<ForwardCost> chain_forward_cost(const Model& model) {
  ForwardCost cost;
  if (!count(model, cost).empty()) return std::nullopt;
  return cost;
}

double pass_flops(const ForwardCost& cost, int64_t images, int forwards, int input_backwards,
                  int weight_backwards) {
  const double macs = static_cast<double>(cost.macs);
  const double per_image = forwards * macs + input_backwards * macs +
                           weight_backwards * (2 * macs - static_cast<double>(cost.first_macs));
  return 2.0 * per_image * static_cast<double>(images);
}

}  // namespace unlearn
