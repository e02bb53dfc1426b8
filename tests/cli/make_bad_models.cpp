// Writes damaged model files for the bad-input catalogue (tests/cli/bad_inputs/), starting from
// a good one:
//   nan.pt          the same model with one weight set to NaN
//   mismatched.pt   a valid archive whose spec names another architecture than its weights
//   classes5.pt     a sound model for 5 classes (the test data has 10)
//
//   make_bad_models GOOD.pt OUTDIR

#include <torch/torch.h>

#include <cstdio>
#include <fstream>
#include <limits>

#include "unlearn/models/model.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_bad_models GOOD.pt OUTDIR\n");
    return 2;
  }
  const std::string dir = argv[2];
  unlearn::Model good = unlearn::Model::load(argv[1]);

  unlearn::Model nan = good.clone();
  {
    torch::NoGradGuard no_grad;
    nan.parameters().front().data_ptr<float>()[0] = std::numeric_limits<float>::quiet_NaN();
  }
  nan.save(dir + "/nan.pt", /*force=*/true, "nan.pt");

  nlohmann::json spec = good.spec().to_json();
  spec["arch"] = spec["arch"] == "mlp" ? "small-cnn" : "mlp";
  torch::serialize::OutputArchive archive, state;
  archive.write("unlearn_format", c10::IValue(std::string("unlearn-model-v1")));
  archive.write("spec", c10::IValue(spec.dump()));
  good.module().save(state);
  archive.write("state", state);
  std::ofstream out(dir + "/mismatched.pt", std::ios::binary);
  archive.save_to(out);

  unlearn::ModelSpec five = good.spec();
  five.options.num_classes(5);
  five.class_names.resize(5);
  unlearn::Model::create(five).save(dir + "/classes5.pt", /*force=*/true, "classes5.pt");
  return 0;
}
