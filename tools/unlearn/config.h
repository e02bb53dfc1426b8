#pragma once
// --config FILE: a YAML mapping of option names to values, turned into command-line flags that
// come before the user's own, so flags given on the command line win. --dump-config prints the
// effective configuration in the same form.

#include <CLI/CLI.hpp>
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

/// Adds --dump-config to every subcommand that runs something (and --config where a subcommand
/// lacks it), and makes `app` print the effective configuration and stop when it is given.
/// Call after registering the subcommands; parsing then throws CLI::Success after the dump.
void add_config_options(CLI::App& app);

/// `config.args` with the files' keys turned into flags of the subcommand the arguments name,
/// placed right after its name so that flags on the command line win. A key naming a positional
/// argument becomes that argument's default. Throws UsageError naming the file, line and key
/// of a key the subcommand does not take.
std::vector<std::string> apply_config(CLI::App& app, const ConfigArgs& config);

/// The effective configuration of a parsed subcommand as YAML that --config reads back.
std::string dump_config(const CLI::App& sub);

/// The value of `--flag V` or `--flag=V` in `args`, or `fallback`.
std::string find_flag_value(const std::vector<std::string>& args, const std::string& flag,
                            const std::string& fallback);

}  // namespace unlearn::cli
