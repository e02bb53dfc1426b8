#include "unlearn/jobs/verify.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "evaluation.h"
#include "inputs.h"
#include "manifest.h"
#include "unlearn/core/error.h"
#include "unlearn/core/sha256.h"
#include "unlearn/data/source.h"
#include "unlearn/metrics/output_cache.h"
#include "unlearn/models/torchscript.h"

namespace unlearn {

using namespace internal;  // what the jobs share (src/jobs/*.h)

int VerifyReport::mismatches() const {
  int n = 0;
  for (const auto& c : checks) n += c.ok ? 0 : 1;
  return n;
}

namespace {

nlohmann::json read_manifest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(detail::concat("verify: cannot open '", path, "'"));
  std::stringstream text;
  text << in.rdbuf();
  const auto m = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  auto require = [&](bool ok, const char* what) {
    if (!ok)
      throw FormatError(detail::concat("verify: ", path, ": not an unlearn manifest (", what, ")"));
  };
  require(!m.is_discarded() && m.is_object(), "not a JSON object");
  require(m.contains("manifest_version"), "no manifest_version");
  require(m.contains("files") && m["files"].is_object(), "no files");
  for (const auto& [role, file] : m["files"].items()) {
    require(file.is_object() && file.contains("path") && file["path"].is_string() &&
                file.contains("sha256") && file["sha256"].is_string(),
            "a file entry lacks path or sha256");
  }
  require(
      !m.contains("data") || (m["data"].is_object() && m["data"].contains("source") &&
                              m["data"]["source"].is_string() && m["data"].contains("options") &&
                              m["data"]["options"].is_object()),
      "data lacks source or options");
  require(!m.contains("forget") || (m["forget"].is_object() && m["forget"].contains("expression") &&
                                    m["forget"]["expression"].is_string()),
          "forget lacks its expression");
  require(!m.contains("metrics") || m["metrics"].is_object(), "metrics is not an object");
  return m;
}

/// The manifest's file role whose model produced a metrics role.
std::string file_role_for(const std::string& metrics_role, const nlohmann::json& files) {
  if (metrics_role == "unlearned") return "output";
  if (metrics_role == "original") return files.contains("model") ? "model" : "original";
  return metrics_role;  // retrain
}

/// Runs in the run's own working folder, so relative paths in the manifest resolve as they did.
class WorkingFolder {
 public:
  explicit WorkingFolder(const std::string& folder) {
    std::error_code ec;
    previous_ = std::filesystem::current_path(ec);
    if (!folder.empty() && std::filesystem::is_directory(folder, ec)) {
      std::filesystem::current_path(folder, ec);
      changed_ = !ec;
    }
  }
  ~WorkingFolder() {
    std::error_code ec;
    if (changed_) std::filesystem::current_path(previous_, ec);
  }
  WorkingFolder(const WorkingFolder&) = delete;
  WorkingFolder& operator=(const WorkingFolder&) = delete;

 private:
  std::filesystem::path previous_;
  bool changed_ = false;
};

/// The checks of one manifest, in order, into its report.
class Verifier {
 public:
  Verifier(const VerifyJob& job, const nlohmann::json& m, VerifyReport& report)
      : job_(job), m_(m), files_(m["files"]), report_(report) {}

  void check(std::string what, bool ok, std::string detail) {
    report_.checks.push_back({std::move(what), ok, std::move(detail)});
  }

  /// Every file's digest.
  void files() {
    for (const auto& [role, file] : files_.items()) {
      const std::string path = model_file_path(file.value("path", ""));
      const std::string expected = file.value("sha256", "");
      std::error_code ec;
      if (!std::filesystem::is_regular_file(path, ec)) {
        check("file " + role + " " + path, false, "missing");
        continue;
      }
      const std::string actual = sha256_file(path);
      check("file " + role + " " + path, actual == expected,
            actual == expected ? "sha256 " + actual
                               : "sha256 " + actual + ", manifest has " + expected);
    }
  }

  /// The decoded data's digest; nullopt when the source cannot be read.
  std::optional<DataBundle> data() {
    std::optional<DataBundle> bundle;
    try {
      bundle = load_data(m_["data"]["source"].get<std::string>(),
                         manifest::data_options_from(m_["data"]["options"]));
    } catch (const std::exception& e) {  // a failed check: readers throw Error, LibTorch others
      check("data " + m_["data"]["source"].get<std::string>(), false, e.what());
      return std::nullopt;
    }
    const std::string digest = data_digest(*bundle);
    const std::string expected = m_["data"].value("content_sha256", "");
    check("data " + bundle->source, digest == expected,
          digest == expected ? "content sha256 " + digest
                             : "content sha256 " + digest + ", manifest has " + expected);
    return bundle;
  }

  /// The selection's rows, counted and hashed; nullopt when it cannot be applied.
  std::optional<Split> selection(const DataBundle& bundle) {
    std::optional<Model> reference;
    const std::string ref_role = files_.contains("model") ? "model" : "original";
    if (files_.contains(ref_role)) {
      try {
        reference = Model::load(files_[ref_role]["path"].get<std::string>(), job_.torchscript);
      } catch (const Error&) {
        // Reported by the file check; outliers() selections then cannot be recomputed.
      }
    }
    std::optional<Split> split;
    try {
      split =
          split_for(m_["forget"]["expression"].get<std::string>(), bundle,
                    /*allow_empty=*/true, "--forget", reference ? &*reference : nullptr, "--model");
    } catch (const Error& e) {  // a failed check, not a failed command
      check("selection", false, e.what());
      return std::nullopt;
    }
    const int64_t n = split->train.forget.numel();
    const int64_t n_expected = m_["forget"].value("n_forget_train", int64_t{-1});
    check("selection count", n == n_expected,
          n == n_expected ? detail::concat(n, " training rows")
                          : detail::concat(n, " training rows, manifest has ", n_expected));
    const std::string ids = manifest::ids_digest(bundle.train, split->train.forget);
    const std::string ids_expected = m_["forget"].value("ids_sha256", "");
    check(
        "selection ids", ids == ids_expected,
        ids == ids_expected ? "sha256 " + ids : "sha256 " + ids + ", manifest has " + ids_expected);
    return split;
  }

  /// Every recorded metric of every model, recomputed.
  void metrics(const DataBundle& bundle, const Split& split, const RunContext& context,
               Observer& observer) {
    for (const auto& [role, recorded] : m_["metrics"].items()) {
      if (!recorded.is_object() || role == "goals") continue;
      const std::string file_role = file_role_for(role, files_);
      if (!files_.contains(file_role)) continue;
      const std::string path = files_[file_role]["path"].get<std::string>();
      std::optional<Model> model;
      try {
        model = Model::load(path, job_.torchscript);
      } catch (const Error& e) {  // a failed check, not a failed command
        check("metrics " + role, false, e.what());
        continue;
      }
      const EvalData data = make_eval_data(bundle, model->spec().input);
      const nlohmann::json now =
          evaluate_entry(*model, path, data, split, context, observer).entry["metrics"];
      compare_metrics(role, recorded, now);
    }
  }

 private:
  void compare_metrics(const std::string& role, const nlohmann::json& recorded,
                       const nlohmann::json& now) {
    for (const auto& [name, value] : recorded.items()) {
      if (!value.is_number()) continue;
      const std::string what = "metric " + role + "." + name;
      if (!now.contains(name) || !now[name].is_number()) {
        check(what, false, "not recomputed");
        continue;
      }
      const double a = now[name].get<double>(), b = value.get<double>();
      const bool same = std::fabs(a - b) <= job_.tolerance;
      check(what, same, same ? detail::concat(a) : detail::concat(a, ", manifest has ", b));
    }
  }

  const VerifyJob& job_;
  const nlohmann::json& m_;
  const nlohmann::json& files_;
  VerifyReport& report_;
};

}  // namespace

VerifyReport run_verify_job(const VerifyJob& job, const RunContext& base_context,
                            Observer& observer) {
  const nlohmann::json m = read_manifest(job.manifest);
  const WorkingFolder folder(m.value("cwd", ""));
  // The run's seed: membership-inference metrics subsample with it.
  RunContext context = base_context;
  if (m.contains("env") && m["env"].contains("seed") && m["env"]["seed"].is_number_unsigned()) {
    context.seed(m["env"]["seed"].get<uint64_t>());
  }
  VerifyReport report;
  report.manifest = job.manifest;
  Verifier verify(job, m, report);
  verify.files();
  if (!m.contains("data")) return report;
  const std::optional<DataBundle> bundle = verify.data();
  if (!bundle || !m.contains("forget")) return report;
  const std::optional<Split> split = verify.selection(*bundle);
  if (!split || !m.contains("metrics")) return report;
  verify.metrics(*bundle, *split, context, observer);
  return report;
}

std::string verify_text(const VerifyReport& report) {
  std::ostringstream out;
  for (const auto& c : report.checks) {
    out << (c.ok ? "ok        " : "MISMATCH  ") << c.what << ": " << c.detail << "\n";
  }
  out << report.checks.size() << " checks, " << report.mismatches() << " mismatches ("
      << report.manifest << ")\n";
  return out.str();
}

}  // namespace unlearn
