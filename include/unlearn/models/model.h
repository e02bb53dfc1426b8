#pragma once
// The one model interface everything above models/ uses. Input normalisation is part of the
// model: callers pass pixels scaled to [0,1] in the model's channels and size
// (see to_model_input), so a perturbation search can work in raw pixel space.

#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "unlearn/core/data_parallel.h"
#include "unlearn/core/precision.h"
#include "unlearn/models/arch_options.h"
#include "unlearn/models/input_spec.h"
#include "unlearn/models/network.h"

namespace unlearn {

/// Spec values for an imported TorchScript model (`torchscript:FILE`), given on the command line
/// (--torchscript-*). Each one set takes precedence over FILE.json and the file's own
/// unlearn.json; unset ones (0 or empty) leave the file's value. They travel beside the model
/// paths of a job, as DataOptions travel beside its data source.
struct TorchScriptSpecFlags {
  int64_t channels = 0;
  int64_t size = 0;
  std::vector<double> mean, std;
  std::vector<std::string> class_names;
  bool empty() const {
    return channels == 0 && size == 0 && mean.empty() && std.empty() && class_names.empty();
  }
};

/// Everything needed to rebuild a model: it is stored in every model file.
struct ModelSpec {
  std::string arch;  // allcnn | resnet18 | small-cnn | mlp
  ArchOptions options{10};
  InputSpec input;
  std::vector<std::string> class_names;
  /// Free-form provenance: how the model was made (command, data, selection, seed, ...).
  nlohmann::json provenance = nlohmann::json::object();

  nlohmann::json to_json() const;
  /// Throws FormatError naming the missing or malformed field.
  static ModelSpec from_json(const nlohmann::json& j, const std::string& where);
};

/// The architectures `Model::create` knows.
const std::vector<std::string>& architecture_names();

class Model {
 public:
  /// Builds a freshly initialised network. Throws InvalidArgument for an unknown architecture.
  static Model create(const ModelSpec& spec);

  const ModelSpec& spec() const { return spec_; }
  ModelSpec& spec() { return spec_; }
  int64_t num_classes() const { return spec_.options.num_classes(); }

  /// Logits N×K for inputs in [0,1] (N×C×S×S).
  torch::Tensor logits(const torch::Tensor& x01) const;
  /// The same with the forward pass under `precision` (bf16: autocast on the model's device),
  /// returned in fp32 so losses and argmaxes downstream are unaffected by the choice.
  torch::Tensor logits(const torch::Tensor& x01, Precision precision) const;
  /// Penultimate features N×D for inputs in [0,1].
  torch::Tensor embed(const torch::Tensor& x01) const;
  /// Logits from penultimate features.
  torch::Tensor head(const torch::Tensor& features) const;

  /// A deep copy: parameters and buffers are new tensors.
  Model clone() const;

  void train(bool on = true);
  bool is_training() const;
  /// Switches only the batch-norm layers between batch statistics (true) and running ones.
  void set_batchnorm_training(bool on);
  /// --sync-bn: the native batch-norm layers take training-mode statistics over every rank of
  /// `group` (null: each rank's own batch, the default).
  void sync_batchnorm(DataParallelGroup* group);

  void to(const torch::Device& device);
  torch::Device device() const;

  std::vector<torch::Tensor> parameters() const;
  torch::OrderedDict<std::string, torch::Tensor> named_parameters() const;
  torch::OrderedDict<std::string, torch::Tensor> named_buffers() const;
  std::vector<ModuleGroup> groups() const;
  /// Parameters of the named group; throws InvalidArgument listing the groups when unknown.
  std::vector<torch::Tensor> group_parameters(const std::string& group) const;
  torch::nn::Module& module() const { return *module_; }

  /// Writes a self-describing model file atomically; refuses to replace a file without `force`.
  void save(const std::string& path, bool force = false, const std::string& flag = "--out") const;
  /// Reads a model file written by save(), or a TorchScript file given as
  /// "torchscript:FILE" (see torchscript.h), whose spec `torchscript` may complete or override.
  /// Throws IoError or FormatError naming the file.
  static Model load(const std::string& path, const TorchScriptSpecFlags& torchscript = {});
  /// A model around a network built elsewhere (an imported TorchScript module); `module` must
  /// implement Network.
  static Model from_network(ModelSpec spec, std::shared_ptr<torch::nn::Module> module);

 private:
  Model(ModelSpec spec, std::shared_ptr<torch::nn::Module> module);
  void cache_normalisation();
  torch::Tensor prepare(const torch::Tensor& x01) const;

  ModelSpec spec_;
  std::shared_ptr<torch::nn::Module> module_;
  Network* network_ = nullptr;  // the same object as module_, seen through its Network side
  torch::Tensor mean_, inv_std_;
};

}  // namespace unlearn
