#pragma once
// --config FILE: a YAML mapping of option names to values, turned into command-line flags that
// come before the user's own, so flags given on the command line win. --dump-config prints the
// effective configuration in the same form.

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "config_file.h"

namespace unlearn::cli {

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

}  // namespace unlearn::cli
