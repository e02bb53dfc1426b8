#pragma once
// The tiny unlearning problem every method test runs on: three separable 2-D blobs, a trained
// point model, and class 0 as the forget set.

#include <torch/torch.h>

#include "test_util.h"
#include "unlearn/methods/method.h"
#include "unlearn/metrics/accuracy.h"
#include "unlearn/train/trainer.h"

namespace unlearn::test {

struct Problem {
  Blobs data;
  Model model;
  UnlearnData udata;
};

inline Problem make_problem(uint64_t seed, int64_t hidden = 1) {
  auto data = blobs(3, 40, seed);
  Model model = point_model(2, 3, hidden, seed);
  NullObserver obs;
  auto all = torch::arange(data.y.size(0), torch::kInt64);
  train_model(model, data.x, data.y, all, TrainOptions().epochs(15).batch(16).lr(0.1).seed(seed),
              RunContext(), obs);
  auto forget = torch::nonzero(data.y.eq(0)).flatten();
  auto retain = torch::nonzero(data.y.ne(0)).flatten();
  return {data, model, UnlearnData{data.x, data.y, forget, retain}};
}

/// Accuracy (percent) of `m` on the training rows `rows` of `p`.
inline double rows_accuracy(const Model& m, const Problem& p, const torch::Tensor& rows) {
  torch::NoGradGuard g;
  return accuracy_percent(m.logits(p.data.x.index_select(0, rows)), p.data.y.index_select(0, rows));
}

inline double forget_accuracy(const Model& m, const Problem& p) {
  return rows_accuracy(m, p, p.udata.forget);
}

inline double retain_accuracy(const Model& m, const Problem& p) {
  return rows_accuracy(m, p, p.udata.retain);
}

}  // namespace unlearn::test
