// Test helper: model_logits MODEL OUTDIR writes a fixed batch of 16 inputs in [0,1] (x.bin,
// float32, N×C×S×S) and the model's logits on it (logits.bin, float32, N×K), for comparison
// with what Python computes from an exported TorchScript file.

#include <torch/torch.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "unlearn/models/model.h"

namespace {
void write_raw(const std::string& path, const torch::Tensor& t) {
  auto c = t.contiguous().to(torch::kFloat32);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(c.data_ptr<float>()),
            static_cast<std::streamsize>(c.numel() * sizeof(float)));
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: model_logits MODEL OUTDIR\n");
    return 2;
  }
  try {
    torch::manual_seed(11);
    unlearn::Model model = unlearn::Model::load(argv[1]);
    model.train(false);
    const auto& in = model.spec().input;
    auto x = torch::rand({16, in.channels, in.size, in.size});
    torch::NoGradGuard no_grad;
    auto logits = model.logits(x);
    const std::string dir = argv[2];
    write_raw(dir + "/x.bin", x);
    write_raw(dir + "/logits.bin", logits);
    std::printf("%lld %lld %lld %lld\n", static_cast<long long>(x.size(0)),
                static_cast<long long>(in.channels), static_cast<long long>(in.size),
                static_cast<long long>(logits.size(1)));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "model_logits: %s\n", e.what());
    return 1;
  }
  return 0;
}
