#pragma once
// Options every subcommand takes, and the registration functions of the subcommands.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "unlearn/core/context.h"
#include "unlearn/data/source.h"
#include "unlearn/jobs/jobs.h"
#include "unlearn/models/model.h"

namespace unlearn::cli {

/// Thrown by a subcommand whose exit status is decided by others (launch): main returns it.
struct ExitStatus {
  int code;
  explicit ExitStatus(int status) : code(status) {}
};

struct CommonOptions {
  int threads = 0;  // 0: all available cores
  uint64_t seed = 0;
  std::string device = "cpu";
  std::string precision = "fp32";
  bool quiet = false;
  std::string config;  // expanded into flags before parsing (see config.h)
  // The spec of --model torchscript:FILE models, when FILE.json does not give it.
  int64_t torchscript_channels = 0;
  int64_t torchscript_size = 0;
  std::string torchscript_mean, torchscript_std, torchscript_classes;  // comma-separated

  /// Applies threads, device, precision and seed; returns the context for library calls, with
  /// the cache folders of core/paths.h.
  RunContext apply() const;
  /// The --torchscript-* values, which jobs hand to Model::load beside their model paths.
  TorchScriptSpecFlags torchscript() const;
};

void add_common_options(CLI::App* sub, CommonOptions& options);

/// Checks for numeric options whose messages name the bound ("--threads: expected a number >= 0,
/// got '-3'"); CLI11's own NonNegativeNumber prints its upper bound, DBL_MAX, in full.
CLI::Validator non_negative();
CLI::Validator positive();

/// Keeps the command as typed (argv), so results can record it (env.command_line).
void remember_command_line(int argc, char** argv);

/// --html FILE and --no-report: where the HTML report goes.
struct HtmlOptions {
  std::string path;
  bool skip = false;
  /// The page's path: --html, else the result JSON `report` with .html, else none.
  std::string resolve(const std::string& report) const;
};
void add_html_options(CLI::App* sub, HtmlOptions& options);
/// --label-index, --frames and --image-size: how readers turn a data source into samples.
void add_data_options(CLI::App* sub, DataOptions& options);
/// --data (with `data_help`), --forget (required, with `forget_help`), --allow-empty and the
/// reader options.
void add_selection_options(CLI::App* sub, DataSelection& selection, const std::string& data_help,
                           const std::string& forget_help);
/// --out (required, with `out_help`), --report, --force, the registry and manifest options.
void add_output_options(CLI::App* sub, OutputFiles& outputs, const std::string& out_help);
/// After the run: "LABEL -> OUT, result -> REPORT, report -> HTML" unless `quiet`.
void say_outputs(const std::string& label, const OutputFiles& outputs, bool quiet);
/// After the run: writes the --export file of outputs.out, and names it unless `quiet`.
void export_and_say(const std::string& format, const OutputFiles& outputs, bool quiet);
/// --registry PATH (default: default_registry_path()) and --no-registry, into `registry`
/// (empty: the run is not recorded).
void add_registry_options(CLI::App* sub, std::string& registry);
/// --no-manifest and --manifest-ids; `manifest` starts true (the CLI writes one by default).
void add_manifest_options(CLI::App* sub, bool& manifest, bool& manifest_ids);
/// --export FORMAT (torchscript): also write the output model in that format beside --out.
void add_export_option(CLI::App* sub, std::string& format);
/// Before the run: fails (exit 1) if the export file exists and `force` is off.
void check_export(const std::string& format, const std::string& out, bool force);
/// After the run: writes the model file `out` in `format` beside it; returns that path.
std::string write_export(const std::string& format, const std::string& out, bool force);

/// Each registers one subcommand on `app`. `method` is the --method value found in the
/// arguments before parsing, so `forget` can declare that method's options.
void register_train(CLI::App& app);
void register_forget(CLI::App& app, const std::string& method);
void register_eval(CLI::App& app);
void register_report(CLI::App& app);
void register_bench(CLI::App& app);
void register_sweep(CLI::App& app);
void register_scenario(CLI::App& app);
void register_inspect(CLI::App& app);
void register_compose(CLI::App& app);
void register_history(CLI::App& app);
void register_verify(CLI::App& app);
void register_launch(CLI::App& app);

}  // namespace unlearn::cli
