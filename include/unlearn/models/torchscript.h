#pragma once
// TorchScript in both directions: models trained in PyTorch and saved with torch.jit.save are
// unlearned like native ones, and any model can be written for Python's torch.jit.load.

#include <torch/nn/module.h>

#include <memory>
#include <string>
#include <vector>

#include "unlearn/models/model.h"

namespace unlearn {

/// The prefix that marks a TorchScript file where a model path is expected
/// (`--model torchscript:FILE`).
inline constexpr const char* kTorchScriptPrefix = "torchscript:";

/// True when `path` starts with kTorchScriptPrefix.
bool is_torchscript_path(const std::string& path);

/// The file behind a model path: `path` without a "torchscript:" prefix (for hashing).
std::string model_file_path(const std::string& path);

/// Loads a module saved with torch.jit.save (save it with PyTorch 1.13 or a format it reads).
/// The module takes normalised N×C×S×S inputs and returns N×K logits; optional `embed(x)` and
/// `head(f)` methods give penultimate features to the methods that need them. Its parameters
/// keep their names, and their first components (`features`, `0`, `layer1`, ...) become the
/// module groups. The input spec and class names come from `FILE.json` beside the file, else
/// from the file's own `unlearn.json` extra file (written by export_torchscript), field by field
/// overridden by `flags` (model.h):
///   {"input": {"channels": 1, "size": 28, "mean": [0.5], "std": [0.5]},
///    "class_names": ["T-shirt/top", ...]}
/// Throws IoError or FormatError naming the file and the missing or bad field.
Model import_torchscript(const std::string& path, const TorchScriptSpecFlags& flags = {});

/// Writes `model` as a TorchScript file that Python's torch.jit.load reads: forward(x) on
/// normalised inputs, plus embed(x) and head(f), with the spec (input statistics, class names)
/// in the extra file `unlearn.json`. Native models must be chains of stock layers (allcnn,
/// small-cnn, mlp); imported TorchScript models are written back with their new weights.
/// Atomic, and an existing file is only replaced with `force`.
void export_torchscript(const Model& model, const std::string& path, bool force,
                        const std::string& flag = "--export");

/// Where `--export torchscript` writes beside the model file `out`: NAME.torchscript.pt for
/// NAME.pt, else OUT.torchscript.pt.
std::string torchscript_path_for(const std::string& out);

namespace models_detail {
/// Rebuilds an imported model's network from the TorchScript bytes a model file keeps
/// (Model::save/load use this for architecture "torchscript").
std::shared_ptr<torch::nn::Module> scripted_network_from_bytes(const std::string& bytes,
                                                               const std::string& where);
}  // namespace models_detail

}  // namespace unlearn
