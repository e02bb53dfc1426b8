#pragma once
// Where a process stands in a distributed run: the torchrun variables (RANK, WORLD_SIZE,
// LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT; the CLI reads them as the defaults
// of its flags) and the fault timeout.

#include <string>

namespace unlearn::dist {

struct DistOptions {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;  // processes on this host; they share its cores
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;  // torchrun's default
  /// Seconds a rank waits for a lost or silent peer before it stops with an error.
  int timeout_s = 60;
  /// Batch-norm statistics computed over the global batch instead of each rank's share.
  bool sync_bn = false;

  /// More than one process: a group must be joined.
  bool distributed() const { return world_size > 1; }
  /// Throws UsageError naming the flag and variable of the first bad field.
  void validate() const;
};

}  // namespace unlearn::dist
