#include "unlearn/models/small_cnn.h"

#include <torch/nn/modules/pooling.h>
#include <torch/torch.h>

#include "conv_block.h"
#include "unlearn/core/error.h"

namespace unlearn {

using models_detail::append_conv_bn_relu;
using models_detail::scaled;

SmallCnnImpl::SmallCnnImpl(const ArchOptions& opts) : FeatureHeadNet(opts) {
  UNLEARN_CHECK(options.width() > 0, "small-cnn: width must be > 0, got ", options.width());
  UNLEARN_CHECK(options.input_size() >= 4, "small-cnn: input size must be at least 4, got ",
                options.input_size());
  reset();
}

void SmallCnnImpl::reset() {
  const int64_t a = scaled(32, options.width());
  const int64_t b = scaled(64, options.width());
  const int64_t hidden = scaled(128, options.width());
  torch::nn::Sequential features;
  append_conv_bn_relu(features, options.in_channels(), a, 3, 1);
  features->push_back(torch::nn::MaxPool2d(2));
  append_conv_bn_relu(features, a, b, 3, 1);
  features->push_back(torch::nn::MaxPool2d(2));
  features->push_back(torch::nn::AdaptiveAvgPool2d(2));
  features->push_back(torch::nn::Flatten());
  features->push_back(torch::nn::Linear(b * 4, hidden));
  features->push_back(torch::nn::ReLU());
  set_parts(features, torch::nn::Linear(hidden, options.num_classes()));
}

}  // namespace unlearn
