// End-to-end sweep of unlearning configurations on one model, judged on TRAINING data only
// (forget-set accuracy on D_f, retain accuracy on a fixed subset of D_r), so that choosing
// defaults never looks at the test split.
//
//   build/bench/psg_sweep MODEL 'class == 0' psg 'lr=1e-3,bn-mode=frozen' 'lr=1e-2' ...
//
// Each configuration is `key=value` pairs (method options) separated by commas; a first entry
// `method=NAME` picks another method.

#include <chrono>
#include <cstdio>
#include <sstream>

#include "unlearn/core/context.h"
#include "unlearn/data/source.h"
#include "unlearn/methods/registry.h"
#include "unlearn/metrics/accuracy.h"
#include "unlearn/metrics/evaluator.h"
#include "unlearn/select/selection.h"

using namespace unlearn;

namespace {

OptionValues parse_config(const std::string& text, std::string& method) {
  OptionValues values;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const auto eq = item.find('=');
    const std::string key = item.substr(0, eq),
                      value = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (key == "method") {
      method = value;
    } else {
      values[key] = value;
    }
  }
  return values;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: psg_sweep MODEL FORGET_EXPR METHOD CONFIG...\n");
    return 2;
  }
  try {
    const int threads = configure_threads(0);
    Model original = Model::load(argv[1]);
    DataBundle bundle = load_data("fashion-mnist");
    Split split = make_split(Selection::parse(argv[2]), bundle);
    EvalData data = make_eval_data(bundle, original.spec().input);
    UnlearnData udata{data.train_inputs, data.train_labels, split.train.forget, split.train.retain};
    // A fixed 10000-sample subset of D_r keeps each judgement to a few seconds.
    auto retain_probe = split.train.retain.slice(0, 0, split.train.retain.numel(), 5);
    auto judge = [&](const Model& m) {
      auto f = predict_logits(m, data.train_inputs.index_select(0, split.train.forget), 128);
      auto r = predict_logits(m, data.train_inputs.index_select(0, retain_probe), 128);
      return std::pair<double, double>{
          accuracy_percent(f, data.train_labels.index_select(0, split.train.forget)),
          accuracy_percent(r, data.train_labels.index_select(0, retain_probe))};
    };
    auto [f0, r0] = judge(original);
    std::printf("threads %d; original: forget-train acc %.2f, retain-train acc %.2f (%lld probe)\n",
                threads, f0, r0, static_cast<long long>(retain_probe.numel()));
    std::printf("%-60s %6s %8s %9s %9s\n", "config", "steps", "time(s)", "forget%", "retain%");
    for (int i = 4; i < argc; ++i) {
      std::string method = argv[3];
      auto values = parse_config(argv[i], method);
      auto m = make_method(method, values);
      NullObserver obs;
      seed_everything(0);
      const auto start = std::chrono::steady_clock::now();
      auto result = m->run(original, udata, RunContext().threads(threads), obs);
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      auto [f, r] = judge(result.model);
      double flips = 0, gnorm = 0;
      for (const auto& rec : result.trace) {
        flips += rec.values.at("flip_rate") / result.trace.size();
        gnorm += rec.values.at("grad_norm") / result.trace.size();
      }
      std::string relabel;
      if (result.summary.contains("relabel_counts")) {
        for (const auto& row : result.summary["relabel_counts"]) {
          int64_t total = 0;
          for (const auto& c : row) total += c.get<int64_t>();
          if (total == 0) continue;
          for (size_t k = 0; k < row.size(); ++k) {
            const double share = 100.0 * row[k].get<int64_t>() / total;
            if (share >= 5) relabel += std::to_string(k) + ":" + std::to_string(int(share)) + "% ";
          }
        }
      }
      std::printf("%-60s %6lld %8.2f %9.2f %9.2f  flips %.2f |g| %.1f  %s\n",
                  (method + " " + argv[i]).c_str(), static_cast<long long>(result.trace.size()),
                  secs, f, r, flips, gnorm, relabel.c_str());
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
