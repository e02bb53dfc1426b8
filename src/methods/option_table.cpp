#include "unlearn/methods/option_table.h"

#include <algorithm>

#include "unlearn/core/error.h"
#include "unlearn/core/parse.h"

namespace unlearn {

namespace {

std::string bad_value(const std::string& flag, const std::string& text, const char* expected) {
  return detail::concat("--", flag, ": expected ", expected, ", got '", text, "'");
}

}  // namespace

OptionTable& OptionTable::add_entry(const std::string& flag, const std::string& help,
                                    bool is_switch, std::function<void(const std::string&)> set,
                                    std::function<nlohmann::json()> get) {
  Entry entry;
  entry.doc.flag = flag;
  entry.doc.help = help;
  entry.doc.is_switch = is_switch;
  entry.set = std::move(set);
  entry.get = std::move(get);
  entries_.push_back(std::move(entry));
  return *this;
}

OptionTable& OptionTable::add(const std::string& flag, const std::string& help, double& field) {
  return add_entry(
      flag, help, false,
      [&field, flag](const std::string& text) {
        const auto v = parse_real(text);
        if (!v) throw UsageError(bad_value(flag, text, "a number"));
        field = *v;
      },
      [&field] { return nlohmann::json(field); });
}

OptionTable& OptionTable::add(const std::string& flag, const std::string& help, int64_t& field) {
  return add_entry(
      flag, help, false,
      [&field, flag](const std::string& text) {
        const auto v = parse_integer(text);
        if (!v) throw UsageError(bad_value(flag, text, "an integer"));
        field = *v;
      },
      [&field] { return nlohmann::json(field); });
}

OptionTable& OptionTable::add(const std::string& flag, const std::string& help, bool& field) {
  return add_entry(
      flag, help, true,
      [&field, flag](const std::string& text) {
        if (text == "true" || text == "1" || text == "on") {
          field = true;
        } else if (text == "false" || text == "0" || text == "off") {
          field = false;
        } else {
          throw UsageError(bad_value(flag, text, "true or false"));
        }
      },
      [&field] { return nlohmann::json(field); });
}

OptionTable& OptionTable::add(const std::string& flag, const std::string& help, std::string& field,
                              std::vector<std::string> choices) {
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : "|") + c;
  return add_entry(
      flag, help + " (" + list + ")", false,
      [&field, flag, choices, list](const std::string& text) {
        if (std::find(choices.begin(), choices.end(), text) == choices.end()) {
          throw UsageError(bad_value(flag, text, list.c_str()));
        }
        field = text;
      },
      [&field] { return nlohmann::json(field); });
}

void OptionTable::apply(const OptionValues& values, const std::string& method) const {
  for (const auto& [flag, text] : values) {
    const std::string& wanted = flag;  // clang 14 cannot capture a structured binding
    auto it = std::find_if(entries_.begin(), entries_.end(),
                           [&](const Entry& e) { return e.doc.flag == wanted; });
    if (it == entries_.end()) {
      std::string known;
      for (const auto& e : entries_) known += (known.empty() ? "--" : ", --") + e.doc.flag;
      throw UsageError(detail::concat("method ", method, " has no option --", flag,
                                      " (its options: ", known, ")"));
    }
    it->set(text);
  }
}

std::vector<OptionDoc> OptionTable::docs() const {
  std::vector<OptionDoc> out;
  for (const auto& e : entries_) {
    OptionDoc doc = e.doc;
    const auto v = e.get();
    doc.value = v.is_string() ? v.get<std::string>() : v.dump();
    out.push_back(doc);
  }
  return out;
}

nlohmann::json OptionTable::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& e : entries_) j[e.doc.flag] = e.get();
  return j;
}

}  // namespace unlearn
