#include "common.h"

#include <cstdio>
#include <vector>

#include "unlearn/core/atomic_file.h"
#include "unlearn/core/error.h"
#include "unlearn/core/parse.h"
#include "unlearn/core/paths.h"
#include "unlearn/models/torchscript.h"
#include "unlearn/report/html_report.h"

namespace unlearn::cli {

namespace {

std::string& typed_command_line() {
  static std::string text;
  return text;
}

/// `arg` as a POSIX shell would need it to read it back as one word.
std::string shell_word(const std::string& arg) {
  if (!arg.empty() && arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789-_./=:,+@%") == std::string::npos) {
    return arg;
  }
  std::string out = "'";
  for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

namespace {

CLI::Validator number_check(const std::string& expectation, bool (*ok)(double)) {
  return CLI::Validator(
      [expectation, ok](std::string& text) -> std::string {
        const auto value = parse_real(text);
        if (value && ok(*value)) return {};
        return "expected " + expectation + ", got '" + text + "'";
      },
      expectation);
}

}  // namespace

CLI::Validator non_negative() {
  return number_check("a number >= 0", [](double v) { return v >= 0; });
}

CLI::Validator positive() {
  return number_check("a number > 0", [](double v) { return v > 0; });
}

void remember_command_line(int argc, char** argv) {
  std::string text = "unlearn";
  for (int i = 1; i < argc; ++i) text += " " + shell_word(argv[i]);
  typed_command_line() = text;
}

std::string HtmlOptions::resolve(const std::string& report) const {
  if (skip) return "";
  if (!path.empty()) return path;
  return report.empty() ? "" : html_path_for(report);
}

void add_html_options(CLI::App* sub, HtmlOptions& o) {
  sub->add_option("--html", o.path,
                  "HTML report to write (default: the --report file with .html instead of .json)");
  sub->add_flag("--no-report", o.skip, "write no HTML report");
}

RunContext CommonOptions::apply() const {
  torch::Device parsed = torch::kCPU;
  try {
    parsed = parse_device(device);
  } catch (const InvalidArgument& e) {
    throw UsageError(e.what());  // the same message, as a usage error: a flag value the user gave
  }
  const int used = configure_threads(threads);
  seed_everything(seed);
  torchscript();  // a bad --torchscript-* value fails before any work
  return RunContext()
      .device(parsed)
      .threads(used)
      .seed(seed)
      .precision(parse_precision(precision))
      .command_line(typed_command_line())
      .output_cache_dir(default_output_cache_dir())
      .model_cache_dir(default_model_cache_dir());
}

TorchScriptSpecFlags CommonOptions::torchscript() const {
  TorchScriptSpecFlags spec;
  spec.channels = torchscript_channels;
  spec.size = torchscript_size;
  spec.mean = parse_real_list(torchscript_mean, "--torchscript-mean");
  spec.std = parse_real_list(torchscript_std, "--torchscript-std");
  spec.class_names = split_commas(torchscript_classes);
  return spec;
}

void add_common_options(CLI::App* sub, CommonOptions& o) {
  sub->add_option("--threads", o.threads, "intra-op threads (default: all available cores)")
      ->check(non_negative());
  sub->add_option("--seed", o.seed, "random seed")->capture_default_str();
  sub->add_option("--device", o.device, "cpu or cuda[:N]")->capture_default_str();
  sub->add_option("--precision", o.precision,
                  "forward passes of training and unlearning: fp32, or bf16 autocast (weights "
                  "stay fp32; evaluation is always fp32)")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->capture_default_str();
  sub->add_flag("--quiet", o.quiet, "no progress output");
  sub->add_option("--config", o.config, "YAML file of options; flags on the command line win");
  auto* ts = sub->add_option_group("TorchScript import",
                                   "the spec of --model torchscript:FILE models (else FILE.json)");
  ts->add_option("--torchscript-channels", o.torchscript_channels, "input channels")
      ->check(positive());
  ts->add_option("--torchscript-size", o.torchscript_size, "input side in pixels")
      ->check(positive());
  ts->add_option("--torchscript-mean", o.torchscript_mean,
                 "normalisation mean per channel (a,b,c)");
  ts->add_option("--torchscript-std", o.torchscript_std, "normalisation std per channel (a,b,c)");
  ts->add_option("--torchscript-classes", o.torchscript_classes, "class names (a,b,c)");
}

void add_registry_options(CLI::App* sub, std::string& registry) {
  registry = default_registry_path();
  sub->add_option("--registry", registry, "run registry (SQLite file) that records this run")
      ->capture_default_str();
  sub->add_flag_callback(
      "--no-registry", [&registry] { registry.clear(); }, "do not record this run");
}

void add_manifest_options(CLI::App* sub, bool& manifest, bool& manifest_ids) {
  manifest = true;
  sub->add_flag_callback(
      "--no-manifest", [&manifest] { manifest = false; },
      "do not write the audit manifest OUT.manifest.json");
  sub->add_flag("--manifest-ids", manifest_ids,
                "list the forgotten sample ids in the manifest (by default only their digest)");
}

void add_export_option(CLI::App* sub, std::string& format) {
  sub->add_option("--export", format,
                  "also write the model as TorchScript for Python's torch.jit.load, to "
                  "NAME.torchscript.pt beside --out")
      ->check(CLI::IsMember({"torchscript"}));
}

void check_export(const std::string& format, const std::string& out, bool force) {
  if (!format.empty()) check_output_path(torchscript_path_for(out), force, "--export");
}

std::string write_export(const std::string& format, const std::string& out, bool force) {
  if (format.empty()) return {};
  const std::string path = torchscript_path_for(out);
  export_torchscript(Model::load(out), path, force, "--export");
  return path;
}

void add_selection_options(CLI::App* sub, DataSelection& selection, const std::string& data_help,
                           const std::string& forget_help) {
  sub->add_option("--data", selection.data, data_help)->capture_default_str();
  sub->add_option("--forget", selection.forget, forget_help)->required();
  sub->add_flag("--allow-empty", selection.allow_empty,
                "accept a selection matching nothing or everything");
  add_data_options(sub, selection.data_options);
}

void add_output_options(CLI::App* sub, OutputFiles& outputs, const std::string& out_help) {
  sub->add_option("--out", outputs.out, out_help)->required();
  sub->add_option("--report", outputs.report, "result JSON to write");
  sub->add_flag("--force", outputs.force, "overwrite existing outputs");
  add_registry_options(sub, outputs.registry);
  add_manifest_options(sub, outputs.manifest, outputs.manifest_ids);
}

void say_outputs(const std::string& label, const OutputFiles& outputs, bool quiet) {
  if (quiet) return;
  std::printf("%s -> %s%s%s%s%s\n", label.c_str(), outputs.out.c_str(),
              outputs.report.empty() ? "" : ", result -> ", outputs.report.c_str(),
              outputs.html.empty() ? "" : ", report -> ", outputs.html.c_str());
}

void export_and_say(const std::string& format, const OutputFiles& outputs, bool quiet) {
  const std::string exported = write_export(format, outputs.out, outputs.force);
  if (!exported.empty() && !quiet) std::printf("TorchScript -> %s\n", exported.c_str());
}

void add_data_options(CLI::App* sub, DataOptions& o) {
  sub->add_option("--label-index", o.label_index,
                  "multi-label arrays (ChestMNIST): the label column to learn")
      ->check(non_negative());
  sub->add_option_function<std::string>(
         "--frames", [&o](const std::string& v) { o.all_frames = v == "all"; },
         "DICOM multi-frame images: middle (one sample) or all (a sample per frame)")
      ->check(CLI::IsMember({"middle", "all"}));
  sub->add_option("--image-size", o.image_size,
                  "side that folder and DICOM images are resized to (default: the first image's)")
      ->check(positive());
  sub->add_flag("--strict-dicom", o.strict_dicom,
                "DICOM folders: refuse objects without pixel data (reports, RT structure sets) "
                "instead of skipping them with a count by Modality");
}

}  // namespace unlearn::cli
