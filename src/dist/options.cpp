#include "unlearn/dist/options.h"

#include "unlearn/core/error.h"

namespace unlearn::dist {

void DistOptions::validate() const {
  UNLEARN_CHECK_AS(UsageError, world_size >= 1, "--world-size (WORLD_SIZE): expected >= 1, got ",
                   world_size);
  UNLEARN_CHECK_AS(UsageError, rank >= 0 && rank < world_size, "--rank (RANK): expected 0..",
                   world_size - 1, " for a world of ", world_size, ", got ", rank);
  UNLEARN_CHECK_AS(UsageError, local_world_size >= 1,
                   "--local-world-size (LOCAL_WORLD_SIZE): expected >= 1, got ", local_world_size);
  UNLEARN_CHECK_AS(UsageError, local_rank >= 0 && local_rank < local_world_size,
                   "--local-rank (LOCAL_RANK): expected 0..", local_world_size - 1, ", got ",
                   local_rank);
  UNLEARN_CHECK_AS(UsageError, master_port >= 1 && master_port <= 65535,
                   "--master-port (MASTER_PORT): expected a TCP port 1..65535, got ", master_port);
  UNLEARN_CHECK_AS(UsageError, !master_addr.empty(),
                   "--master-addr (MASTER_ADDR): expected a host name or address");
  UNLEARN_CHECK_AS(UsageError, timeout_s >= 1,
                   "--dist-timeout (UNLEARN_DIST_TIMEOUT): expected >= 1 s, got ", timeout_s);
}

}  // namespace unlearn::dist
