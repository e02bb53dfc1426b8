#include "distributed.h"

#include <algorithm>
#include <string>

#include "unlearn/core/context.h"
#include "unlearn/core/data_parallel.h"

namespace unlearn::cli {

void add_dist_options(CLI::App* sub, dist::DistOptions& o, bool sync_bn) {
  auto* g = sub->add_option_group(
      "Distributed", "one rank of a group (docs/distributed.md); torchrun's variables set these");
  g->add_option("--rank", o.rank, "this process's rank")->envname("RANK");
  g->add_option("--world-size", o.world_size, "number of ranks")->envname("WORLD_SIZE");
  g->add_option("--local-rank", o.local_rank, "rank on this host")->envname("LOCAL_RANK");
  g->add_option("--local-world-size", o.local_world_size,
                "ranks on this host (they share its cores)")
      ->envname("LOCAL_WORLD_SIZE");
  g->add_option("--master-addr", o.master_addr, "host of rank 0's rendezvous store")
      ->envname("MASTER_ADDR");
  g->add_option("--master-port", o.master_port, "port of rank 0's rendezvous store")
      ->envname("MASTER_PORT");
  g->add_option("--dist-timeout", o.timeout_s,
                "seconds to wait for a lost or silent rank before stopping with an error")
      ->envname("UNLEARN_DIST_TIMEOUT");
  if (sync_bn) {
    g->add_flag("--sync-bn", o.sync_bn,
                "batch-norm statistics over the global batch instead of each rank's share");
  }
}

void run_as_rank(const dist::DistOptions& options, CommonOptions& common, bool data_parallel,
                 const std::function<void(const RunContext&, dist::GlooGroup*)>& body) {
  options.validate();
  if (!options.distributed()) {
    body(common.apply(), nullptr);
    return;
  }
  if (common.threads == 0) {
    common.threads = std::max(1, available_cores() / options.local_world_size);
  }
  if (options.rank != 0) common.quiet = true;
  // One GPU per local rank, as with torchrun: --device cuda means cuda:LOCAL_RANK.
  if (common.device == "cuda") common.device = "cuda:" + std::to_string(options.local_rank);
  auto group = dist::GlooGroup::join(options);
  RunContext context = common.apply();
  if (data_parallel) context.data_parallel(group).sync_batchnorm(options.sync_bn);
  try {
    body(context, group.get());
  } catch (const std::exception& e) {
    // Rethrown unchanged; the other ranks first learn why this one stops.
    group->announce_failure(e.what());
    throw;
  }
}

}  // namespace unlearn::cli
