#pragma once
// Device, thread and seed settings shared by every run.

#include <torch/types.h>

#include <cstdint>
#include <string>

#include "unlearn/core/precision.h"

namespace unlearn {

/// Where and how a computation runs. Example: RunContext().device(torch::kCPU).threads(2).seed(1)
struct RunContext {
  TORCH_ARG(torch::Device, device) = torch::kCPU;
  /// Intra-op threads; 0 means all available cores.
  TORCH_ARG(int, threads) = 0;
  TORCH_ARG(uint64_t, seed) = 0;
  /// Forward passes of training and unlearning; evaluation always runs in fp32.
  TORCH_ARG(Precision, precision) = Precision::fp32;
  /// The command that started the run, as typed; recorded in results (env.command_line).
  TORCH_ARG(std::string, command_line);
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
