#pragma once
// Bad Teacher (Chundawat, Tarun, Mandal and Kankanhalli, AAAI 2023): a student, initialised as
// the original, imitates a randomly initialised "incompetent" teacher on D_f and the original
// ("competent" teacher) on a sample of D_r. See docs/methods/bad-teacher.md.

#include <torch/arg.h>

#include <cstdint>
#include <string>

#include "unlearn/methods/method.h"
#include "unlearn/methods/option_table.h"
#include "unlearn/methods/update_loop.h"

namespace unlearn {

/// Options of Bad Teacher. Example: BadTeacher m(BadTeacherOptions().retain_fraction(0.3));
struct BadTeacherOptions {
  TORCH_ARG(double, epochs) = 1;  // passes over D_f ∪ the retain sample
  TORCH_ARG(double, retain_fraction) = 0.3;
  TORCH_ARG(double, temperature) = 1;
  TORCH_ARG(UpdateOptions, update) =
      UpdateOptions().optimizer(OptimizerKind::adam).lr(1e-4).weight_decay(0).batch(256);
  TORCH_ARG(int64_t, method_seed) = 0;

 public:
  BadTeacherOptions& lr(double value) {
    update_.lr(value);
    return *this;
  }
  BadTeacherOptions& batch(int64_t value) {
    update_.batch(value);
    return *this;
  }
  /// Throws UsageError naming the first bad option.
  void validate() const;
};

/// The incompetent teacher: a freshly initialised network of `spec`, fixed by `seed`.
Model incompetent_teacher(const ModelSpec& spec, uint64_t seed);

class BadTeacher : public OptionsMethod<BadTeacher, BadTeacherOptions> {
 public:
  using OptionsMethod::OptionsMethod;
  static OptionTable option_table(Options& options);

  std::string name() const override { return "bad-teacher"; }
  MethodResult run(const Model& original, const UnlearnData& data, const RunContext& context,
                   Observer& observer) const override;
};

}  // namespace unlearn
