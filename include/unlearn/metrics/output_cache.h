#pragma once
// A disk cache of model outputs, so the original and retrained models are evaluated once per
// data set, not once per unlearning run. Keyed by the SHA-256 of the model file and of the
// decoded data, so a changed model or data set never hits a stale entry.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "unlearn/data/dataset.h"
#include "unlearn/metrics/evaluator.h"

namespace unlearn {

/// Digest of a data bundle's decoded train and test images and labels.
std::string data_digest(const DataBundle& bundle);

class OutputCache {
 public:
  /// `dir` empty disables the cache.
  explicit OutputCache(std::string dir) : dir_(std::move(dir)) {}
  bool enabled() const { return !dir_.empty(); }
  /// Outputs of the model file `model_path` on data with digest `data_key`, if cached.
  std::optional<ModelOutputs> find(const std::string& model_path,
                                   const std::string& data_key) const;
  /// Stores outputs; failures to write are ignored (the cache is an optimisation only).
  void store(const std::string& model_path, const std::string& data_key,
             const ModelOutputs& outputs) const;

  /// A result entry (models.<role>) computed from those outputs for one split and evaluation
  /// seed, named by `split_key`, if cached: the SVM of MIA-efficacy is not retrained for the same
  /// original and retrain in every run.
  std::optional<nlohmann::json> find_entry(const std::string& model_path,
                                           const std::string& data_key,
                                           const std::string& split_key) const;
  void store_entry(const std::string& model_path, const std::string& data_key,
                   const std::string& split_key, const nlohmann::json& entry) const;

 private:
  std::string entry_path(const std::string& model_path, const std::string& data_key,
                         const std::string& extension = ".pt") const;
  std::string dir_;
};

}  // namespace unlearn
