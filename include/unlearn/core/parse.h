#pragma once
// Whole-string number parsing for option values: "0.1" parses, "0.1x", "" and "nan" do not.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace unlearn {

/// A finite real number spelling the whole of `text`, or nothing.
std::optional<double> parse_real(const std::string& text);

/// A base-10 integer spelling the whole of `text`, or nothing.
std::optional<int64_t> parse_integer(const std::string& text);

/// The comma-separated parts of `text`, empty ones kept ("a,,b" has three); none for "".
std::vector<std::string> split_commas(const std::string& text);

/// Comma-separated reals; throws UsageError "FLAG: expected comma-separated numbers, got '...'"
/// naming `flag` for any part that is not one. None for "".
std::vector<double> parse_real_list(const std::string& text, const std::string& flag);

/// "NAME=VALUE" as (NAME, VALUE), split at the last '='; a bare VALUE gives an empty name.
std::pair<std::string, std::string> split_assignment(const std::string& text);

}  // namespace unlearn
