// unlearn launch: N local ranks of a subcommand, the way torchrun starts them.

#include <string>
#include <vector>

#include "common.h"
#include "unlearn/dist/launch.h"

namespace unlearn::cli {

void register_launch(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "launch",
      "run a subcommand as N local ranks (RANK, WORLD_SIZE, ... set as torchrun does); "
      "returns the first failing rank's exit status");
  auto options = std::make_shared<dist::LaunchOptions>();
  auto command = std::make_shared<std::vector<std::string>>();
  sub->add_option("-n,--nproc", options->processes, "number of ranks")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  sub->add_option("--master-addr", options->master_addr, "address of rank 0's store")
      ->capture_default_str();
  sub->add_option("--master-port", options->master_port,
                  "port of rank 0's store (default: a free one)")
      ->check(CLI::Range(1, 65535));
  sub->add_option("--dist-timeout", options->timeout_s,
                  "seconds each rank waits for a lost peer before stopping with an error")
      ->check(positive())
      ->capture_default_str();
  sub->add_option("command", *command, "the subcommand and its options, after --")->required();
  sub->callback(
      [=] { throw ExitStatus(dist::launch_local("/proc/self/exe", *command, *options)); });
}

}  // namespace unlearn::cli
