#pragma once
// `unlearn launch`: starts N local ranks of a command the way torchrun does, with RANK,
// WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT set in each.

#include <string>
#include <vector>

namespace unlearn::dist {

struct LaunchOptions {
  int processes = 2;
  std::string master_addr = "127.0.0.1";
  /// 0: a free port on this host, found at start.
  int master_port = 0;
  /// Seconds the others get to stop on their own after one rank fails (their own fault
  /// timeout), before they are terminated.
  int timeout_s = 60;
};

/// A TCP port on 127.0.0.1 that was free a moment ago.
int free_local_port();

/// Runs `program args...` as ranks 0..N-1. SIGINT, SIGTERM and SIGHUP are passed on to every
/// rank. Returns 0 when all succeed, else the first failure's exit status (128 + the signal for
/// a killed rank). Reports each failure on stderr, naming the rank.
int launch_local(const std::string& program, const std::vector<std::string>& args,
                 const LaunchOptions& options);

}  // namespace unlearn::dist
