#include "unlearn/models/provenance.h"

#include <filesystem>

#include "unlearn/core/sha256.h"
#include "unlearn/models/torchscript.h"

namespace unlearn {

std::string model_origin(const Model& model, const std::string& path) {
  const auto& prov = model.spec().provenance;
  if (prov.contains("origin") && prov["origin"].is_string()) return prov["origin"];
  const std::string command = prov.value("command", "");
  // A trained or imported model is its own origin.
  if (command == "train" || command == "import") return sha256_file(model_file_path(path));
  // Files written before origins were recorded: follow the parent while it exists.
  if (prov.contains("parent") && prov["parent"].is_string()) {
    const std::string parent = prov["parent"];
    std::error_code ec;
    if (parent != path && std::filesystem::is_regular_file(parent, ec)) {
      return model_origin(Model::load(parent), parent);
    }
  }
  return "";
}

}  // namespace unlearn
