#pragma once
// Enum options and their names, in one table per enum. The table is the only place a choice is
// spelled: the CLI's parsing and --help, YAML configurations, option tables and result files
// all go through it, so an option is parsed once at the edge and compared as an enum after.
//
// Example:
//   enum class SearchNorm { linf, l2 };
//   template <> struct ChoiceTable<SearchNorm> {
//     static constexpr Choice<SearchNorm> kAll[] = {{SearchNorm::linf, "linf"},
//                                                   {SearchNorm::l2, "l2"}};
//   };
//   choice_name(SearchNorm::l2) == "l2";  parse_choice<SearchNorm>("linf", "--norm");

#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "unlearn/core/error.h"

namespace unlearn {

/// One value of an enum option and the name users write for it.
template <class E>
struct Choice {
  E value;
  const char* name;
};

/// Specialised next to each enum with `static constexpr Choice<E> kAll[]`, in the order the
/// choices are listed to users.
template <class E>
struct ChoiceTable;

/// The name of `value`.
template <class E>
const char* choice_name(E value) {
  for (const auto& c : ChoiceTable<E>::kAll) {
    if (c.value == value) return c.name;
  }
  return "?";  // unreachable for a value of the enum
}

/// Every name, in table order.
template <class E>
std::vector<std::string> choice_names() {
  std::vector<std::string> names;
  for (const auto& c : ChoiceTable<E>::kAll) names.emplace_back(c.name);
  return names;
}

/// Every name joined by `separator`: "linf|l2".
template <class E>
std::string choice_list(const char* separator = "|") {
  std::string list;
  for (const auto& c : ChoiceTable<E>::kAll)
    list += (list.empty() ? "" : separator) + std::string(c.name);
  return list;
}

/// The value named `text`, or nullopt.
template <class E>
std::optional<E> find_choice(const std::string& text) {
  for (const auto& c : ChoiceTable<E>::kAll) {
    if (text == c.name) return c.value;
  }
  return std::nullopt;
}

/// The value named `text`; throws UsageError "--flag: expected a|b, got 'text'" otherwise.
template <class E>
E parse_choice(const std::string& text, const std::string& flag) {
  if (auto value = find_choice<E>(text)) return *value;
  throw UsageError(
      detail::concat("--", flag, ": expected ", choice_list<E>(), ", got '", text, "'"));
}

}  // namespace unlearn
