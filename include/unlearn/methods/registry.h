#pragma once
// The explicit list of unlearning methods (methods/registry.cpp). Adding a method adds one
// line there; nothing registers itself.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "unlearn/methods/method.h"
#include "unlearn/methods/option_table.h"

namespace unlearn {

struct MethodEntry {
  std::string name;
  std::string summary;
  /// The method's options and their help, for the CLI.
  std::function<std::vector<OptionDoc>()> options;
  /// Presets the method accepts with --preset (may be empty).
  std::vector<std::string> presets;
  /// Builds the method from option values ("preset" selects a preset first).
  std::function<std::unique_ptr<Method>(const OptionValues&)> make;
};

const std::vector<MethodEntry>& method_registry();

/// The entry named `name`; throws UsageError listing the methods when unknown.
const MethodEntry& find_method(const std::string& name);

/// find_method(name).make(values).
std::unique_ptr<Method> make_method(const std::string& name, const OptionValues& values = {});

}  // namespace unlearn
