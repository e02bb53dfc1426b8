#pragma once
// A disk cache of trained models, keyed by everything that determines the training run (data,
// rows, architecture and input spec, recipe and seed), so that the gold-standard retrain and a
// benchmark's originals are trained once.

#include <torch/types.h>

#include <optional>
#include <string>

#include "unlearn/models/model.h"
#include "unlearn/train/trainer.h"

namespace unlearn {

/// Digest of one training run: the inputs and labels, the training rows, the spec's
/// architecture, options, input spec and class names (not its provenance), the recipe and the
/// precision of the forward passes.
std::string training_key(const torch::Tensor& inputs, const torch::Tensor& labels,
                         const torch::Tensor& rows, const ModelSpec& spec,
                         const TrainOptions& recipe, Precision precision = Precision::fp32);

class ModelCache {
 public:
  /// `dir` empty disables the cache.
  explicit ModelCache(std::string dir) : dir_(std::move(dir)) {}
  bool enabled() const { return !dir_.empty(); }
  /// The file a model with `key` is (or would be) stored in.
  std::string path(const std::string& key) const;
  std::optional<Model> find(const std::string& key) const;
  /// Stores `model`; failures to write are ignored (the cache is an optimisation only).
  void store(const std::string& key, const Model& model) const;

 private:
  std::string dir_;
};

}  // namespace unlearn
