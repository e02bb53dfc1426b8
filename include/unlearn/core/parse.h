#pragma once
// Whole-string number parsing for option values: "0.1" parses, "0.1x", "" and "nan" do not.

#include <cstdint>
#include <optional>
#include <string>

namespace unlearn {

/// A finite real number spelling the whole of `text`, or nothing.
std::optional<double> parse_real(const std::string& text);

/// A base-10 integer spelling the whole of `text`, or nothing.
std::optional<int64_t> parse_integer(const std::string& text);

}  // namespace unlearn
