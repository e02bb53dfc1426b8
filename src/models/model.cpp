#include "unlearn/models/model.h"

#include <torch/nn/modules/batchnorm.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "archive_check.h"
#include "unlearn/core/atomic_file.h"
#include "unlearn/core/error.h"
#include "unlearn/core/json_text.h"
#include "unlearn/models/allcnn.h"
#include "unlearn/models/mlp.h"
#include "unlearn/models/resnet18.h"
#include "unlearn/models/small_cnn.h"
#include "unlearn/models/sync_batch_norm.h"
#include "unlearn/models/torchscript.h"

namespace unlearn {

namespace {

constexpr const char* kFormatKey = "unlearn_format";
constexpr const char* kFormatValue = "unlearn-model-v1";

/// Channels-last conv weights match channels-last activations: ~1.5x faster convs on CPU.
void to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters()) {
    if (p.dim() == 4) p.set_data(p.data().contiguous(at::MemoryFormat::ChannelsLast));
  }
}

template <typename T>
T field(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.contains(key)) throw FormatError(detail::concat(where, ": model spec lacks '", key, "'"));
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception& e) {  // naming the file and the field
    throw FormatError(detail::concat(where, ": model spec field '", key, "': ", e.what()));
  }
}

}  // namespace

nlohmann::json ModelSpec::to_json() const {
  return {{"arch", arch},
          {"num_classes", options.num_classes()},
          {"in_channels", options.in_channels()},
          {"width", options.width()},
          {"input_size", options.input_size()},
          {"hidden_layers", options.hidden_layers()},
          {"input",
           {{"channels", input.channels},
            {"size", input.size},
            {"mean", input.mean},
            {"std", input.std}}},
          {"class_names", class_names},
          {"provenance", provenance}};
}

ModelSpec ModelSpec::from_json(const nlohmann::json& j, const std::string& where) {
  ModelSpec s;
  s.arch = field<std::string>(j, "arch", where);
  s.options = ArchOptions(field<int64_t>(j, "num_classes", where))
                  .in_channels(field<int64_t>(j, "in_channels", where))
                  .width(field<double>(j, "width", where))
                  .input_size(field<int64_t>(j, "input_size", where))
                  .hidden_layers(field<int64_t>(j, "hidden_layers", where));
  const auto input = field<nlohmann::json>(j, "input", where);
  s.input.channels = field<int64_t>(input, "channels", where);
  s.input.size = field<int64_t>(input, "size", where);
  s.input.mean = field<std::vector<double>>(input, "mean", where);
  s.input.std = field<std::vector<double>>(input, "std", where);
  s.class_names = field<std::vector<std::string>>(j, "class_names", where);
  if (j.contains("provenance")) s.provenance = j.at("provenance");
  // Bounds before anything is built from them: a damaged or hostile file must not make the
  // loader allocate or loop without limit.
  auto bounded = [&](const char* name, double value, double lo, double hi) {
    if (!(value >= lo && value <= hi)) {
      throw FormatError(detail::concat(where, ": spec field '", name, "' = ", value,
                                       " is outside [", lo, ", ", hi, "]"));
    }
  };
  bounded("num_classes", static_cast<double>(s.options.num_classes()), 1, 100000);
  bounded("in_channels", static_cast<double>(s.options.in_channels()), 1, 64);
  bounded("width", s.options.width(), 1e-3, 16);
  bounded("input_size", static_cast<double>(s.options.input_size()), 1, 4096);
  bounded("hidden_layers", static_cast<double>(s.options.hidden_layers()), 0, 64);
  bounded("input.channels", static_cast<double>(s.input.channels), 1, 64);
  bounded("input.size", static_cast<double>(s.input.size), 1, 4096);
  return s;
}

const std::vector<std::string>& architecture_names() {
  static const std::vector<std::string> names{"allcnn", "resnet18", "small-cnn", "mlp"};
  return names;
}

Model::Model(ModelSpec spec, std::shared_ptr<torch::nn::Module> module)
    : spec_(std::move(spec)), module_(std::move(module)) {
  network_ = dynamic_cast<Network*>(module_.get());
  UNLEARN_CHECK(network_ != nullptr, "Model: module does not implement Network");
  cache_normalisation();
}

Model Model::from_network(ModelSpec spec, std::shared_ptr<torch::nn::Module> module) {
  return Model(std::move(spec), std::move(module));
}

Model Model::create(const ModelSpec& spec) {
  spec.input.validate();
  UNLEARN_CHECK(spec.options.num_classes() >= 2, "model: need at least 2 classes, got ",
                spec.options.num_classes());
  UNLEARN_CHECK(spec.options.in_channels() == spec.input.channels, "model: architecture channels (",
                spec.options.in_channels(), ") differ from the input spec's (", spec.input.channels,
                ")");
  UNLEARN_CHECK(spec.class_names.empty() ||
                    static_cast<int64_t>(spec.class_names.size()) == spec.options.num_classes(),
                "model: ", spec.class_names.size(), " class names for ", spec.options.num_classes(),
                " classes");
  std::shared_ptr<torch::nn::Module> module;
  if (spec.arch == "allcnn") {
    module = AllCnn(spec.options).ptr();
  } else if (spec.arch == "resnet18") {
    module = ResNet18(spec.options).ptr();
  } else if (spec.arch == "small-cnn") {
    module = SmallCnn(spec.options).ptr();
  } else if (spec.arch == "mlp") {
    module = Mlp(spec.options).ptr();
  } else if (spec.arch == "torchscript") {
    throw InvalidArgument(
        "--model: a TorchScript model is imported (--model torchscript:FILE), "
        "not created");
  } else {
    throw InvalidArgument(detail::concat("--model: unknown architecture '", spec.arch,
                                         "' (expected allcnn, resnet18, small-cnn or mlp)"));
  }
  to_channels_last(*module);
  return Model(spec, std::move(module));
}

void Model::cache_normalisation() {
  auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(device());
  mean_ = torch::tensor(spec_.input.mean, torch::kFloat64).to(opts).view({1, -1, 1, 1});
  inv_std_ = (1.0 / torch::tensor(spec_.input.std, torch::kFloat64)).to(opts).view({1, -1, 1, 1});
}

torch::Tensor Model::prepare(const torch::Tensor& x01) const {
  UNLEARN_CHECK(x01.dim() == 4 && x01.size(1) == spec_.input.channels, "model: expected N×",
                spec_.input.channels, "×H×W input, got ", x01.sizes());
  auto x = (x01 - mean_) * inv_std_;
  return x.contiguous(at::MemoryFormat::ChannelsLast);
}

torch::Tensor Model::logits(const torch::Tensor& x01) const {
  return network_->logits(prepare(x01));
}
torch::Tensor Model::logits(const torch::Tensor& x01, Precision precision) const {
  if (precision == Precision::fp32) return logits(x01);
  AutocastScope autocast(precision, x01.device());
  return logits(x01).to(torch::kFloat32);
}

torch::Tensor Model::embed(const torch::Tensor& x01) const { return network_->embed(prepare(x01)); }
torch::Tensor Model::head(const torch::Tensor& features) const { return network_->head(features); }

Model Model::clone() const {
  auto copy = module_->clone();
  return Model(spec_, std::move(copy));
}

void Model::train(bool on) { module_->train(on); }
bool Model::is_training() const { return module_->is_training(); }

void Model::set_batchnorm_training(bool on) {
  for (auto& m : module_->modules()) {
    if (dynamic_cast<SyncBatchNorm2dImpl*>(m.get()) ||
        dynamic_cast<torch::nn::BatchNorm2dImpl*>(m.get()) ||
        dynamic_cast<torch::nn::BatchNorm1dImpl*>(m.get())) {
      m->train(on);
    }
  }
  network_->set_script_batchnorm_training(on);
}

void Model::sync_batchnorm(DataParallelGroup* group) {
  for (auto& m : module_->modules()) {
    if (auto* bn = dynamic_cast<SyncBatchNorm2dImpl*>(m.get())) bn->sync_over(group);
  }
}

void Model::to(const torch::Device& device) {
  module_->to(device);
  cache_normalisation();
}

torch::Device Model::device() const {
  auto params = module_->parameters();
  return params.empty() ? torch::Device(torch::kCPU) : params.front().device();
}

std::vector<torch::Tensor> Model::parameters() const { return module_->parameters(); }
torch::OrderedDict<std::string, torch::Tensor> Model::named_parameters() const {
  return module_->named_parameters();
}
torch::OrderedDict<std::string, torch::Tensor> Model::named_buffers() const {
  return module_->named_buffers();
}
std::vector<ModuleGroup> Model::groups() const { return network_->groups(); }

std::vector<torch::Tensor> Model::group_parameters(const std::string& group) const {
  std::string known;
  for (auto& g : groups()) {
    if (g.name == group) return g.module->parameters();
    known += (known.empty() ? "" : ", ") + g.name;
  }
  throw InvalidArgument(detail::concat("model: no module group '", group, "' in ", spec_.arch,
                                       " (groups: ", known, ")"));
}

void Model::save(const std::string& path, bool force, const std::string& flag) const {
  torch::serialize::OutputArchive archive;
  archive.write(kFormatKey, c10::IValue(std::string(kFormatValue)));
  archive.write("spec", c10::IValue(json_text(spec_.to_json())));
  // An imported TorchScript network keeps its code, so the file loads without the original.
  if (const std::string structure = network_->structure_bytes(); !structure.empty()) {
    archive.write("torchscript", c10::IValue(structure));
  }
  torch::serialize::OutputArchive state;
  // Saved on the CPU so a file written on a GPU machine loads anywhere.
  auto cpu_copy = device().is_cpu() ? module_ : module_->clone(torch::Device(torch::kCPU));
  cpu_copy->save(state);
  archive.write("state", state);
  // Through a stream, the archive's inner folder name is fixed ("archive") rather than taken
  // from the (temporary) file name, so equal models give equal bytes. The archive is built in
  // memory and written with a checked stream: LibTorch 1.13's own file writer aborts the
  // process when a write fails (a full disk) instead of throwing.
  std::ostringstream bytes;
  archive.save_to(bytes);
  write_text_atomically(path, bytes.str(), force, flag);
}

Model Model::load(const std::string& path, const TorchScriptSpecFlags& torchscript) {
  if (is_torchscript_path(path)) return import_torchscript(model_file_path(path), torchscript);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw IoError(detail::concat("cannot open model file '", path, "': no such file"));
  }
  models_detail::check_archive_member_sizes(path);
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error& e) {  // LibTorch's reader errors, naming the file
    throw FormatError(
        detail::concat(path, ": not a readable model file (", e.what_without_backtrace(), ")"));
  } catch (const std::exception& e) {  // LibTorch's reader also throws plain exceptions
    throw FormatError(detail::concat(path, ": not a readable model file (", e.what(), ")"));
  }
  c10::IValue format, spec_text;
  if (!archive.try_read(kFormatKey, format) || !format.isString() ||
      format.toStringRef() != kFormatValue) {
    throw FormatError(detail::concat(path, ": not an unlearn model file (missing '", kFormatKey,
                                     "' = ", kFormatValue, ")"));
  }
  if (!archive.try_read("spec", spec_text) || !spec_text.isString()) {
    throw FormatError(detail::concat(path, ": model file lacks its 'spec' record"));
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(spec_text.toStringRef());
  } catch (const nlohmann::json::exception& e) {  // naming the file
    throw FormatError(detail::concat(path, ": model spec is not valid JSON: ", e.what()));
  }
  ModelSpec spec = ModelSpec::from_json(j, path);
  std::shared_ptr<torch::nn::Module> scripted;
  if (spec.arch == "torchscript") {
    c10::IValue structure;
    if (!archive.try_read("torchscript", structure) || !structure.isString()) {
      throw FormatError(detail::concat(path, ": imported TorchScript model lacks its code"));
    }
    scripted = models_detail::scripted_network_from_bytes(structure.toStringRef(), path);
  }
  Model model = scripted ? Model(std::move(spec), scripted) : create(spec);
  // Module::load replaces tensors wholesale, so shapes are compared here, not by LibTorch.
  std::map<std::string, std::vector<int64_t>> expected;
  for (const auto& item : model.module_->named_parameters()) {
    expected[item.key()] = item.value().sizes().vec();
  }
  for (const auto& item : model.module_->named_buffers()) {
    expected[item.key()] = item.value().sizes().vec();
  }
  torch::serialize::InputArchive state;
  try {
    archive.read("state", state);
    model.module_->load(state);
  } catch (const c10::Error& e) {  // naming the file and the tensor
    throw FormatError(
        detail::concat(path, ": weights do not match the spec (", e.what_without_backtrace(), ")"));
  }
  auto check_shape = [&](const std::string& name, const torch::Tensor& t) {
    if (t.sizes().vec() != expected[name]) {
      throw FormatError(detail::concat(path, ": weights do not match the spec: '", name, "' is ",
                                       t.sizes(), ", the spec's ", model.spec_.arch, " needs ",
                                       torch::IntArrayRef(expected[name])));
    }
  };
  for (const auto& item : model.module_->named_parameters()) check_shape(item.key(), item.value());
  for (const auto& item : model.module_->named_buffers()) check_shape(item.key(), item.value());
  // A damaged or diverged file must not be unlearned from or deployed: every value is checked.
  for (const auto& item : model.module_->named_parameters()) {
    if (!torch::isfinite(item.value()).all().item<bool>()) {
      throw FormatError(
          detail::concat(path, ": parameter '", item.key(), "' holds NaN or infinite values"));
    }
  }
  for (const auto& item : model.module_->named_buffers()) {
    if (item.value().is_floating_point() && !torch::isfinite(item.value()).all().item<bool>()) {
      throw FormatError(
          detail::concat(path, ": buffer '", item.key(), "' holds NaN or infinite values"));
    }
  }
  to_channels_last(*model.module_);
  return model;
}

}  // namespace unlearn
