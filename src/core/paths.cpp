#include "unlearn/core/paths.h"

#include <cstdlib>
#include <filesystem>

namespace unlearn {

namespace {

namespace fs = std::filesystem;

const char* set_env(const char* name) {
  const char* value = std::getenv(name);
  return value && *value ? value : nullptr;
}

/// `$override_env`/`override_leaf`, else `$xdg_env`/`leaf`, else ~/`home_folder`/`leaf`.
std::string user_path(const char* override_env, const char* override_leaf, const char* xdg_env,
                      const char* home_folder, const fs::path& leaf) {
  if (const char* dir = set_env(override_env)) {
    return *override_leaf ? (fs::path(dir) / override_leaf).string() : std::string(dir);
  }
  if (const char* xdg = set_env(xdg_env)) return (fs::path(xdg) / leaf).string();
  if (const char* home = set_env("HOME")) return (fs::path(home) / home_folder / leaf).string();
  return "";
}

}  // namespace

std::string default_output_cache_dir() {
  // The override is the output cache itself (the model cache sits in its "models" folder).
  return user_path("UNLEARN_CACHE_DIR", "", "XDG_CACHE_HOME", ".cache",
                   fs::path("unlearn") / "outputs");
}

std::string default_model_cache_dir() {
  return user_path("UNLEARN_CACHE_DIR", "models", "XDG_CACHE_HOME", ".cache",
                   fs::path("unlearn") / "models");
}

std::string default_registry_path() {
  return user_path("UNLEARN_REGISTRY", "", "XDG_DATA_HOME", ".local/share",
                   fs::path("unlearn") / "registry.sqlite");
}

std::string default_config_dir() {
  return user_path("UNLEARN_CONFIG_DIR", "", "XDG_CONFIG_HOME", ".config", "unlearn");
}

}  // namespace unlearn
