// Test helper: model_diff A B prints the largest absolute difference between the parameters
// and floating-point buffers of two model files of the same architecture, and the tensor where
// it is (the data-parallel equivalence test).

#include <torch/torch.h>

#include <cstdio>
#include <string>

#include "unlearn/models/model.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: model_diff A B\n");
    return 2;
  }
  try {
    const auto a = unlearn::Model::load(argv[1]);
    const auto b = unlearn::Model::load(argv[2]);
    double worst = 0;
    std::string where;
    const auto compare = [&](const std::string& name, const torch::Tensor& x,
                             const torch::Tensor& y) {
      if (!x.is_floating_point()) return;
      const double d = (x - y).abs().max().item<double>();
      if (d > worst) {
        worst = d;
        where = name;
      }
    };
    const auto pb = b.named_parameters();
    for (const auto& item : a.named_parameters()) compare(item.key(), item.value(), pb[item.key()]);
    const auto bb = b.named_buffers();
    for (const auto& item : a.named_buffers()) compare(item.key(), item.value(), bb[item.key()]);
    std::printf("%.3g %s\n", worst, where.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "model_diff: %s\n", e.what());
    return 1;
  }
}
