#include "unlearn/models/torchscript.h"

#include <torch/csrc/jit/python/update_graph_executor_opt.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "archive_check.h"
#include "unlearn/core/atomic_file.h"
#include "unlearn/core/error.h"
#include "unlearn/core/json_text.h"
#include "unlearn/models/network.h"
#include "unlearn/models/sync_batch_norm.h"

namespace unlearn {
namespace {

namespace tj = torch::jit;
constexpr const char* kSpecFile = "unlearn.json";

/// One submodule of an imported script, seen as a torch::nn::Module holding the very same
/// parameter and buffer tensors, so optimisers, Module::save/load, to(device) and the layer
/// and group machinery work on it unchanged; train() reaches the script too.
class ScriptMirror : public torch::nn::Module {
 public:
  explicit ScriptMirror(tj::Module script) : script_(std::move(script)) {
    for (const auto& p : script_.named_parameters(/*recurse=*/false)) {
      register_parameter(p.name, p.value, p.value.requires_grad());
    }
    for (const auto& b : script_.named_buffers(/*recurse=*/false)) register_buffer(b.name, b.value);
    for (const auto& child : script_.named_children()) {
      register_module(child.name, std::make_shared<ScriptMirror>(child.value));
    }
    torch::nn::Module::train(script_.is_training());
  }
  void train(bool on) override {
    torch::nn::Module::train(on);
    script_.train(on);
  }

 protected:
  tj::Module script_;
};

/// An imported TorchScript module as a Network: forward (or embed and head) run the script.
class ScriptedNet : public ScriptMirror, public Network {
 public:
  explicit ScriptedNet(tj::Module script) : ScriptMirror(std::move(script)) {
    has_parts_ = script_.find_method("embed").has_value() && script_.find_method("head");
  }

  torch::Tensor logits(const torch::Tensor& x) override {
    if (has_parts_) return Network::logits(x);
    return script_.forward({x}).toTensor();
  }
  torch::Tensor embed(const torch::Tensor& x) override {
    require_parts();
    return script_.get_method("embed")({x}).toTensor();
  }
  torch::Tensor head(const torch::Tensor& features) override {
    require_parts();
    return script_.get_method("head")({features}).toTensor();
  }
  std::vector<ModuleGroup> groups() override {
    std::vector<ModuleGroup> out;
    for (const auto& child : named_children()) out.push_back({child.key(), child.value()});
    return out;
  }

  void set_script_batchnorm_training(bool on) override {
    // A batch norm is told by its running statistics, whatever its class is called.
    for (const auto& m : modules(/*include_self=*/false)) {
      if (m->named_buffers(/*recurse=*/false).contains("running_mean")) m->train(on);
    }
  }

  std::shared_ptr<torch::nn::Module> clone(
      const c10::optional<torch::Device>& device = c10::nullopt) const override {
    tj::Module copy;
    {
      // Under no-grad the copies are leaves; their requires_grad is restored below.
      torch::NoGradGuard no_grad;
      copy = script_.deepcopy();
    }
    auto original = script_.named_parameters(true).begin();
    for (const auto& p : copy.named_parameters(true)) {
      p.value.requires_grad_((*original).value.requires_grad());
      ++original;
    }
    auto net = std::make_shared<ScriptedNet>(std::move(copy));
    if (device) net->to(*device);
    return net;
  }

  std::string structure_bytes() const override {
    std::ostringstream bytes;
    script_.save(bytes);
    return bytes.str();
  }

 private:
  void require_parts() const {
    if (!has_parts_) {
      throw Error(
          "this TorchScript model has no embed(x) and head(f) methods, and the method or "
          "metric asked for penultimate features; add them to the scripted module, or choose a "
          "method that needs only logits");
    }
  }

  bool has_parts_ = false;
};

tj::Module load_script(std::istream& in, const std::string& where, tj::ExtraFilesMap& extra) {
  // The profiling executor would re-optimise the graph after a few calls: slower at first and
  // with other rounding than the C++ side. Plain interpretation keeps both sides equal.
  tj::setGraphExecutorOptimize(false);
  try {
    return tj::load(in, torch::kCPU, extra);
  } catch (const c10::Error& e) {  // LibTorch's reader errors, naming the file
    throw FormatError(detail::concat(where, ": not a readable TorchScript file (",
                                     e.what_without_backtrace(), ")"));
  } catch (const std::exception& e) {  // its reader also throws plain exceptions
    throw FormatError(detail::concat(where, ": not a readable TorchScript file (", e.what(), ")"));
  }
}

template <typename T>
T spec_field(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.contains(key)) {
    throw FormatError(detail::concat(where, ": TorchScript spec lacks '", key,
                                     "' (see docs/formats.md, TorchScript)"));
  }
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception& e) {  // naming the file and the field
    throw FormatError(detail::concat(where, ": TorchScript spec field '", key, "': ", e.what()));
  }
}

/// The model spec from the JSON beside the file or inside it.
ModelSpec imported_spec(const nlohmann::json& j, const std::string& where) {
  const auto input = spec_field<nlohmann::json>(j, "input", where);
  ModelSpec spec;
  spec.arch = "torchscript";
  spec.input.channels = spec_field<int64_t>(input, "channels", where);
  spec.input.size = spec_field<int64_t>(input, "size", where);
  spec.input.mean = input.contains("mean") ? spec_field<std::vector<double>>(input, "mean", where)
                                           : std::vector<double>(spec.input.channels, 0.0);
  spec.input.std = input.contains("std") ? spec_field<std::vector<double>>(input, "std", where)
                                         : std::vector<double>(spec.input.channels, 1.0);
  spec.class_names = spec_field<std::vector<std::string>>(j, "class_names", where);
  UNLEARN_CHECK_AS(FormatError, spec.class_names.size() >= 2, where,
                   ": TorchScript spec needs at least 2 class_names, got ",
                   spec.class_names.size());
  spec.options = ArchOptions(static_cast<int64_t>(spec.class_names.size()))
                     .in_channels(spec.input.channels)
                     .input_size(spec.input.size)
                     .width(1.0);
  try {
    spec.input.validate();
  } catch (const Error& e) {  // naming the file
    throw FormatError(detail::concat(where, ": TorchScript spec: ", e.what()));
  }
  return spec;
}

// ---- export of native models: stock layers to TorchScript source ----

/// Builds TorchScript modules with unique class names in one compilation unit (each module's
/// constants are baked into its own forward, so no two may share a class).
class ScriptWriter {
 public:
  tj::Module convert(const torch::nn::Module& source, const std::string& path) {
    if (const auto* seq = dynamic_cast<const torch::nn::SequentialImpl*>(&source)) {
      auto m = fresh("Sequential");
      std::string code = "def forward(self, x):\n";
      for (const auto& child : seq->named_children()) {
        m.register_module(child.key(), convert(*child.value(), path + "." + child.key()));
        code += "    x = getattr(self, \"" + child.key() + "\").forward(x)\n";
      }
      m.define(code + "    return x\n");
      return m;
    }
    return leaf(source, path);
  }

  tj::Module fresh(const std::string& kind) {
    tj::Module m(c10::QualifiedName("__torch__.unlearn." + kind + "_" + std::to_string(count_++)),
                 unit_);
    // train()/eval() skip a module without this attribute.
    m.register_attribute("training", c10::BoolType::get(), false);
    return m;
  }

  static void copy_tensors(const torch::nn::Module& source, tj::Module& m) {
    for (const auto& p : source.named_parameters(/*recurse=*/false)) {
      m.register_parameter(p.key(), p.value().detach().contiguous().clone(), false);
    }
    for (const auto& b : source.named_buffers(/*recurse=*/false)) {
      m.register_buffer(b.key(), b.value().detach().contiguous().clone());
    }
  }

 private:
  static std::string list(const std::vector<int64_t>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
    return s + "]";
  }
  template <size_t D>
  static std::string list(const torch::ExpandingArray<D>& a) {
    return list(std::vector<int64_t>(a->begin(), a->end()));
  }
  static std::string number(double v) {
    std::ostringstream s;
    s.precision(17);
    s << v;
    std::string text = s.str();
    if (text.find_first_of(".e") == std::string::npos) text += ".0";
    return text;
  }

  tj::Module leaf(const torch::nn::Module& source, const std::string& path) {
    std::string kind, body;
    if (const auto* conv = dynamic_cast<const torch::nn::Conv2dImpl*>(&source)) {
      const auto& o = conv->options;
      const auto* padding = c10::get_if<torch::ExpandingArray<2>>(&o.padding());
      if (padding == nullptr || !c10::get_if<torch::enumtype::kZeros>(&o.padding_mode())) {
        unsupported(path, "a Conv2d with 'same'/'valid' or non-zero padding mode");
      }
      kind = "Conv2d";
      body = "torch.conv2d(x, self.weight, " + std::string(o.bias() ? "self.bias" : "None") + ", " +
             list(o.stride()) + ", " + list(*padding) + ", " + list(o.dilation()) + ", " +
             std::to_string(o.groups()) + ")";
    } else if (const auto* own = dynamic_cast<const SyncBatchNorm2dImpl*>(&source)) {
      kind = "BatchNorm2d";
      body = batch_norm(own->options, path);
    } else if (const auto* bn2 = dynamic_cast<const torch::nn::BatchNorm2dImpl*>(&source)) {
      kind = "BatchNorm2d";
      body = batch_norm(bn2->options, path);
    } else if (const auto* bn1 = dynamic_cast<const torch::nn::BatchNorm1dImpl*>(&source)) {
      kind = "BatchNorm1d";
      body = batch_norm(bn1->options, path);
    } else if (const auto* linear = dynamic_cast<const torch::nn::LinearImpl*>(&source)) {
      kind = "Linear";
      body = "torch.linear(x, self.weight, " +
             std::string(linear->options.bias() ? "self.bias" : "None") + ")";
    } else if (dynamic_cast<const torch::nn::ReLUImpl*>(&source)) {
      kind = "ReLU";
      body = "torch.relu(x)";
    } else if (const auto* drop = dynamic_cast<const torch::nn::DropoutImpl*>(&source)) {
      kind = "Dropout";
      body = "torch.dropout(x, " + number(drop->options.p()) + ", self.training)";
    } else if (const auto* pool = dynamic_cast<const torch::nn::MaxPool2dImpl*>(&source)) {
      const auto& o = pool->options;
      kind = "MaxPool2d";
      body = "torch.max_pool2d(x, " + list(o.kernel_size()) + ", " + list(o.stride()) + ", " +
             list(o.padding()) + ", " + list(o.dilation()) + ", " +
             (o.ceil_mode() ? "True" : "False") + ")";
    } else if (const auto* avg = dynamic_cast<const torch::nn::AdaptiveAvgPool2dImpl*>(&source)) {
      std::vector<int64_t> size;
      for (const auto& s : *avg->options.output_size()) {
        if (!s) unsupported(path, "an AdaptiveAvgPool2d with an open output size");
        size.push_back(*s);
      }
      kind = "AdaptiveAvgPool2d";
      body = "torch.adaptive_avg_pool2d(x, " + list(size) + ")";
    } else if (const auto* flat = dynamic_cast<const torch::nn::FlattenImpl*>(&source)) {
      kind = "Flatten";
      body = "torch.flatten(x, " + std::to_string(flat->options.start_dim()) + ", " +
             std::to_string(flat->options.end_dim()) + ")";
    } else {
      unsupported(path, "a " + source.name());
    }
    auto m = fresh(kind);
    copy_tensors(source, m);
    m.define("def forward(self, x):\n    return " + body + "\n");
    return m;
  }

  template <typename Options>
  std::string batch_norm(const Options& o, const std::string& path) {
    if (!o.affine() || !o.track_running_stats()) {
      unsupported(path, "a batch norm without affine weights or running statistics");
    }
    const double momentum = o.momentum() ? *o.momentum() : 0.1;
    return "torch.batch_norm(x, self.weight, self.bias, self.running_mean, self.running_var, "
           "self.training, " +
           number(momentum) + ", " + number(o.eps()) + ", False)";
  }

  [[noreturn]] static void unsupported(const std::string& path, const std::string& what) {
    throw Error(detail::concat("--export torchscript: ", path, " is ", what,
                               ", which the exporter does not translate (it handles chains of "
                               "stock layers: allcnn, small-cnn, mlp)"));
  }

  std::shared_ptr<tj::CompilationUnit> unit_ = std::make_shared<tj::CompilationUnit>();
  int count_ = 0;
};

/// A native feature/classifier network as a TorchScript module with embed, head and forward.
tj::Module script_of_native(const Model& model) {
  const auto groups = model.groups();
  if (groups.size() != 2 || groups[0].name != "features" || groups[1].name != "classifier") {
    throw Error(detail::concat("--export torchscript: ", model.spec().arch,
                               " is not a features/classifier chain; the exporter handles "
                               "allcnn, small-cnn and mlp"));
  }
  ScriptWriter writer;
  auto top = writer.fresh("Classifier");
  top.register_module("features", writer.convert(*groups[0].module, "features"));
  top.register_module("classifier", writer.convert(*groups[1].module, "classifier"));
  top.define(
      "def embed(self, x):\n    return self.features.forward(x)\n"
      "def head(self, f):\n    return self.classifier.forward(f)\n"
      "def forward(self, x):\n    return self.head(self.embed(x))\n");
  return top;
}

}  // namespace

bool is_torchscript_path(const std::string& path) { return path.rfind(kTorchScriptPrefix, 0) == 0; }

std::string model_file_path(const std::string& path) {
  return is_torchscript_path(path) ? path.substr(std::string(kTorchScriptPrefix).size()) : path;
}

std::string torchscript_path_for(const std::string& out) {
  const std::filesystem::path p(out);
  if (p.extension() == ".pt") {
    return (p.parent_path() / (p.stem().string() + ".torchscript.pt")).string();
  }
  return out + ".torchscript.pt";
}

Model import_torchscript(const std::string& path, const TorchScriptSpecFlags& flags) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(detail::concat("cannot open TorchScript file '", path, "'"));
  models_detail::check_archive_member_sizes(path);
  tj::ExtraFilesMap extra{{kSpecFile, ""}};
  tj::Module script = load_script(in, path, extra);
  script.eval();

  const std::string beside = path + ".json";
  nlohmann::json j = nlohmann::json::object();
  std::string where;
  std::error_code ec;
  if (std::filesystem::is_regular_file(beside, ec)) {
    std::ifstream spec_in(beside);
    where = beside;
    try {
      j = nlohmann::json::parse(spec_in);
    } catch (const nlohmann::json::exception& e) {  // naming the file
      throw FormatError(detail::concat(beside, ": not valid JSON: ", e.what()));
    }
  } else if (!extra[kSpecFile].empty()) {
    where = path + " (" + kSpecFile + ")";
    try {
      j = nlohmann::json::parse(extra[kSpecFile]);
    } catch (const nlohmann::json::exception& e) {  // naming the file
      throw FormatError(detail::concat(where, ": not valid JSON: ", e.what()));
    }
  } else if (flags.empty()) {
    throw FormatError(detail::concat(
        path, ": a TorchScript model needs its input spec and class names in ", beside,
        ", e.g. {\"input\": {\"channels\": 1, \"size\": 28, \"mean\": [0.5], \"std\": [0.5]}, "
        "\"class_names\": [\"a\", \"b\"]}, or as --torchscript-channels, --torchscript-size, "
        "--torchscript-mean, --torchscript-std and --torchscript-classes"));
  }
  if (!flags.empty()) {
    if (!j.contains("input") || !j["input"].is_object()) j["input"] = nlohmann::json::object();
    if (flags.channels > 0) j["input"]["channels"] = flags.channels;
    if (flags.size > 0) j["input"]["size"] = flags.size;
    if (!flags.mean.empty()) j["input"]["mean"] = flags.mean;
    if (!flags.std.empty()) j["input"]["std"] = flags.std;
    if (!flags.class_names.empty()) j["class_names"] = flags.class_names;
    where = where.empty() ? "the --torchscript-* flags" : where + " with the --torchscript-* flags";
  }
  ModelSpec spec = imported_spec(j, where);
  spec.provenance = {{"command", "import"}, {"torchscript", path}};
  auto net = std::make_shared<ScriptedNet>(std::move(script));
  for (auto& p : net->parameters()) p.set_requires_grad(true);
  Model model = Model::from_network(std::move(spec), net);
  // The logits must have one column per class name: checked on a zero batch, not trusted.
  torch::Tensor probe;
  try {
    torch::NoGradGuard no_grad;
    probe = model.logits(torch::zeros(
        {2, model.spec().input.channels, model.spec().input.size, model.spec().input.size}));
  } catch (const c10::Error& e) {  // naming the file and the input it was given
    throw FormatError(detail::concat(path, ": forward fails on a ", model.spec().input.channels,
                                     "x", model.spec().input.size, "x", model.spec().input.size,
                                     " input (", e.what_without_backtrace(), ")"));
  }
  if (probe.dim() != 2 || probe.size(1) != model.num_classes()) {
    throw FormatError(detail::concat(path, ": forward returns ", probe.sizes(), ", but ", where,
                                     " names ", model.num_classes(), " classes"));
  }
  return model;
}

void export_torchscript(const Model& model, const std::string& path, bool force,
                        const std::string& flag) {
  tj::Module script;
  if (const auto* scripted = dynamic_cast<const ScriptedNet*>(&model.module())) {
    std::istringstream bytes(scripted->structure_bytes());  // its current weights
    tj::ExtraFilesMap none;
    script = load_script(bytes, path, none);
  } else {
    Model cpu = model.clone();
    cpu.to(torch::kCPU);
    script = script_of_native(cpu);
  }
  script.eval();
  nlohmann::json spec = {{"input",
                          {{"channels", model.spec().input.channels},
                           {"size", model.spec().input.size},
                           {"mean", model.spec().input.mean},
                           {"std", model.spec().input.std}}},
                         {"class_names", model.spec().class_names},
                         {"inputs", "normalised: (x - mean) / std, x in [0,1]"},
                         {"provenance", model.spec().provenance}};
  if (model.spec().class_names.empty()) {
    std::vector<std::string> names;
    for (int64_t k = 0; k < model.num_classes(); ++k) names.push_back(std::to_string(k));
    spec["class_names"] = names;
  }
  // Through a stream, so the archive's folder name does not depend on the temporary name.
  std::ostringstream bytes;
  script.save(bytes, {{kSpecFile, json_text(spec)}});
  write_text_atomically(path, bytes.str(), force, flag);
}

namespace models_detail {
std::shared_ptr<torch::nn::Module> scripted_network_from_bytes(const std::string& bytes,
                                                               const std::string& where) {
  std::istringstream in(bytes);
  tj::ExtraFilesMap none;
  return std::make_shared<ScriptedNet>(load_script(in, where, none));
}
}  // namespace models_detail

}  // namespace unlearn
