#include "unlearn/models/allcnn.h"

#include <torch/nn/modules/pooling.h>
#include <torch/torch.h>

#include "conv_block.h"
#include "unlearn/core/error.h"

namespace unlearn {

using models_detail::append_conv_bn_relu;
using models_detail::scaled;

AllCnnImpl::AllCnnImpl(const ArchOptions& opts) : FeatureHeadNet(opts) {
  UNLEARN_CHECK(options.width() > 0, "allcnn: width must be > 0, got ", options.width());
  UNLEARN_CHECK(options.input_size() >= 28, "allcnn: input size must be at least 28, got ",
                options.input_size());
  reset();
}

void AllCnnImpl::reset() {
  const int64_t a = scaled(96, options.width());
  const int64_t b = scaled(192, options.width());
  torch::nn::Sequential features;
  append_conv_bn_relu(features, options.in_channels(), a, 3, 1);
  append_conv_bn_relu(features, a, a, 3, 1);
  append_conv_bn_relu(features, a, a, 3, 2);
  append_conv_bn_relu(features, a, b, 3, 1);
  append_conv_bn_relu(features, b, b, 3, 1);
  append_conv_bn_relu(features, b, b, 3, 2);
  append_conv_bn_relu(features, b, b, 3, 1);
  append_conv_bn_relu(features, b, b, 1, 1);
  // Global pooling lets any input size from 28 up reach the same head.
  features->push_back(torch::nn::AdaptiveAvgPool2d(1));
  features->push_back(torch::nn::Flatten());
  set_parts(features, torch::nn::Linear(b, options.num_classes()));
}

}  // namespace unlearn
