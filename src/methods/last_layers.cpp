#include "unlearn/methods/last_layers.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/torch.h>

#include <mutex>
#include <set>

#include "unlearn/core/error.h"
#include "unlearn/models/sync_batch_norm.h"
#include "unlearn/train/batches.h"

namespace unlearn {

namespace {

// An imported TorchScript model's modules are plain Modules holding the script's tensors, so
// besides the stock classes a layer is also told by its tensors: a batch norm by its running
// statistics, a conv or linear layer by a weight of two or more dimensions.
bool has_running_stats(const torch::nn::Module& m) {
  return m.named_buffers(/*recurse=*/false).contains("running_mean");
}

bool is_layer_weight_module(const torch::nn::Module& m) {
  if (dynamic_cast<const torch::nn::Conv1dImpl*>(&m) ||
      dynamic_cast<const torch::nn::Conv2dImpl*>(&m) ||
      dynamic_cast<const torch::nn::Conv3dImpl*>(&m) ||
      dynamic_cast<const torch::nn::LinearImpl*>(&m)) {
    return true;
  }
  // Keep the dictionary alive: find() points into it (ASan caught a use after free here).
  const auto parameters = m.named_parameters(/*recurse=*/false);
  const auto* weight = parameters.find("weight");
  return weight != nullptr && weight->dim() >= 2 && !has_running_stats(m);
}

bool is_layer_norm_module(const torch::nn::Module& m) {
  return dynamic_cast<const SyncBatchNorm2dImpl*>(&m) ||
         dynamic_cast<const torch::nn::BatchNorm1dImpl*>(&m) ||
         dynamic_cast<const torch::nn::BatchNorm2dImpl*>(&m) ||
         dynamic_cast<const torch::nn::BatchNorm3dImpl*>(&m) || has_running_stats(m);
}

std::set<std::string> names_of_layer_modules(const std::vector<NetworkLayer>& layers) {
  std::set<std::string> names;
  for (const auto& layer : layers) names.insert(layer.modules.begin(), layer.modules.end());
  return names;
}

}  // namespace

std::vector<NetworkLayer> network_layers(const Model& model) {
  std::vector<NetworkLayer> layers;
  bool after_weight_layer = false;  // the previous leaf module was a conv or linear
  for (const auto& item : model.module().named_modules("", /*include_self=*/false)) {
    const torch::nn::Module& m = *item.value();
    if (!m.children().empty()) continue;  // containers: only leaves are layers
    if (is_layer_weight_module(m)) {
      layers.push_back({item.key(), {item.key()}});
      after_weight_layer = true;
      continue;
    }
    if (is_layer_norm_module(m) && after_weight_layer) layers.back().modules.push_back(item.key());
    after_weight_layer = false;
  }
  return layers;
}

std::vector<NetworkLayer> last_layers(const Model& model, int64_t k) {
  auto layers = network_layers(model);
  const auto count = static_cast<int64_t>(layers.size());
  UNLEARN_CHECK_AS(UsageError, k >= 1 && k <= count, "--k: expected 1 to ", count, " (the ",
                   model.spec().arch, " model has ", count, " conv/linear layers), got ", k);
  return {layers.end() - k, layers.end()};
}

std::vector<torch::Tensor> train_only(Model& model, const std::vector<NetworkLayer>& layers) {
  const auto trained = names_of_layer_modules(layers);
  for (auto& p : model.parameters()) p.set_requires_grad(false);
  model.train(true);
  model.set_batchnorm_training(false);
  std::vector<torch::Tensor> params;
  for (const auto& item : model.module().named_modules("", /*include_self=*/false)) {
    if (trained.count(item.key()) == 0) continue;
    if (is_layer_norm_module(*item.value())) item.value()->train(true);
    for (auto& p : item.value()->parameters(/*recurse=*/false)) {
      p.set_requires_grad(true);
      params.push_back(p);
    }
  }
  return params;
}

void copy_layers(const Model& source, Model& target, const std::vector<NetworkLayer>& layers) {
  torch::NoGradGuard no_grad;
  auto from = source.module().named_modules("", /*include_self=*/false);
  auto to = target.module().named_modules("", /*include_self=*/false);
  for (const auto& name : names_of_layer_modules(layers)) {
    const auto* src = from.find(name);
    const auto* dst = to.find(name);
    UNLEARN_CHECK(src && dst, "copy_layers: no module '", name, "' in both models");
    auto src_params = (*src)->named_parameters(false);
    for (auto& item : (*dst)->named_parameters(false)) item.value().copy_(src_params[item.key()]);
    auto src_buffers = (*src)->named_buffers(false);
    for (auto& item : (*dst)->named_buffers(false)) item.value().copy_(src_buffers[item.key()]);
  }
}

Model seeded_model(const ModelSpec& spec, uint64_t seed) {
  auto generator = at::detail::getDefaultCPUGenerator();
  torch::Tensor saved;
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    saved = generator.get_state();
    generator.set_current_seed(seed);
  }
  // The initialisers draw from the global generator and take its lock themselves.
  Model model = Model::create(spec);
  {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(saved);
  }
  return model;
}

void LastLayersOptions::validate() const {
  require_option(k() >= 1, "k", ">= 1", static_cast<double>(k()));
  require_option(epochs() > 0, "epochs", "> 0", epochs());
  update().validate();
}

OptionTable last_layers_option_table(LastLayersOptions& o) {
  OptionTable table;
  table
      .add("k", "number of layers (conv or linear, with its batch norm) counted from the output",
           o.k())
      .add("epochs", "passes over the retain set", o.epochs());
  add_update_options(table, o.update());
  table.add("method-seed", "seed of the batch order and of fresh weights", o.method_seed());
  return table;
}

MethodResult train_last_layers(const std::string& name, const LastLayersOptions& o,
                               bool reinitialise, const Model& original, const UnlearnData& data,
                               const RunContext& context, Observer& observer) {
  if (data.forget.numel() == 0) return unchanged_result(original);
  UNLEARN_CHECK(data.retain.numel() > 0, name, ": the retain set is empty; ", name,
                " trains on retain samples only");
  const torch::Device device = context.device();
  const uint64_t seed = method_seed(o.method_seed(), context);

  Model model = working_copy(original, context);
  const auto layers = last_layers(model, o.k());
  if (reinitialise) {
    Model fresh = seeded_model(original.spec(), seed);
    fresh.to(device);
    copy_layers(fresh, model, layers);
  }
  const auto params = train_only(model, layers);
  auto optimizer = make_optimizer(o.update(), params);
  const Shard shard = shard_of(context.group());
  BatchStream retain(data.retain, o.update().batch(), seed + 1, true, false, shard);

  UpdateLoop loop(context, name,
                  steps_for_epochs(data.retain.numel(), o.update().batch(), o.epochs(), shard));
  MethodResult result{original, {}, {}};
  result.trace = run_update_loop(
      loop, params, *optimizer,
      [&](int64_t) {
        auto batch = fetch_batch(data, retain.next(), device);
        return StepLoss{cross_entropy_to(model.logits(batch.x), batch.y), {}};
      },
      observer);
  finish_model(model);

  int64_t trained_count = 0;
  for (const auto& p : params) trained_count += p.numel();
  nlohmann::json names = nlohmann::json::array();
  for (const auto& layer : layers) names.push_back(layer.name);
  result.summary = step_counts(result.trace, loop.steps);
  result.summary["trained_layers"] = names;
  result.summary["trained_parameters"] = trained_count;
  result.summary["reinitialised"] = reinitialise;
  result.model = std::move(model);
  return result;
}

}  // namespace unlearn
