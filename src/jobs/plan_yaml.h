#pragma once
// Reading the YAML plans of `unlearn bench` and `unlearn sweep`: every problem is a UsageError
// "FILE:LINE: ..." naming the key or value. Internal to jobs/.

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <regex>
#include <string>
#include <vector>

#include "unlearn/core/choices.h"
#include "unlearn/core/error.h"
#include "unlearn/core/limits.h"
#include "unlearn/jobs/jobs.h"
#include "unlearn/jobs/sweep.h"
#include "unlearn/methods/option_table.h"

namespace unlearn::plan {

/// "FILE:LINE: message" as a UsageError.
[[noreturn]] inline void plan_error(const std::string& path, const YAML::Node& node,
                                    const std::string& message) {
  const int line = node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
  throw UsageError(detail::concat(path, ":", line, ": ", message));
}

inline std::string scalar(const std::string& path, const YAML::Node& node,
                          const std::string& what) {
  if (!node.IsScalar()) plan_error(path, node, what + ": expected a plain value");
  return node.as<std::string>();
}

/// Rejects keys of `map` outside `allowed`, naming the key and its line.
inline void check_keys(const std::string& path, const YAML::Node& map, const std::string& where,
                       std::initializer_list<const char*> allowed) {
  if (!map.IsMap()) plan_error(path, map, where + ": expected a mapping");
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>();
    bool ok = false;
    std::string list;
    for (const char* a : allowed) {
      ok = ok || key == a;
      list += (list.empty() ? "" : ", ") + std::string(a);
    }
    if (!ok)
      plan_error(path, kv.first,
                 detail::concat(where, ": unknown key '", key, "' (known: ", list, ")"));
  }
}

/// A name usable as a folder: letters, digits, '.', '_' and '-'.
inline void check_name(const std::string& path, const YAML::Node& node, const std::string& name,
                       const std::string& what) {
  static const std::regex safe("[A-Za-z0-9._-]+");
  if (!std::regex_match(name, safe) || name == "." || name == "..") {
    plan_error(path, node,
               detail::concat(what, " '", name, "': use letters, digits, '.', '_' and '-' only"));
  }
}

/// An enum option's value, by its name in ChoiceTable<E>.
template <class E>
E choice(const std::string& path, const YAML::Node& node, const std::string& what) {
  const std::string text = scalar(path, node, what);
  if (auto value = find_choice<E>(text)) return *value;
  plan_error(path, node, what + ": expected " + choice_list<E>() + ", got '" + text + "'");
}

template <class T>
T number(const std::string& path, const YAML::Node& node, const std::string& what) {
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {  // yaml-cpp's conversion error, with the file and line
    plan_error(path, node, what + ": expected a number, got '" + node.as<std::string>("") + "'");
  }
}

/// A true/false value.
inline bool boolean(const std::string& path, const YAML::Node& node, const std::string& what) {
  const std::string text = scalar(path, node, what);
  if (text == "true") return true;
  if (text == "false") return false;
  plan_error(path, node, what + ": expected true or false, got '" + text + "'");
}

inline void read_model_section(const std::string& path, const YAML::Node& node, TrainJob& job) {
  check_keys(path, node, "model", {"arch", "width", "input_size", "normalize"});
  if (node["arch"]) {
    job.arch = scalar(path, node["arch"], "model.arch");
    const auto& known = architecture_names();
    if (std::find(known.begin(), known.end(), job.arch) == known.end()) {
      plan_error(path, node["arch"], "model.arch: unknown architecture '" + job.arch + "'");
    }
  }
  if (node["width"]) job.width = number<double>(path, node["width"], "model.width");
  if (node["input_size"]) {
    job.input_size = number<int64_t>(path, node["input_size"], "model.input_size");
  }
  if (node["normalize"]) job.normalize = scalar(path, node["normalize"], "model.normalize");
}

inline void read_recipe_section(const std::string& path, const YAML::Node& node, TrainOptions& r) {
  check_keys(path, node, "recipe",
             {"epochs", "batch", "lr", "momentum", "weight_decay", "schedule"});
  if (node["epochs"]) r.epochs(number<int64_t>(path, node["epochs"], "recipe.epochs"));
  if (node["batch"]) r.batch(number<int64_t>(path, node["batch"], "recipe.batch"));
  if (node["lr"]) r.lr(number<double>(path, node["lr"], "recipe.lr"));
  if (node["momentum"]) r.momentum(number<double>(path, node["momentum"], "recipe.momentum"));
  if (node["weight_decay"]) {
    r.weight_decay(number<double>(path, node["weight_decay"], "recipe.weight_decay"));
  }
  if (node["schedule"]) r.schedule(choice<LrSchedule>(path, node["schedule"], "recipe.schedule"));
  try {
    r.validate();
  } catch (const Error& e) {  // names the plan file and line
    plan_error(path, node, std::string("recipe: ") + e.what());
  }
}

/// A method's `options:` mapping as text values.
inline OptionValues read_options(const std::string& path, const YAML::Node& node) {
  OptionValues values;
  if (!node) return values;
  if (!node.IsMap()) plan_error(path, node, "options: expected a mapping");
  for (const auto& kv : node) {
    values[kv.first.as<std::string>()] =
        scalar(path, kv.second, "option " + kv.first.as<std::string>());
  }
  return values;
}

/// Loads a YAML file; a missing file or a syntax error is a UsageError naming file and line.
inline YAML::Node load_plan(const std::string& path, const std::string& what) {
  try {
    return YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {  // yaml-cpp's errors as usage errors naming the file
    throw UsageError(detail::concat(what, ": cannot open '", path, "'"));
  } catch (const YAML::DeepRecursion& e) {  // yaml-cpp says only "bad file"
    throw UsageError(detail::concat(path, ":", e.mark.line + 1, ": nested more than ",
                                    limits::kMaxYamlNesting, " levels (the limit for YAML files)"));
  } catch (const YAML::Exception& e) {  // with the line
    throw UsageError(detail::concat(path, ":", e.mark.line + 1, ": ", e.msg));
  }
}

/// A search space (sweep `space:`, a bench method's `space:`): option -> a list of values, one
/// value, or {uniform|log-uniform|int-uniform: [low, high]} (random search only). Every listed
/// value and both ends of every range are checked against `method` with `fixed`; errors are
/// UsageErrors naming the file and line. Defined in sweep.cpp.
std::vector<SweepParam> read_search_space(const std::string& path, const YAML::Node& space,
                                          const std::string& method, const OptionValues& fixed,
                                          const std::string& search);

}  // namespace unlearn::plan
