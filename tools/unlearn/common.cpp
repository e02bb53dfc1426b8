#include "common.h"

namespace unlearn::cli {

RunContext CommonOptions::apply() const {
  const int used = configure_threads(threads);
  seed_everything(seed);
  return RunContext().device(parse_device(device)).threads(used).seed(seed);
}

void add_common_options(CLI::App* sub, CommonOptions& o) {
  sub->add_option("--threads", o.threads, "intra-op threads (default: all available cores)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--seed", o.seed, "random seed")->capture_default_str();
  sub->add_option("--device", o.device, "cpu or cuda[:N]")->capture_default_str();
  sub->add_flag("--quiet", o.quiet, "no progress output");
  sub->add_option("--config", o.config, "YAML file of options; flags on the command line win");
}

}  // namespace unlearn::cli
