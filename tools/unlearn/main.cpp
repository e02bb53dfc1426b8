// unlearn: post-deployment model revision by machine unlearning. Each subcommand parses its
// options and calls one library function (include/unlearn/jobs/jobs.h).

#include <c10/util/Exception.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common.h"
#include "config.h"
#include "unlearn/core/context.h"
#include "unlearn/core/error.h"

#ifndef UNLEARN_VERSION
#define UNLEARN_VERSION "unknown"
#endif

namespace {

int fail(int code, const std::string& what) {
  std::fprintf(stderr, "error: %s\n", what.c_str());
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace unlearn;
  cli::remember_command_line(argc, argv);  // results record the command as typed
  configure_allocator();                   // no page faults for every step's activations
  try {
    const cli::ConfigArgs config =
        cli::read_config(std::vector<std::string>(argv + 1, argv + argc));

    CLI::App app{
        "unlearn: remove the influence of selected training data from a classifier, "
        "and measure how close the result is to retraining"};
    app.set_version_flag("--version", UNLEARN_VERSION);
    app.require_subcommand(1);
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    cli::register_train(app);
    // forget declares the options of its --method, which may come from the config file.
    cli::register_forget(
        app, cli::find_flag_value(config.args, "--method", config.value("method", "psg")));
    cli::register_eval(app);
    cli::register_report(app);
    cli::register_bench(app);
    cli::register_sweep(app);
    cli::register_scenario(app);
    cli::register_inspect(app);
    cli::register_compose(app);
    cli::register_history(app);
    cli::register_verify(app);
    cli::register_launch(app);
    cli::add_config_options(app);
    const std::vector<std::string> args = cli::apply_config(app, config);

    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 parses a reversed list
    try {
      app.parse(reversed);
    } catch (const CLI::ParseError& e) {  // main: --help and friends exit 0, parse errors exit 2
      if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version, --dump-config
      app.exit(e);
      return 2;
    }
    return 0;
  } catch (const cli::ExitStatus& status) {  // main: the exit status of another command (launch)
    return status.code;
  } catch (const UsageError& e) {  // main: exit 2
    return fail(2, e.what());
  } catch (const Error& e) {  // main: exit 1
    return fail(1, e.what());
  } catch (const c10::Error& e) {  // main: exit 1, without the backtrace
    return fail(1, e.what_without_backtrace());
  } catch (const std::exception& e) {  // main: exit 1
    return fail(1, e.what());
  }
}
