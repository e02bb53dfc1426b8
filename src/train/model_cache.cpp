#include "unlearn/train/model_cache.h"

#include <cstdlib>
#include <filesystem>

#include "unlearn/core/error.h"
#include "unlearn/core/sha256.h"

namespace unlearn {

namespace fs = std::filesystem;

std::string training_key(const torch::Tensor& inputs, const torch::Tensor& labels,
                         const torch::Tensor& rows, const ModelSpec& spec,
                         const TrainOptions& recipe, Precision precision) {
  Sha256 h;
  h.update(inputs);
  h.update(labels);
  h.update(rows);
  ModelSpec bare = spec;
  bare.provenance = nlohmann::json::object();
  h.update(bare.to_json().dump());
  nlohmann::json r = {{"epochs", recipe.epochs()},   {"batch", recipe.batch()},
                      {"lr", recipe.lr()},           {"momentum", recipe.momentum()},
                      {"wd", recipe.weight_decay()}, {"schedule", choice_name(recipe.schedule())},
                      {"seed", recipe.seed()}};
  // Only non-default precisions enter the key, so fp32 keys made before the option existed hold.
  if (precision != Precision::fp32) r["precision"] = precision_name(precision);
  h.update(r.dump());
  return h.hex();
}

std::string ModelCache::path(const std::string& key) const {
  return (fs::path(dir_) / (key + ".pt")).string();
}

std::optional<Model> ModelCache::find(const std::string& key) const {
  if (!enabled() || !fs::exists(path(key))) return std::nullopt;
  try {
    return Model::load(path(key));
  } catch (const Error&) {  // a damaged entry is a miss
    return std::nullopt;    // a damaged entry is a miss; it is replaced by the next store
  }
}

void ModelCache::store(const std::string& key, const Model& model) const {
  if (!enabled()) return;
  try {
    fs::create_directories(dir_);
    model.save(path(key), /*force=*/true, "model cache");
  } catch (const std::exception&) {
    // The cache is an optimisation: a read-only or full disk must not fail the run.
  }
}

}  // namespace unlearn
