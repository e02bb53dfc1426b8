#pragma once
// --config FILE as read: the keys of YAML mappings of option names to values, with the file and
// line of each, before they become flags (config.h).

#include <optional>
#include <string>
#include <vector>

namespace unlearn::cli {

/// One key of a --config file, with the line it is on and its value or values as text.
struct ConfigEntry {
  std::string file;
  int line = 0;
  std::string key;
  std::vector<std::string> values;  // one for a scalar
  bool list = false;
  bool quoted = false;  // a scalar in quotes: never a boolean
};

/// The command line with every `--config FILE` taken out, and the keys those files hold.
struct ConfigArgs {
  std::vector<std::string> args;
  std::vector<ConfigEntry> entries;

  /// The last scalar value of `key` in the files, or `fallback`.
  std::string value(const std::string& key, const std::string& fallback) const;
};

/// Reads the files of every `--config FILE` in `args` (without the program name). Throws
/// UsageError naming the file, and the line of a YAML syntax error or of a bad value.
ConfigArgs read_config(const std::vector<std::string>& args);

/// "--config FILE: line N: ", the start of every message about `entry`.
std::string where(const ConfigEntry& entry);

/// YAML 1.1's booleans, as yaml-cpp reads them (true/yes/on, false/no/off, any case).
std::optional<bool> yaml_bool(std::string text);

/// The value of `--flag V` or `--flag=V` in `args`, or `fallback`.
std::string find_flag_value(const std::vector<std::string>& args, const std::string& flag,
                            const std::string& fallback);

}  // namespace unlearn::cli
