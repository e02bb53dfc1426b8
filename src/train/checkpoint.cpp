#include "unlearn/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <filesystem>
#include <mutex>
#include <sstream>

#include "unlearn/core/atomic_file.h"
#include "unlearn/core/error.h"
#include "unlearn/core/json_text.h"

namespace unlearn {
namespace {

constexpr const char* kFormatKey = "unlearn_checkpoint";
constexpr const char* kFormatValue = "unlearn-checkpoint-v1";

std::string read_string(torch::serialize::InputArchive& archive, const std::string& key,
                        const std::string& path) {
  c10::IValue value;
  if (!archive.try_read(key, value) || !value.isString()) {
    throw FormatError(detail::concat(path, ": checkpoint lacks '", key, "'"));
  }
  return value.toStringRef();
}

/// The first top-level setting in which `a` and `b` differ ("" when equal).
std::string first_difference(const nlohmann::json& a, const nlohmann::json& b) {
  for (const auto& [key, value] : a.items()) {
    if (!b.contains(key) || b.at(key) != value) return key;
  }
  for (const auto& [key, value] : b.items()) {
    if (!a.contains(key)) return key;
  }
  return a == b ? "" : "(the whole configuration)";
}

}  // namespace

void save_checkpoint(const Checkpointing& checkpointing, const LoopState& state, const Model& model,
                     torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive archive;
  archive.write(kFormatKey, c10::IValue(std::string(kFormatValue)));
  archive.write("config", c10::IValue(json_text(checkpointing.config)));
  archive.write("step", c10::IValue(state.step));
  archive.write("counters", c10::IValue(json_text(state.counters)));
  torch::serialize::OutputArchive weights;
  model.module().save(weights);
  archive.write("model", weights);
  torch::serialize::OutputArchive optimiser_state;
  optimizer.save(optimiser_state);
  archive.write("optimizer", optimiser_state);
  {
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    archive.write("rng_cpu", generator.get_state());
  }
  std::ostringstream bytes;
  archive.save_to(bytes);
  // Atomic: a kill during the write leaves the previous checkpoint, never a torn one.
  write_text_atomically(checkpointing.path, bytes.str(), /*force=*/true, "--checkpoint-every");
}

std::optional<LoopState> load_checkpoint(const Checkpointing& checkpointing, Model& model,
                                         torch::optim::Optimizer& optimizer) {
  const std::string& path = checkpointing.path;
  std::error_code ec;
  if (!checkpointing.resume || path.empty() || !std::filesystem::is_regular_file(path, ec)) {
    return std::nullopt;
  }
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const std::exception& e) {  // LibTorch's reader errors, naming the checkpoint
    throw FormatError(detail::concat(path, ": not a readable checkpoint (", e.what(), ")"));
  }
  if (read_string(archive, kFormatKey, path) != kFormatValue) {
    throw FormatError(detail::concat(path, ": not an unlearn checkpoint"));
  }
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(read_string(archive, "config", path));
  } catch (const nlohmann::json::exception& e) {  // naming the checkpoint
    throw FormatError(
        detail::concat(path, ": checkpoint configuration is not JSON (", e.what(), ")"));
  }
  const std::string differs = first_difference(checkpointing.config, config);
  if (!differs.empty()) {
    throw Error(detail::concat("--resume: ", path, " was written by a run with a different '",
                               differs,
                               "'; delete it to start afresh, or resume with the "
                               "settings it was written with"));
  }
  LoopState state;
  c10::IValue step;
  if (!archive.try_read("step", step) || !step.isInt()) {
    throw FormatError(detail::concat(path, ": checkpoint lacks 'step'"));
  }
  state.step = step.toInt();
  state.counters = nlohmann::json::parse(read_string(archive, "counters", path));
  try {
    const torch::Device device = model.device();
    torch::serialize::InputArchive weights;
    archive.read("model", weights);
    model.module().load(weights);
    model.to(device);
    torch::serialize::InputArchive optimiser_state;
    archive.read("optimizer", optimiser_state);
    optimizer.load(optimiser_state);
    torch::Tensor rng;
    archive.read("rng_cpu", rng);
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(rng);
  } catch (const c10::Error& e) {  // naming the checkpoint and what differs
    throw FormatError(detail::concat(path, ": checkpoint does not fit this run (",
                                     e.what_without_backtrace(), ")"));
  }
  return state;
}

void remove_checkpoint(const Checkpointing& checkpointing) {
  if (checkpointing.path.empty()) return;
  std::error_code ec;
  std::filesystem::remove(checkpointing.path, ec);  // absent is fine
}

}  // namespace unlearn
