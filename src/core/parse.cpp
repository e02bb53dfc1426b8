#include "unlearn/core/parse.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "unlearn/core/error.h"

namespace unlearn {

std::optional<double> parse_real(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (*end != '\0' || errno == ERANGE || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<int64_t> parse_integer(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (*end != '\0' || errno == ERANGE) return std::nullopt;
  return static_cast<int64_t>(v);
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> parts;
  if (text.empty()) return parts;
  size_t start = 0;
  for (size_t comma = text.find(',');; comma = text.find(',', start)) {
    parts.push_back(text.substr(start, comma == std::string::npos ? comma : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return parts;
}

std::vector<double> parse_real_list(const std::string& text, const std::string& flag) {
  std::vector<double> values;
  for (const auto& part : split_commas(text)) {
    const auto value = parse_real(part);
    if (!value) {
      throw UsageError(
          detail::concat(flag, ": expected comma-separated numbers, got '", text, "'"));
    }
    values.push_back(*value);
  }
  return values;
}

std::pair<std::string, std::string> split_assignment(const std::string& text) {
  const auto eq = text.rfind('=');
  if (eq == std::string::npos) return {"", text};
  return {text.substr(0, eq), text.substr(eq + 1)};
}

}  // namespace unlearn
