#include "config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>

#include "unlearn/core/error.h"

namespace unlearn::cli {

namespace {

// Options that are no part of a configuration: they are neither read nor dumped.
bool is_meta(const std::string& key) {
  return key == "help" || key == "config" || key == "dump-config";
}

bool is_flag(const CLI::Option* opt) { return opt->get_expected_max() == 0; }
bool is_list(const CLI::Option* opt) { return opt->get_items_expected_max() > 1; }

CLI::App* named_subcommand(CLI::App& app, const std::string& name) {
  auto found = app.get_subcommands([&](CLI::App* s) { return s->get_name() == name; });
  return found.empty() || name.empty() ? nullptr : found.front();
}

// The option `--key` of `sub` or of its option groups; nullptr for help, config and dump-config.
CLI::Option* long_option(CLI::App& sub, const std::string& key) {
  if (key.empty() || is_meta(key)) return nullptr;
  return sub.get_option_no_throw("--" + key);
}

CLI::Option* positional_option(CLI::App& sub, const std::string& key) {
  if (key.empty() || key.front() == '-') return nullptr;
  CLI::Option* opt = sub.get_option_no_throw(key);
  return opt != nullptr && opt->get_positional() && !opt->nonpositional() ? opt : nullptr;
}

bool given_in(const CLI::Option* opt, const std::vector<std::string>& args) {
  for (const auto& name : opt->get_lnames()) {
    const std::string flag = "--" + name;
    for (const auto& a : args) {
      if (a == flag || a.rfind(flag + "=", 0) == 0) return true;
    }
  }
  return false;
}

// Runs the option's checks (ranges, choices) and conversion on the file's values, so that a bad
// value is reported with its line. The parse that follows sets the same values again.
void check_values(CLI::Option* opt, const ConfigEntry& e) {
  try {
    for (const auto& v : e.values) opt->add_result(v);
    opt->run_callback();
  } catch (const CLI::ParseError& err) {  // CLI11's check of a file's value, with the file and line
    opt->clear();
    throw UsageError(detail::concat(where(e), "key '", e.key, "': ", err.what()));
  }
  opt->clear();
}

// A positional argument given in the file: its default, so that one on the command line wins.
void set_positional_default(CLI::Option* opt, const ConfigEntry& e) {
  if (!is_list(opt)) {
    if (e.list) {
      throw UsageError(detail::concat(where(e), "key '", e.key, "' takes one value, not a list"));
    }
    opt->default_str(e.values.front())->force_callback();
    return;
  }
  std::string joined;
  for (const auto& v : e.values) {
    if (v.empty() || v.find(',') != std::string::npos) {
      throw UsageError(detail::concat(where(e), "key '", e.key, "': '", v,
                                      "' cannot be read from a file (empty or with a comma); "
                                      "give it on the command line"));
    }
    joined += (joined.empty() ? "" : ",") + v;
  }
  opt->default_str("[" + joined + "]")->force_callback();  // CLI11 splits "[a,b]" into values
}

// The flags one entry of the file stands for (none for a switch set to false).
std::vector<std::string> entry_flags(CLI::App& sub, const std::string& command,
                                     const ConfigEntry& e, const std::vector<std::string>& user) {
  CLI::Option* opt = long_option(sub, e.key);
  CLI::Option* negated = long_option(sub, "no-" + e.key);
  if (negated != nullptr && !is_flag(negated)) negated = nullptr;
  const auto as_bool = [&] {
    const auto b = e.list ? std::nullopt : yaml_bool(e.values.front());
    if (!b) {
      throw UsageError(detail::concat(where(e), "key '", e.key, "' is a switch: expected true or ",
                                      "false, got '", e.list ? "a list" : e.values.front(), "'"));
    }
    return *b;
  };
  if (opt == nullptr) {
    if (negated == nullptr) {
      throw UsageError(detail::concat(where(e), "unknown key '", e.key, "' for '", command, "'"));
    }
    // `cache: false` for --no-cache; `cache: true` is what not giving --no-cache means.
    if (as_bool()) return {};
    return {"--no-" + e.key};
  }
  if (is_flag(opt)) {
    if (as_bool()) return {"--" + e.key};
    if (negated != nullptr) return {"--no-" + e.key};
    return {};
  }
  if (negated != nullptr && !e.list && !e.quoted && yaml_bool(e.values.front()) == false) {
    return {"--no-" + e.key};  // `registry: false` for --no-registry
  }
  if (e.list && !is_list(opt)) {
    throw UsageError(detail::concat(where(e), "key '", e.key, "' takes one value, not a list"));
  }
  // A value on the command line replaces the file's (a list too, rather than adding to it).
  if (given_in(opt, user)) return {};
  check_values(opt, e);
  std::vector<std::string> flags;
  for (const auto& v : e.values) {
    if (v.empty()) {  // CLI11 reads `--key=` as `--key` without a value
      flags.insert(flags.end(), {"--" + e.key, v});
    } else {
      flags.push_back("--" + e.key + "=" + v);  // one argument, also when v starts with '-'
    }
  }
  return flags;
}

// The YAML key of an option: its first long name, or a positional argument's name.
std::string option_key(const CLI::Option* opt) {
  if (!opt->get_lnames().empty()) return opt->get_lnames().front();
  return opt->nonpositional() ? std::string() : opt->get_name();
}

void emit_options(const CLI::App& sub, YAML::Emitter& out) {
  for (const CLI::Option* opt : sub.get_options()) {
    const std::string key = option_key(opt);
    if (key.empty() || is_meta(key)) continue;
    if (is_flag(opt)) {
      bool value = false;
      if (opt->count() > 0) {
        value = CLI::detail::to_flag_value(opt->reduced_results().back()) > 0;
      } else if (!opt->get_fnames().empty()) {
        continue;  // a --x/--no-x pair not given: the command decides
      }
      out << YAML::Key << key << YAML::Value << value;
      continue;
    }
    std::vector<std::string> values;
    if (opt->count() > 0) {
      values = opt->reduced_results();
    } else if (!opt->get_default_str().empty()) {
      values.push_back(opt->get_default_str());
    } else {
      continue;
    }
    out << YAML::Key << key << YAML::Value;
    if (is_list(opt)) {
      out << YAML::BeginSeq;
      for (const auto& v : values) out << v;
      out << YAML::EndSeq;
    } else if (yaml_bool(values.back())) {
      out << YAML::DoubleQuoted << values.back();  // text, not a switch, when read back
    } else {
      out << values.back();
    }
  }
  for (const CLI::App* group :
       sub.get_subcommands([](const CLI::App* s) { return s->get_name().empty(); })) {
    emit_options(*group, out);
  }
}

void add_dump_flags(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App* s) { return !s->get_name().empty(); })) {
    if (!sub->get_subcommands([](CLI::App* s) { return !s->get_name().empty(); }).empty()) {
      add_dump_flags(*sub);
      continue;
    }
    if (sub->get_option_no_throw("--config") == nullptr) {
      sub->add_option("--config", "YAML file of options; flags on the command line win");
    }
    sub->add_flag("--dump-config",
                  "print the effective options as YAML that --config reads back, and exit");
  }
}

}  // namespace

void add_config_options(CLI::App& app) {
  add_dump_flags(app);
  app.parse_complete_callback([&app] {
    const CLI::App* chosen = &app;
    while (!chosen->get_subcommands().empty()) chosen = chosen->get_subcommands().front();
    const CLI::Option* dump = chosen->get_option_no_throw("--dump-config");
    if (dump == nullptr || dump->count() == 0) return;
    std::fputs(dump_config(*chosen).c_str(), stdout);
    throw CLI::Success();  // main returns 0 without running the subcommand
  });
}

std::vector<std::string> apply_config(CLI::App& app, const ConfigArgs& config) {
  const auto& args = config.args;
  if (config.entries.empty()) return args;
  CLI::App* sub = &app;
  std::string command = "unlearn";
  size_t at = 0;
  for (; at < args.size(); ++at) {
    CLI::App* next = named_subcommand(*sub, args[at]);
    if (next == nullptr) break;
    sub = next;
    command += " " + args[at];
  }
  if (sub == &app) {
    throw UsageError("--config: name the subcommand first, e.g. unlearn train --config FILE");
  }
  const std::vector<std::string> user(args.begin() + static_cast<std::ptrdiff_t>(at), args.end());
  if (const CLI::Option* method = sub->get_option_no_throw("--method")) {
    // forget's options depend on the method: name it in errors
    command += " --method " +
               find_flag_value(user, "--method", config.value("method", method->get_default_str()));
  }
  std::vector<std::string> flags;
  std::map<CLI::Option*, const ConfigEntry*> positionals;  // the last entry of each wins
  for (const auto& e : config.entries) {
    if (CLI::Option* opt = positional_option(*sub, e.key)) {
      positionals[opt] = &e;
      continue;
    }
    auto more = entry_flags(*sub, command, e, user);
    flags.insert(flags.end(), more.begin(), more.end());
  }
  for (const auto& [opt, entry] : positionals) set_positional_default(opt, *entry);
  std::vector<std::string> out(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(at));
  out.insert(out.end(), flags.begin(), flags.end());
  out.insert(out.end(), user.begin(), user.end());
  return out;
}

std::string dump_config(const CLI::App& sub) {
  std::string command = sub.get_name();
  for (const CLI::App* p = sub.get_parent(); p != nullptr && p->get_parent() != nullptr;
       p = p->get_parent()) {
    command.insert(0, p->get_name() + " ");
  }
  YAML::Emitter out;
  out << YAML::Comment("unlearn " + command) << YAML::BeginMap;
  emit_options(sub, out);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace unlearn::cli
