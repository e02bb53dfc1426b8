#include "unlearn/models/mlp.h"

#include <torch/torch.h>

#include "conv_block.h"
#include "unlearn/core/error.h"

namespace unlearn {

MlpImpl::MlpImpl(const ArchOptions& opts) : FeatureHeadNet(opts) {
  UNLEARN_CHECK(options.width() > 0, "mlp: width must be > 0, got ", options.width());
  UNLEARN_CHECK(options.hidden_layers() >= 0, "mlp: hidden layers must be >= 0, got ",
                options.hidden_layers());
  reset();
}

void MlpImpl::reset() {
  const int64_t hidden = models_detail::scaled(256, options.width());
  torch::nn::Sequential features;
  features->push_back(torch::nn::Flatten());
  int64_t in = options.in_channels() * options.input_size() * options.input_size();
  for (int64_t i = 0; i < options.hidden_layers(); ++i) {
    features->push_back(torch::nn::Linear(in, hidden));
    features->push_back(torch::nn::ReLU());
    in = hidden;
  }
  set_parts(features, torch::nn::Linear(in, options.num_classes()));
}

}  // namespace unlearn
