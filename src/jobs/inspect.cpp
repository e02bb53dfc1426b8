#include "unlearn/jobs/inspect.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "unlearn/core/error.h"
#include "unlearn/data/patient_hash.h"
#include "unlearn/models/model.h"
#include "unlearn/models/torchscript.h"

namespace unlearn {

namespace {

namespace fs = std::filesystem;

std::string value_text(const Column& column, int64_t row) {
  if (column.is_string()) return column.text(row);
  if (const auto* ints = std::get_if<std::vector<int64_t>>(&column.values)) {
    return std::to_string(ints->at(static_cast<size_t>(row)));
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", column.number(row));
  return buf;
}

/// One column over every part: type, distinct count, most frequent values.
nlohmann::json column_summary(const std::string& name, const std::vector<const Dataset*>& parts,
                              int64_t max_values) {
  std::map<std::string, int64_t> counts;
  std::string type;
  double lo = 0, hi = 0;
  bool first = true;
  for (const Dataset* part : parts) {
    if (!part->metadata.has(name)) continue;
    const Column& column = part->metadata.column(name);
    type = column.is_string()                                            ? "text"
           : std::holds_alternative<std::vector<int64_t>>(column.values) ? "integer"
                                                                         : "real";
    for (int64_t i = 0; i < column.size(); ++i) {
      ++counts[value_text(column, i)];
      if (column.is_numeric()) {
        const double v = column.number(i);
        lo = first ? v : std::min(lo, v);
        hi = first ? v : std::max(hi, v);
        first = false;
      }
    }
  }
  nlohmann::json out = {{"name", name}, {"type", type}, {"distinct", counts.size()}};
  if (type == "integer" && !first) {
    out["range"] = {static_cast<int64_t>(lo), static_cast<int64_t>(hi)};
  } else if (type == "real" && !first) {
    out["range"] = {lo, hi};
  }
  // Identifiers and paths have one value per sample: listing them says nothing.
  const bool id_like = name == "id" || name == "source" || name == kPatientColumn;
  if (id_like) return out;
  std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(), counts.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  nlohmann::json values = nlohmann::json::array();
  for (size_t i = 0; i < sorted.size() && static_cast<int64_t>(i) < max_values; ++i) {
    values.push_back({{"value", sorted[i].first}, {"count", sorted[i].second}});
  }
  out["values"] = values;
  if (static_cast<int64_t>(sorted.size()) > max_values) {
    out["values_left_out"] = static_cast<int64_t>(sorted.size()) - max_values;
  }
  return out;
}

nlohmann::json class_counts(const Dataset& data) {
  nlohmann::json out = nlohmann::json::array();
  const torch::Tensor counts = torch::bincount(data.labels, {}, data.num_classes());
  for (int64_t c = 0; c < data.num_classes(); ++c) {
    out.push_back({{"class", c},
                   {"name", data.class_names[static_cast<size_t>(c)]},
                   {"count", counts[c].item<int64_t>()}});
  }
  return out;
}

bool is_model_file(const std::string& target) {
  if (is_torchscript_path(target)) return true;  // torchscript:FILE, as --model takes it
  std::error_code ec;
  if (!fs::is_regular_file(target, ec)) return false;
  std::string ext = fs::path(target).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext != ".npz" && ext != ".csv";
}

}  // namespace

nlohmann::json inspect_data(const DataBundle& bundle, int64_t max_values) {
  std::vector<const Dataset*> parts{&bundle.train, &bundle.test};
  if (bundle.validation.size() > 0) parts.push_back(&bundle.validation);
  nlohmann::json out;
  out["kind"] = "data";
  out["source"] = bundle.source;
  out["images"] = {{"channels", bundle.train.channels()},
                   {"height", bundle.train.height()},
                   {"width", bundle.train.width()}};
  out["counts"] = {{"train", bundle.train.size()}, {"test", bundle.test.size()}};
  if (bundle.validation.size() > 0) out["counts"]["validation"] = bundle.validation.size();
  out["classes"] = {{"train", class_counts(bundle.train)}, {"test", class_counts(bundle.test)}};
  nlohmann::json columns = nlohmann::json::array();
  for (const auto& name : bundle.train.metadata.column_names()) {
    columns.push_back(column_summary(name, parts, max_values));
  }
  out["columns"] = columns;
  if (!bundle.notes.empty()) out["notes"] = bundle.notes;
  return out;
}

nlohmann::json inspect_model(const std::string& path, const TorchScriptSpecFlags& torchscript) {
  const Model model = Model::load(path, torchscript);
  const ModelSpec& spec = model.spec();
  int64_t parameters = 0;
  for (const auto& p : model.parameters()) parameters += p.numel();
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& g : model.groups()) groups.push_back(g.name);
  nlohmann::json out = spec.to_json();
  out["kind"] = "model";
  out["file"] = path;
  out["parameters"] = parameters;
  out["groups"] = groups;
  return out;
}

nlohmann::json run_inspect_job(const std::string& target, const DataOptions& options,
                               const TorchScriptSpecFlags& torchscript) {
  UNLEARN_CHECK_AS(UsageError, !target.empty(), "inspect: give a data source or a model file");
  if (is_model_file(target)) return inspect_model(target, torchscript);
  return inspect_data(load_data(target, options));
}

std::string inspect_text(const nlohmann::json& info) {
  std::ostringstream out;
  if (info.value("kind", "") == "model") {
    out << "model file  " << info["file"].get<std::string>() << "\n";
    // The architecture's options, as the model spec names them (a const json has no operator[]
    // for a missing key: reading one was undefined behaviour, and crashed now and then).
    nlohmann::json options = nlohmann::json::object();
    for (const char* key : {"num_classes", "in_channels", "width", "input_size", "hidden_layers"}) {
      if (info.contains(key)) options[key] = info.at(key);
    }
    out << "arch        " << info.at("arch").dump() << "  options " << options.dump() << "\n";
    out << "input       " << info["input"].dump() << "\n";
    out << "parameters  " << info["parameters"].get<int64_t>() << "  groups "
        << info["groups"].dump() << "\n";
    out << "classes     " << info["class_names"].dump() << "\n";
    out << "provenance\n" << info["provenance"].dump(2) << "\n";
    return out.str();
  }
  const auto& im = info["images"];
  out << "data source  " << info["source"].get<std::string>() << "\n";
  out << "images       " << info["counts"]["train"].get<int64_t>() << " train, "
      << info["counts"]["test"].get<int64_t>() << " test";
  if (info["counts"].contains("validation")) {
    out << ", " << info["counts"]["validation"].get<int64_t>() << " validation";
  }
  out << "; " << im["channels"].get<int64_t>() << " channel(s), " << im["height"].get<int64_t>()
      << "x" << im["width"].get<int64_t>() << "\n\nclass                  train    test\n";
  const auto& train = info["classes"]["train"];
  const auto& test = info["classes"]["test"];
  for (size_t c = 0; c < train.size(); ++c) {
    char line[160];
    std::snprintf(line, sizeof line, "%-3lld %-16s %7lld %7lld\n",
                  static_cast<long long>(train[c]["class"].get<int64_t>()),
                  train[c]["name"].get<std::string>().c_str(),
                  static_cast<long long>(train[c]["count"].get<int64_t>()),
                  static_cast<long long>(c < test.size() ? test[c]["count"].get<int64_t>() : 0));
    out << line;
  }
  if (info.contains("notes")) {
    for (const auto& note : info.at("notes")) out << "note: " << note.get<std::string>() << "\n";
  }
  out << "\nmetadata columns\n";
  for (const auto& column : info["columns"]) {
    out << "  " << column["name"].get<std::string>() << " (" << column["type"].get<std::string>()
        << ", " << column["distinct"].get<int64_t>() << " distinct";
    if (column.contains("range")) {
      out << ", " << column["range"][0].dump() << " to " << column["range"][1].dump();
    }
    out << ")\n";
    if (!column.contains("values")) continue;
    for (const auto& v : column["values"]) {
      out << "      " << v["count"].get<int64_t>() << "  " << v["value"].get<std::string>() << "\n";
    }
    if (column.contains("values_left_out")) {
      out << "      ... " << column["values_left_out"].get<int64_t>() << " more\n";
    }
  }
  return out.str();
}

}  // namespace unlearn
