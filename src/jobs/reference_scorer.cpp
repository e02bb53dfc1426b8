#include "unlearn/jobs/reference_scorer.h"

#include <torch/torch.h>

#include <vector>

namespace unlearn {

namespace {

/// `f` applied in eval mode, without autograd, to the model inputs of `data` in batches.
template <typename F>
torch::Tensor batched(const Model& model, const Dataset& data, int64_t batch, F&& f) {
  const torch::Tensor inputs = to_model_input(data.images, model.spec().input);
  const bool was_training = model.is_training();
  const_cast<Model&>(model).train(false);
  std::vector<torch::Tensor> parts;
  {
    torch::InferenceMode guard;
    for (int64_t start = 0; start < data.size(); start += batch) {
      const int64_t end = std::min(start + batch, data.size());
      parts.push_back(
          f(inputs.slice(0, start, end).to(model.device()), start, end).to(torch::kCPU));
    }
  }
  const_cast<Model&>(model).train(was_training);
  return parts.empty() ? torch::zeros({0}) : torch::cat(parts);
}

}  // namespace

torch::Tensor ModelOutlierScorer::features(const Dataset& data) const {
  return batched(model_, data, batch_, [&](const torch::Tensor& x, int64_t, int64_t) {
    return model_.embed(x).flatten(1);
  });
}

torch::Tensor ModelOutlierScorer::losses(const Dataset& data) const {
  return batched(model_, data, batch_, [&](const torch::Tensor& x, int64_t start, int64_t end) {
    const torch::Tensor labels = data.labels.slice(0, start, end).to(model_.device());
    return torch::nn::functional::cross_entropy(
        model_.logits(x), labels,
        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  });
}

}  // namespace unlearn
