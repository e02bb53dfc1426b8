#pragma once
// The distributed flags of train, forget, sweep and bench, and joining the group they describe.

#include <CLI/CLI.hpp>
#include <functional>

#include "common.h"
#include "unlearn/dist/gloo_group.h"
#include "unlearn/dist/options.h"

namespace unlearn::cli {

/// --rank, --world-size, --local-rank, --local-world-size, --master-addr, --master-port (each
/// defaulting to torchrun's variable of that name) and --dist-timeout; with `sync_bn`, also
/// --sync-bn.
void add_dist_options(CLI::App* sub, dist::DistOptions& options, bool sync_bn);

/// Runs `body` as one rank of the group `options` describe, or alone when the world size is 1
/// (then `body` gets null), with the context of `common`. With `data_parallel`, the context
/// carries the group for the training and unlearning loops (and --sync-bn); otherwise (sweep,
/// bench) the group only hands out work. Ranks other than 0 run quietly, the default thread count
/// is the host's cores shared among its local ranks, and `--device cuda` becomes cuda:LOCAL_RANK. A
/// failure is announced to the other ranks.
void run_as_rank(const dist::DistOptions& options, CommonOptions& common, bool data_parallel,
                 const std::function<void(const RunContext&, dist::GlooGroup*)>& body);

}  // namespace unlearn::cli
