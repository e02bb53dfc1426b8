#pragma once
// Binds a method's command-line options (by flag name, without dashes) to the fields of its
// Options struct, so the CLI, YAML configs and result files share one list of names.

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>
#include <vector>

#include "unlearn/core/choices.h"

namespace unlearn {

/// Option values as text, keyed by flag name without dashes: {"epsilon": "0.1", ...}.
using OptionValues = std::map<std::string, std::string>;

/// What the CLI needs to declare one option.
struct OptionDoc {
  std::string flag;
  std::string help;
  bool is_switch = false;  // a boolean: --flag / --no-flag
  std::string value;       // the bound field's value when docs() was called (its default)
};

class OptionTable {
 public:
  OptionTable& add(const std::string& flag, const std::string& help, double& field);
  OptionTable& add(const std::string& flag, const std::string& help, int64_t& field);
  OptionTable& add(const std::string& flag, const std::string& help, bool& field);
  /// A string field restricted to `choices`.
  OptionTable& add(const std::string& flag, const std::string& help, std::string& field,
                   std::vector<std::string> choices);
  /// An enum field; its names come from ChoiceTable<E> (core/choices.h).
  template <class E, class = std::enable_if_t<std::is_enum_v<E>>>
  OptionTable& add(const std::string& flag, const std::string& help, E& field) {
    return add_entry(
        flag, help + " (" + choice_list<E>() + ")", false,
        [&field, flag](const std::string& text) { field = parse_choice<E>(text, flag); },
        [&field] { return nlohmann::json(choice_name(field)); });
  }

  /// Sets the bound fields from `values`. Throws UsageError naming the flag for an unknown flag
  /// or a value that does not parse; `method` names the method in the message.
  void apply(const OptionValues& values, const std::string& method) const;

  std::vector<OptionDoc> docs() const;
  /// Current values of every bound field, typed.
  nlohmann::json to_json() const;

 private:
  struct Entry {
    OptionDoc doc;
    std::function<void(const std::string&)> set;
    std::function<nlohmann::json()> get;
  };
  OptionTable& add_entry(const std::string& flag, const std::string& help, bool is_switch,
                         std::function<void(const std::string&)> set,
                         std::function<nlohmann::json()> get);

  std::vector<Entry> entries_;
};

}  // namespace unlearn
