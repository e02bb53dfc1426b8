#pragma once
// Where unlearn keeps files between runs: the caches, the run registry and the configuration
// folder. Each has its own environment override, then follows the XDG base-directory rules.
// Only the command-line tool calls these; the library receives the folders in RunContext or an
// options struct.

#include <string>

namespace unlearn {

/// Output cache (metrics/output_cache.h): $UNLEARN_CACHE_DIR, else
/// $XDG_CACHE_HOME/unlearn/outputs, else ~/.cache/unlearn/outputs; empty without HOME.
std::string default_output_cache_dir();

/// Trained-model cache (train/model_cache.h): $UNLEARN_CACHE_DIR/models, else
/// $XDG_CACHE_HOME/unlearn/models, else ~/.cache/unlearn/models; empty without HOME.
std::string default_model_cache_dir();

/// Run registry file (registry/run_registry.h): $UNLEARN_REGISTRY, else
/// $XDG_DATA_HOME/unlearn/registry.sqlite, else ~/.local/share/unlearn/registry.sqlite; empty
/// without HOME.
std::string default_registry_path();

/// Configuration folder (the patient salt): $UNLEARN_CONFIG_DIR, else $XDG_CONFIG_HOME/unlearn,
/// else ~/.config/unlearn; empty without HOME.
std::string default_config_dir();

}  // namespace unlearn
