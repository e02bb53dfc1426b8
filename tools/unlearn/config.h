#pragma once
// --config FILE: a YAML mapping of option names to values, turned into command-line flags that
// come before the user's own, so flags given on the command line win.

#include <string>
#include <vector>

namespace unlearn::cli {

/// Returns `args` (without the program name) with every `--config FILE` replaced by the flags
/// the file holds, inserted right after the subcommand name. Throws UsageError naming the
/// file and key for anything that is not a scalar, a list of scalars or a boolean.
std::vector<std::string> expand_config(const std::vector<std::string>& args);

/// The value of `--flag V` or `--flag=V` in `args`, or `fallback`.
std::string find_flag_value(const std::vector<std::string>& args, const std::string& flag,
                            const std::string& fallback);

}  // namespace unlearn::cli
