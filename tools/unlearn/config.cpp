#include "config.h"

#include <yaml-cpp/yaml.h>

#include "unlearn/core/error.h"

namespace unlearn::cli {

namespace {

std::vector<std::string> flags_from_yaml(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw UsageError(detail::concat("--config: cannot open '", path, "'"));
  } catch (const YAML::Exception& e) {
    throw UsageError(detail::concat("--config: ", path, ": line ", e.mark.line + 1, ": ", e.msg));
  }
  if (!root || root.IsNull()) return {};
  if (!root.IsMap()) throw UsageError(detail::concat("--config: ", path, ": expected a mapping"));
  std::vector<std::string> out;
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    const std::string flag = "--" + key;
    if (v.IsScalar()) {
      const std::string text = v.as<std::string>();
      if (text == "true") {
        out.push_back(flag);
      } else if (text == "false") {
        out.push_back("--no-" + key);
      } else {
        out.push_back(flag);
        out.push_back(text);
      }
    } else if (v.IsSequence()) {
      for (const auto& item : v) {
        if (!item.IsScalar()) {
          throw UsageError(detail::concat("--config: ", path, ": key '", key,
                                          "': expected a list of plain values"));
        }
        out.push_back(flag);
        out.push_back(item.as<std::string>());
      }
    } else {
      throw UsageError(
          detail::concat("--config: ", path, ": key '", key, "': expected a value or a list"));
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> expand_config(const std::vector<std::string>& args) {
  std::vector<std::string> rest, injected;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string path;
    if (args[i] == "--config") {
      if (i + 1 >= args.size()) throw UsageError("--config: a file name is required");
      path = args[++i];
    } else if (args[i].rfind("--config=", 0) == 0) {
      path = args[i].substr(9);
    } else {
      rest.push_back(args[i]);
      continue;
    }
    auto flags = flags_from_yaml(path);
    injected.insert(injected.end(), flags.begin(), flags.end());
  }
  if (injected.empty() || rest.empty()) return rest;
  std::vector<std::string> out{rest.front()};  // the subcommand name
  out.insert(out.end(), injected.begin(), injected.end());
  out.insert(out.end(), rest.begin() + 1, rest.end());
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
