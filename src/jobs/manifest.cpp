#include "manifest.h"

#include <algorithm>
#include <filesystem>

#include "unlearn/core/atomic_file.h"
#include "unlearn/core/clock.h"
#include "unlearn/core/json_text.h"
#include "unlearn/core/sha256.h"
#include "unlearn/metrics/output_cache.h"
#include "unlearn/models/torchscript.h"
#include "unlearn/report/result.h"

namespace unlearn::manifest {

std::string path_for(const std::string& out) { return out + ".manifest.json"; }

std::string ids_digest(const Dataset& data, const torch::Tensor& rows,
                       std::vector<std::string>* sorted_ids) {
  const Column& ids = data.metadata.column("id");
  const auto r = rows.to(torch::kInt64).contiguous();
  const int64_t* p = r.data_ptr<int64_t>();
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(r.numel()));
  for (int64_t i = 0; i < r.numel(); ++i) out.push_back(ids.text(p[i]));
  std::sort(out.begin(), out.end());
  Sha256 h;
  for (const auto& id : out) h.update(id + "\n");
  if (sorted_ids) *sorted_ids = std::move(out);
  return h.hex();
}

nlohmann::json data_options_json(const DataOptions& o) {
  return {{"label_index", o.label_index},
          {"frames", o.all_frames ? "all" : "middle"},
          {"image_size", o.image_size}};
}

DataOptions data_options_from(const nlohmann::json& j) {
  DataOptions o;
  o.label_index = j.value("label_index", int64_t{-1});
  o.all_frames = j.value("frames", std::string("middle")) == "all";
  o.image_size = j.value("image_size", int64_t{0});
  return o;
}

std::map<std::string, std::string> digest_files(
    const std::vector<std::pair<std::string, std::string>>& files) {
  std::map<std::string, std::string> out;
  for (const auto& [role, path] : files) {
    if (!path.empty()) out[role] = sha256_file(model_file_path(path));
  }
  return out;
}

nlohmann::json make(const RunFacts& facts, const RunContext& context) {
  nlohmann::json files = nlohmann::json::object();
  for (const auto& [role, path] : facts.files) {
    if (path.empty()) continue;
    const auto known = facts.digests.find(role);
    files[role] = {{"path", path},
                   {"sha256", known != facts.digests.end() ? known->second
                                                           : sha256_file(model_file_path(path))}};
  }
  nlohmann::json m = {{"manifest_version", 1},
                      {"command", facts.command},
                      {"created", utc_now()},
                      // Relative paths in the manifest are relative to this folder.
                      {"cwd", std::filesystem::current_path().string()},
                      {"files", files},
                      {"config", facts.config},
                      {"env", env_entry(context.threads(), context.seed(), context.device().str(),
                                        precision_name(context.precision()))}};
  if (facts.bundle) {
    m["data"] = {{"source", facts.data_source},
                 {"options", data_options_json(facts.data_options)},
                 {"content_sha256", data_digest(*facts.bundle)},
                 {"n_train", facts.bundle->train.size()},
                 {"n_test", facts.bundle->test.size()}};
  }
  if (facts.split) {
    std::vector<std::string> ids;
    m["forget"] = {{"expression", facts.forget},
                   {"n_forget_train", facts.split->train.forget.numel()},
                   {"ids_sha256", ids_digest(facts.bundle->train, facts.split->train.forget,
                                             facts.include_ids ? &ids : nullptr)}};
    if (facts.include_ids) m["forget"]["ids"] = ids;
  }
  nlohmann::json metrics = nlohmann::json::object();
  if (facts.result.contains("models")) {
    for (const auto& [role, entry] : facts.result["models"].items()) {
      if (entry.contains("metrics")) metrics[role] = entry["metrics"];
    }
  }
  if (facts.result.contains("avg_gap")) metrics["avg_gap"] = facts.result["avg_gap"];
  if (facts.result.contains("goals")) metrics["goals"] = facts.result["goals"];
  m["metrics"] = metrics;
  return m;
}

void write(const RunFacts& facts, const std::string& out, bool force, const RunContext& context) {
  write_text_atomically(path_for(out), json_text(make(facts, context), 2) + "\n", force,
                        "--out (manifest)");
}

}  // namespace unlearn::manifest
