#pragma once
// JSON serialisation that never throws on text that is not UTF-8 (a file name from a
// non-UTF-8 file system, say): such bytes become U+FFFD instead of aborting a finished run.

#include <nlohmann/json.hpp>
#include <string>

namespace unlearn {

inline std::string json_text(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace unlearn
