#include "unlearn/core/context.h"

#include <ATen/Parallel.h>
#include <malloc.h>
#include <sched.h>
#include <torch/cuda.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <thread>

#include "unlearn/core/data_parallel.h"
#include "unlearn/core/error.h"

namespace unlearn {

Deadline deadline_after(double seconds) {
  return std::chrono::steady_clock::now() +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(
             std::chrono::duration<double>(seconds));
}

DataParallelGroup* RunContext::group() const {
  return data_parallel_ && data_parallel_->size() > 1 ? data_parallel_.get() : nullptr;
}

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  const unsigned hw = std::thread::hardware_concurrency();
  return hw > 0 ? static_cast<int>(hw) : 1;
}

int configure_threads(int threads) {
  UNLEARN_CHECK(threads >= 0, "--threads: expected a count >= 0 (0 = all cores), got ", threads);
  const int n = threads == 0 ? available_cores() : threads;
  if (at::get_num_threads() != n) at::set_num_threads(n);
  return n;
}

void configure_allocator() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum on 64-bit
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  mallopt(M_TOP_PAD, 64 << 20);
}

void seed_everything(uint64_t seed) { torch::manual_seed(seed); }

torch::Device parse_device(const std::string& text) {
  if (text == "cpu") return torch::kCPU;
  if (text.rfind("cuda", 0) == 0) {
    UNLEARN_CHECK(torch::cuda::is_available(), "--device ", text,
                  ": CUDA is not available in this LibTorch build or on this machine");
    return torch::Device(text);
  }
  throw InvalidArgument(detail::concat("--device: expected cpu, cuda or cuda:N, got '", text, "'"));
}

std::string torch_version() {
  return detail::concat(TORCH_VERSION_MAJOR, ".", TORCH_VERSION_MINOR, ".", TORCH_VERSION_PATCH);
}

}  // namespace unlearn
