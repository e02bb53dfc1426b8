#pragma once
// Device, thread and seed settings shared by every run.

#include <torch/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "unlearn/core/precision.h"

namespace unlearn {

class DataParallelGroup;  // core/data_parallel.h

/// The wall-clock time by which a method stops updating (forget --time-budget), or a plan stops
/// starting cells (--stop-after).
using Deadline = std::optional<std::chrono::steady_clock::time_point>;

/// The deadline `seconds` from now.
Deadline deadline_after(double seconds);

/// Where and how a computation runs, and with whom. Everything a library call needs to know about
/// its surroundings arrives here or in its own options struct; nothing is read from process-wide
/// state. Example: RunContext().device(torch::kCPU).threads(2).seed(1)
struct RunContext {
  TORCH_ARG(torch::Device, device) = torch::kCPU;
  /// Intra-op threads; 0 means all available cores.
  TORCH_ARG(int, threads) = 0;
  TORCH_ARG(uint64_t, seed) = 0;
  /// Forward passes of training and unlearning; evaluation always runs in fp32.
  TORCH_ARG(Precision, precision) = Precision::fp32;
  /// The command that started the run, as typed; recorded in results (env.command_line).
  TORCH_ARG(std::string, command_line);
  /// Folder of the output cache (metrics/output_cache.h); empty: no caching.
  TORCH_ARG(std::string, output_cache_dir);
  /// Folder of the trained-model cache (train/model_cache.h); empty: no caching.
  TORCH_ARG(std::string, model_cache_dir);
  /// The data-parallel group the run belongs to (dist::GlooGroup), or null to run alone.
  TORCH_ARG(std::shared_ptr<DataParallelGroup>, data_parallel);
  /// --sync-bn: batch norm in training mode takes its statistics over every rank's batch.
  TORCH_ARG(bool, sync_batchnorm) = false;
  /// When set, a method fits its planned steps into the time left (methods/step_budget.h) and
  /// returns its model by then, give or take one step; none: every planned step runs.
  TORCH_ARG(Deadline, deadline);

 public:
  /// The data-parallel group when it has more than one rank, else null (running alone).
  DataParallelGroup* group() const;
};

/// Number of cores this process may use (honours the CPU affinity mask).
int available_cores();

/// Sets LibTorch's intra-op thread count (0 = all available cores) and returns the value used.
/// LibTorch's default here is 1, which halves throughput on a 2-core machine.
int configure_threads(int threads);

/// Makes glibc keep freed memory for reuse instead of handing it back to the kernel: blocks up
/// to 32 MB come from the heap rather than from mmap, and the heap is trimmed only above 512 MB
/// free. Without it every training or unlearning step maps fresh pages for its activations and
/// the kernel zeroes them on first touch: PSG's steps took 1.7-3x longer, and varied 2x from run
/// to run (docs/performance.md, "Page faults"). Call once, at the start of a program.
void configure_allocator();

/// Seeds LibTorch's global generator (CPU and, when present, CUDA).
void seed_everything(uint64_t seed);

/// Parses "cpu", "cuda" or "cuda:N"; throws InvalidArgument naming the value otherwise, and
/// when CUDA is asked for but not available.
torch::Device parse_device(const std::string& text);

/// LibTorch's version as "major.minor.patch".
std::string torch_version();

}  // namespace unlearn
