#include "unlearn/metrics/mia.h"

#include <ATen/CPUGeneratorImpl.h>
#include <svm.h>
#include <torch/torch.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "unlearn/core/error.h"

namespace unlearn {

torch::Tensor true_class_probability(const torch::Tensor& logits, const torch::Tensor& labels) {
  constexpr const char* kFn = "true_class_probability";
  UNLEARN_CHECK(logits.defined(), kFn, ": logits is undefined");
  UNLEARN_CHECK(logits.dim() == 2 && logits.size(1) >= 1, kFn,
                ": logits: expected shape N×C with C >= 1, got ", logits.sizes());
  UNLEARN_CHECK(logits.is_floating_point(), kFn, ": logits: expected a floating dtype, got ",
                logits.scalar_type());
  UNLEARN_CHECK(labels.defined(), kFn, ": labels is undefined");
  UNLEARN_CHECK(labels.dim() == 1 && labels.size(0) == logits.size(0), kFn, ": labels: expected ",
                logits.size(0), " labels (one per logit row), got shape ", labels.sizes());
  UNLEARN_CHECK(at::isIntegralType(labels.scalar_type(), /*includeBool=*/false), kFn,
                ": labels: expected an integer dtype, got ", labels.scalar_type());
  if (labels.numel() == 0) return torch::empty({0}, torch::kDouble);
  const auto y = labels.to(logits.device(), torch::kLong);
  const int64_t lo = y.min().item<int64_t>();
  const int64_t hi = y.max().item<int64_t>();
  UNLEARN_CHECK(lo >= 0 && hi < logits.size(1), kFn, ": labels: class indices must lie in [0, ",
                logits.size(1), "), got [", lo, ", ", hi, "]");
  // Softmax in float64 so probabilities near 1 keep their resolution for the attack.
  return torch::softmax(logits.to(torch::kDouble), 1)
      .gather(1, y.unsqueeze(1))
      .squeeze(1)
      .to(torch::kCPU)
      .contiguous();
}

namespace {

constexpr const char* kMia = "mia_efficacy";

// Validates one feature argument of `fn` and returns it as a contiguous CPU float64 N×F matrix.
torch::Tensor feature_matrix(const torch::Tensor& t, const char* fn, const char* name) {
  UNLEARN_CHECK(t.defined(), fn, ": ", name, " is undefined");
  UNLEARN_CHECK(t.scalar_type() == torch::kFloat || t.scalar_type() == torch::kDouble, fn, ": ",
                name, ": expected float32 or float64 features, got ", t.scalar_type());
  UNLEARN_CHECK(t.dim() == 1 || (t.dim() == 2 && t.size(1) >= 1), fn, ": ", name,
                ": expected shape N or N×F with F >= 1, got ", t.sizes());
  auto m = (t.dim() == 1 ? t.unsqueeze(1) : t).to(torch::kCPU, torch::kDouble).contiguous();
  UNLEARN_CHECK(m.numel() == 0 || torch::isfinite(m).all().item<bool>(), fn, ": ", name,
                ": features must be finite (found NaN or Inf)");
  return m;
}

// The first n rows of a seeded random permutation of x's rows.
torch::Tensor random_rows(const torch::Tensor& x, int64_t n, at::Generator& gen) {
  const auto perm = torch::randperm(x.size(0), gen, torch::kLong);
  return x.index_select(0, perm.slice(0, 0, n));
}

// The three feature sets of an attack, validated, with the training sets drawn as mia.h
// documents: retain down to the test count, then both down to max_samples when set.
struct AttackSets {
  torch::Tensor retain, test, forget;  // CPU float64 N×F
};

AttackSets attack_sets(const torch::Tensor& retain_features, const torch::Tensor& test_features,
                       const torch::Tensor& forget_features, const MiaOptions& options,
                       const char* fn) {
  UNLEARN_CHECK(options.max_samples() >= 0, fn, ": max_samples: expected >= 0 (0 = no cap), got ",
                options.max_samples());
  AttackSets s{feature_matrix(retain_features, fn, "retain_features"),
               feature_matrix(test_features, fn, "test_features"),
               feature_matrix(forget_features, fn, "forget_features")};
  const int64_t f = s.retain.size(1);
  UNLEARN_CHECK(s.test.size(1) == f, fn, ": test_features: ", s.test.size(1),
                " features per row but retain_features has ", f);
  UNLEARN_CHECK(s.forget.size(1) == f, fn, ": forget_features: ", s.forget.size(1),
                " features per row but retain_features has ", f);
  UNLEARN_CHECK(s.retain.size(0) > 0, fn,
                ": retain_features: no samples (the attack needs members)");
  UNLEARN_CHECK(s.test.size(0) > 0, fn,
                ": test_features: no samples (the attack needs non-members)");
  int64_t n = std::min(s.retain.size(0), s.test.size(0));
  if (options.max_samples() > 0) n = std::min(n, options.max_samples());
  auto gen = at::detail::createCPUGenerator(options.seed());
  if (s.retain.size(0) > n) s.retain = random_rows(s.retain, n, gen);
  // The test rows are permuted whenever mia_efficacy draws from them, and the first n of that
  // permutation are its draw; mia_entropy keeps up to max_samples (or all) of them.
  const int64_t n_test =
      options.max_samples() > 0 ? std::min(options.max_samples(), s.test.size(0)) : s.test.size(0);
  if (s.test.size(0) > n) s.test = random_rows(s.test, n_test, gen);
  return s;
}

// Rows in libsvm's node format: F nodes (1-based index) then the index -1 terminator. A trained
// model points into these nodes for its support vectors, so they must outlive the model.
class SvmRows {
 public:
  explicit SvmRows(const torch::Tensor& x) {  // contiguous CPU float64 N×F
    const int64_t n = x.size(0);
    const int64_t f = x.size(1);
    const double* data = x.data_ptr<double>();
    nodes_.resize(static_cast<size_t>(n * (f + 1)));
    rows_.resize(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      svm_node* row = &nodes_[static_cast<size_t>(i * (f + 1))];
      for (int64_t j = 0; j < f; ++j) {
        row[j].index = static_cast<int>(j + 1);
        row[j].value = data[i * f + j];
      }
      row[f].index = -1;
      row[f].value = 0.0;
      rows_[static_cast<size_t>(i)] = row;
    }
  }
  svm_node** rows() { return rows_.data(); }
  const svm_node* row(int64_t i) const { return rows_[static_cast<size_t>(i)]; }

 private:
  std::vector<svm_node> nodes_;
  std::vector<svm_node*> rows_;
};

struct SvmModelDeleter {
  void operator()(svm_model* model) const { svm_free_and_destroy_model(&model); }
};
using SvmModelPtr = std::unique_ptr<svm_model, SvmModelDeleter>;

// libsvm prints training progress to stdout unless told otherwise.
void discard_svm_output(const char* /*unused*/) {}

}  // namespace

double mia_efficacy(const torch::Tensor& retain_features, const torch::Tensor& test_features,
                    const torch::Tensor& forget_features, const MiaOptions& options) {
  UNLEARN_CHECK(options.c() > 0, kMia, ": c: expected > 0, got ", options.c());
  UNLEARN_CHECK(options.cache_mb() > 0, kMia, ": cache_mb: expected > 0, got ", options.cache_mb());
  UNLEARN_CHECK(options.gamma() >= 0, kMia, ": gamma: expected >= 0 (0 = 1/n_features), got ",
                options.gamma());
  auto sets = attack_sets(retain_features, test_features, forget_features, options, kMia);
  const auto& forget = sets.forget;
  if (forget.size(0) == 0) return std::numeric_limits<double>::quiet_NaN();
  // Balanced classes: as many members as non-members, the larger side drawn at random.
  const int64_t f = sets.retain.size(1);
  const int64_t n = std::min(sets.retain.size(0), sets.test.size(0));
  auto retain = sets.retain.slice(0, 0, n);
  auto test = sets.test.slice(0, 0, n);
  UNLEARN_CHECK(2 * n <= INT_MAX, kMia, ": ", 2 * n, " training samples exceed libsvm's limit");

  SvmRows train_rows(torch::cat({retain, test}, 0));
  std::vector<double> train_labels(static_cast<size_t>(2 * n), 0.0);
  std::fill_n(train_labels.begin(), n, 1.0);  // members first

  svm_problem problem{};
  problem.l = static_cast<int>(2 * n);
  problem.y = train_labels.data();
  problem.x = train_rows.rows();

  svm_parameter param{};
  param.svm_type = C_SVC;
  param.kernel_type = RBF;
  param.degree = 3;
  param.gamma = options.gamma() > 0 ? options.gamma() : 1.0 / static_cast<double>(f);
  param.coef0 = 0;
  param.cache_size = options.cache_mb();
  param.eps = 1e-3;
  param.C = options.c();
  param.nr_weight = 0;
  param.weight_label = nullptr;
  param.weight = nullptr;
  param.nu = 0.5;
  param.p = 0.1;
  param.shrinking = 1;
  param.probability = 0;
  if (const char* problem_msg = svm_check_parameter(&problem, &param)) {
    throw InvalidArgument(detail::concat(kMia, ": libsvm rejected the parameters: ", problem_msg));
  }

  // Once per process: fits may run on several threads at a time (evaluate_entries).
  static const bool quiet = [] {
    svm_set_print_string_function(&discard_svm_output);
    return true;
  }();
  (void)quiet;
  const SvmModelPtr model(svm_train(&problem, &param));
  UNLEARN_CHECK_AS(Error, model != nullptr, kMia, ": libsvm training failed");

  SvmRows forget_rows(forget);
  int64_t non_members = 0;
  for (int64_t i = 0; i < forget.size(0); ++i) {
    if (svm_predict(model.get(), forget_rows.row(i)) < 0.5) ++non_members;
  }
  return 100.0 * static_cast<double>(non_members) / static_cast<double>(forget.size(0));
}

torch::Tensor softmax_entropy(const torch::Tensor& logits) {
  constexpr const char* kFn = "softmax_entropy";
  UNLEARN_CHECK(logits.defined(), kFn, ": logits is undefined");
  UNLEARN_CHECK(logits.dim() == 2 && logits.size(1) >= 1, kFn,
                ": logits: expected shape N×C with C >= 1, got ", logits.sizes());
  UNLEARN_CHECK(logits.is_floating_point(), kFn, ": logits: expected a floating dtype, got ",
                logits.scalar_type());
  const auto log_p = torch::log_softmax(logits.to(torch::kCPU, torch::kDouble), 1);
  const auto p = log_p.exp();
  // 0·log 0 = 0: a class whose probability underflowed contributes nothing (and not NaN).
  return -torch::where(p > 0, p * log_p, torch::zeros_like(p)).sum(1).contiguous();
}

namespace {

constexpr const char* kMiaEntropy = "mia_entropy";

// The weighted logistic loss with an L2 penalty on the weights only:
//   L(θ) = ½ Σ_j w_j² + Σ_i s_i [softplus(z_i) − y_i z_i],  z = X̃θ,  θ = (w, b),  X̃ = [X, 1].
double logistic_objective(const torch::Tensor& xb, const torch::Tensor& y, const torch::Tensor& s,
                          const torch::Tensor& theta, const torch::Tensor& penalty) {
  const auto z = xb.mv(theta);
  const auto softplus = z.clamp_min(0) + torch::log1p(torch::exp(-z.abs()));
  return (0.5 * (penalty * theta * theta).sum() + (s * (softplus - y * z)).sum()).item<double>();
}

// θ = (w, b) minimising logistic_objective, by Newton's method with a backtracking line search.
// The objective is strictly convex in w and convex in b, so this converges from θ = 0 in a few
// dozen steps at most; a tiny ridge on the Hessian keeps the solve defined when every sample is
// fitted with certainty.
torch::Tensor fit_logistic(const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& s) {
  const int64_t f = x.size(1);
  const auto xb = torch::cat({x, torch::ones({x.size(0), 1}, x.options())}, 1);
  auto penalty = torch::ones({f + 1}, x.options());
  penalty[f] = 0.0;  // the bias is not penalised
  auto theta = torch::zeros({f + 1}, x.options());
  double objective = logistic_objective(xb, y, s, theta, penalty);
  constexpr int kMaxIterations = 100;
  for (int it = 0; it < kMaxIterations; ++it) {
    const auto sigma = torch::sigmoid(xb.mv(theta));
    const auto grad = penalty * theta + xb.t().mv(s * (sigma - y));
    if (grad.abs().max().item<double>() < 1e-10) break;
    const auto curvature = s * sigma * (1 - sigma);
    const auto hessian = torch::diag(penalty + 1e-10) + xb.t().mm(xb * curvature.unsqueeze(1));
    const auto step = at::linalg_solve(hessian, grad.unsqueeze(1)).squeeze(1);
    const double decrease = grad.dot(step).item<double>();
    double t = 1.0;
    torch::Tensor next;
    double next_objective = objective;
    for (; t > 1e-12; t *= 0.5) {
      next = theta - t * step;
      next_objective = logistic_objective(xb, y, s, next, penalty);
      if (next_objective <= objective - 1e-4 * t * decrease) break;
    }
    if (t <= 1e-12) break;  // no further progress in double precision
    theta = next;
    const bool converged = objective - next_objective <= 1e-14 * (1.0 + std::abs(objective));
    objective = next_objective;
    if (converged) break;
  }
  return theta;
}

}  // namespace

double mia_entropy(const torch::Tensor& retain_features, const torch::Tensor& test_features,
                   const torch::Tensor& forget_features, const MiaOptions& options) {
  auto sets = attack_sets(retain_features, test_features, forget_features, options, kMiaEntropy);
  if (sets.forget.size(0) == 0) return std::numeric_limits<double>::quiet_NaN();
  const int64_t n1 = sets.retain.size(0);
  const int64_t n0 = sets.test.size(0);
  const auto n = static_cast<double>(n1 + n0);
  const auto opts = torch::TensorOptions().dtype(torch::kDouble);
  const auto x = torch::cat({sets.retain, sets.test}, 0);
  const auto y = torch::cat({torch::ones({n1}, opts), torch::zeros({n0}, opts)});
  // Balanced class weights: n / (2 n_class), so each class weighs n / 2 in total.
  const auto s = torch::cat({torch::full({n1}, n / (2.0 * static_cast<double>(n1)), opts),
                             torch::full({n0}, n / (2.0 * static_cast<double>(n0)), opts)});
  const auto theta = fit_logistic(x, y, s);
  const int64_t f = x.size(1);
  const auto z = sets.forget.mv(theta.slice(0, 0, f)) + theta[f];
  const int64_t members = z.gt(0).sum().item<int64_t>();
  return 100.0 * static_cast<double>(members) / static_cast<double>(sets.forget.size(0));
}

}  // namespace unlearn
