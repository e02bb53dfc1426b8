#include "config_file.h"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>

#include "unlearn/core/error.h"
#include "unlearn/core/limits.h"

namespace unlearn::cli {

std::string where(const ConfigEntry& e) {
  return detail::concat("--config ", e.file, ": line ", e.line, ": ");
}

// YAML 1.1's booleans, as yaml-cpp reads them.
std::optional<bool> yaml_bool(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (text == "true" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "no" || text == "off") return false;
  return std::nullopt;
}

namespace {

void read_file(const std::string& path, std::vector<ConfigEntry>& entries) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {  // yaml-cpp's errors as usage errors naming the file
    throw UsageError(detail::concat("--config: cannot open '", path, "'"));
  } catch (const YAML::DeepRecursion& e) {  // yaml-cpp says only "bad file"
    throw UsageError(detail::concat("--config ", path, ": line ", e.mark.line + 1,
                                    ": nested more than ", limits::kMaxYamlNesting,
                                    " levels (the limit for YAML files)"));
  } catch (const YAML::Exception& e) {  // with the line
    throw UsageError(detail::concat("--config ", path, ": line ", e.mark.line + 1, ": ", e.msg));
  }
  if (!root || root.IsNull()) return;
  if (!root.IsMap()) {
    throw UsageError(detail::concat("--config ", path, ": line ", root.Mark().line + 1,
                                    ": expected a mapping of option names to values"));
  }
  for (const auto& kv : root) {
    ConfigEntry entry;
    entry.file = path;
    entry.line = kv.first.Mark().line + 1;
    if (!kv.first.IsScalar()) throw UsageError(where(entry) + "expected an option name");
    entry.key = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    if (v.IsScalar()) {
      entry.values.push_back(v.Scalar());
      entry.quoted = v.Tag() == "!";  // yaml-cpp's tag of a quoted scalar; "?" when plain
    } else if (v.IsSequence()) {
      entry.list = true;
      for (const auto& item : v) {
        if (!item.IsScalar()) {
          throw UsageError(detail::concat(where(entry), "key '", entry.key,
                                          "': expected a list of plain values"));
        }
        entry.values.push_back(item.Scalar());
      }
    } else if (v.IsNull()) {
      throw UsageError(detail::concat(where(entry), "key '", entry.key, "' has no value"));
    } else {
      throw UsageError(
          detail::concat(where(entry), "key '", entry.key, "': expected a value or a list"));
    }
    entries.push_back(std::move(entry));
  }
}

}  // namespace

std::string ConfigArgs::value(const std::string& key, const std::string& fallback) const {
  std::string found = fallback;
  for (const auto& e : entries) {
    if (e.key == key && !e.list) found = e.values.front();
  }
  return found;
}

ConfigArgs read_config(const std::vector<std::string>& args) {
  ConfigArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--") {  // what follows is another command's (unlearn launch -- ...)
      out.args.insert(out.args.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      break;
    }
    if (args[i] == "--config") {
      if (i + 1 >= args.size()) throw UsageError("--config: a file name is required");
      read_file(args[++i], out.entries);
    } else if (args[i].rfind("--config=", 0) == 0) {
      read_file(args[i].substr(9), out.entries);
    } else {
      out.args.push_back(args[i]);
    }
  }
  return out;
}

std::string find_flag_value(const std::vector<std::string>& args, const std::string& flag,
                            const std::string& fallback) {
  std::string value = fallback;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == flag && i + 1 < args.size()) value = args[i + 1];
    if (args[i].rfind(flag + "=", 0) == 0) value = args[i].substr(flag.size() + 1);
  }
  return value;
}

}  // namespace unlearn::cli
