#include "unlearn/metrics/output_cache.h"

#include <torch/serialize.h>
#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "unlearn/core/atomic_file.h"
#include "unlearn/core/json_text.h"
#include "unlearn/core/sha256.h"
#include "unlearn/models/torchscript.h"

namespace unlearn {

namespace fs = std::filesystem;

std::string data_digest(const DataBundle& bundle) {
  Sha256 h;
  for (const Dataset* d : {&bundle.train, &bundle.test}) {
    h.update(d->images);
    h.update(d->labels);
  }
  return h.hex();
}

std::string OutputCache::entry_path(const std::string& model_path, const std::string& data_key,
                                    const std::string& extension) const {
  Sha256 h;
  h.update(sha256_file(model_file_path(model_path)));
  h.update(data_key);
  return (fs::path(dir_) / (h.hex() + extension)).string();
}

std::optional<ModelOutputs> OutputCache::find(const std::string& model_path,
                                              const std::string& data_key) const {
  if (dir_.empty()) return std::nullopt;
  const std::string path = entry_path(model_path, data_key);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  try {
    std::vector<torch::Tensor> tensors;
    torch::load(tensors, path);
    if (tensors.size() != 2) return std::nullopt;
    return ModelOutputs{tensors[0], tensors[1]};
  } catch (const c10::Error&) {  // LibTorch's reader fails on a damaged entry
    return std::nullopt;         // a damaged entry is recomputed and replaced
  }
}

void OutputCache::store(const std::string& model_path, const std::string& data_key,
                        const ModelOutputs& outputs) const {
  if (dir_.empty()) return;
  try {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    const std::string path = entry_path(model_path, data_key);
    write_atomically(path, /*force=*/true, "output cache", [&](const std::string& tmp) {
      torch::save(std::vector<torch::Tensor>{outputs.train_logits, outputs.test_logits}, tmp);
    });
  } catch (const std::exception&) {
    // Not being able to cache never fails a run.
  }
}

std::optional<nlohmann::json> OutputCache::find_entry(const std::string& model_path,
                                                      const std::string& data_key,
                                                      const std::string& split_key) const {
  if (dir_.empty()) return std::nullopt;
  const std::string path = entry_path(model_path, data_key + "|" + split_key, ".json");
  std::ifstream in(path);
  if (!in) return std::nullopt;
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception&) {  // a damaged entry is a miss
    return std::nullopt;                        // a damaged entry is recomputed and replaced
  }
}

void OutputCache::store_entry(const std::string& model_path, const std::string& data_key,
                              const std::string& split_key, const nlohmann::json& entry) const {
  if (dir_.empty()) return;
  try {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    write_text_atomically(entry_path(model_path, data_key + "|" + split_key, ".json"),
                          json_text(entry) + "\n", /*force=*/true, "output cache");
  } catch (const std::exception&) {
    // Not being able to cache never fails a run.
  }
}

}  // namespace unlearn
