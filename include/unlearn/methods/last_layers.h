#pragma once
// What EU-k and CF-k share (Goel et al. 2022): a network's layers in forward order, training
// only the last k of them on D_r, and a seeded fresh model to take new weights from.
// See docs/methods/eu-k.md and docs/methods/cf-k.md.

#include <torch/arg.h>
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "unlearn/methods/method.h"
#include "unlearn/methods/option_table.h"
#include "unlearn/methods/update_loop.h"

namespace unlearn {

/// One layer in the sense of EU-k/CF-k: a Conv or Linear module together with the batch norm
/// that directly follows it. Names are paths in Model::module().named_modules().
struct NetworkLayer {
  std::string name;                  // the conv or linear module, e.g. "features.21"
  std::vector<std::string> modules;  // that module, then its batch norm if one follows
};

/// Every layer of `model` in named_modules() order, which is forward order for our networks
/// (a ResNet block's shortcut comes after its second convolution).
std::vector<NetworkLayer> network_layers(const Model& model);

/// The last `k` layers of `model`; throws UsageError naming --k when the model has fewer.
std::vector<NetworkLayer> last_layers(const Model& model, int64_t k);

/// Prepares `model` for training only `layers`: every other parameter stops requiring
/// gradients, the model enters training mode and every batch norm outside `layers` goes back to
/// eval mode, so that its running statistics stay as they were. Returns the trainable
/// parameters.
std::vector<torch::Tensor> train_only(Model& model, const std::vector<NetworkLayer>& layers);

/// Copies the parameters and buffers of `layers` from `source` into `target` (same
/// architecture), e.g. fresh initial weights into a working copy.
void copy_layers(const Model& source, Model& target, const std::vector<NetworkLayer>& layers);

/// A freshly initialised network of `spec` whose weights depend only on `seed`. LibTorch's
/// global generator is restored afterwards, so other random draws are unaffected.
Model seeded_model(const ModelSpec& spec, uint64_t seed);

/// Options of EU-k and CF-k. Example: EuK m(LastLayersOptions().k(2).epochs(1).lr(0.05));
struct LastLayersOptions {
  TORCH_ARG(int64_t, k) = 3;
  TORCH_ARG(double, epochs) = 2;  // passes over D_r
  TORCH_ARG(UpdateOptions, update) = UpdateOptions();
  TORCH_ARG(int64_t, method_seed) = 0;

 public:
  /// Shorthands for the update options.
  LastLayersOptions& lr(double value) {
    update_.lr(value);
    return *this;
  }
  LastLayersOptions& batch(int64_t value) {
    update_.batch(value);
    return *this;
  }
  /// Throws UsageError naming the first bad option.
  void validate() const;
};

/// Registers --k, --epochs, the update options and --method-seed on `table`.
OptionTable last_layers_option_table(LastLayersOptions& options);

/// Trains the last k layers of a copy of `original` on D_r, all other layers frozen. With
/// `reinitialise` (EU-k) those layers first get fresh weights from seeded_model(); without it
/// (CF-k) they start from the original's.
MethodResult train_last_layers(const std::string& name, const LastLayersOptions& options,
                               bool reinitialise, const Model& original, const UnlearnData& data,
                               const RunContext& context, Observer& observer);

}  // namespace unlearn
