#include "unlearn/metrics/mia.h"

#include <ATen/CPUGeneratorImpl.h>
#include <svm.h>
#include <torch/torch.h>

#include <algorithm>
#include <climits>
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

// Validates one feature argument and returns it as a contiguous CPU float64 N×F matrix.
torch::Tensor feature_matrix(const torch::Tensor& t, const char* name) {
  UNLEARN_CHECK(t.defined(), kMia, ": ", name, " is undefined");
  UNLEARN_CHECK(t.scalar_type() == torch::kFloat || t.scalar_type() == torch::kDouble, kMia, ": ",
                name, ": expected float32 or float64 features, got ", t.scalar_type());
  UNLEARN_CHECK(t.dim() == 1 || (t.dim() == 2 && t.size(1) >= 1), kMia, ": ", name,
                ": expected shape N or N×F with F >= 1, got ", t.sizes());
  auto m = (t.dim() == 1 ? t.unsqueeze(1) : t).to(torch::kCPU, torch::kDouble).contiguous();
  UNLEARN_CHECK(m.numel() == 0 || torch::isfinite(m).all().item<bool>(), kMia, ": ", name,
                ": features must be finite (found NaN or Inf)");
  return m;
}

// The first n rows of a seeded random permutation of x's rows.
torch::Tensor random_rows(const torch::Tensor& x, int64_t n, at::Generator& gen) {
  const auto perm = torch::randperm(x.size(0), gen, torch::kLong);
  return x.index_select(0, perm.slice(0, 0, n));
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
  UNLEARN_CHECK(options.gamma() >= 0, kMia, ": gamma: expected >= 0 (0 = 1/n_features), got ",
                options.gamma());
  UNLEARN_CHECK(options.max_samples() >= 0, kMia, ": max_samples: expected >= 0 (0 = no cap), got ",
                options.max_samples());
  auto retain = feature_matrix(retain_features, "retain_features");
  auto test = feature_matrix(test_features, "test_features");
  const auto forget = feature_matrix(forget_features, "forget_features");
  const int64_t f = retain.size(1);
  UNLEARN_CHECK(test.size(1) == f, kMia, ": test_features: ", test.size(1),
                " features per row but retain_features has ", f);
  UNLEARN_CHECK(forget.size(1) == f, kMia, ": forget_features: ", forget.size(1),
                " features per row but retain_features has ", f);
  UNLEARN_CHECK(retain.size(0) > 0, kMia,
                ": retain_features: no samples (the attack needs members)");
  UNLEARN_CHECK(test.size(0) > 0, kMia,
                ": test_features: no samples (the attack needs non-members)");
  if (forget.size(0) == 0) return std::numeric_limits<double>::quiet_NaN();

  // Balanced classes: as many members as non-members, the larger side drawn at random.
  int64_t n = std::min(retain.size(0), test.size(0));
  if (options.max_samples() > 0) n = std::min(n, options.max_samples());
  UNLEARN_CHECK(2 * n <= INT_MAX, kMia, ": ", 2 * n, " training samples exceed libsvm's limit");
  auto gen = at::detail::createCPUGenerator(options.seed());
  if (retain.size(0) > n) retain = random_rows(retain, n, gen);
  if (test.size(0) > n) test = random_rows(test, n, gen);

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
  param.cache_size = 200;  // MB
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

  svm_set_print_string_function(&discard_svm_output);
  const SvmModelPtr model(svm_train(&problem, &param));
  UNLEARN_CHECK_AS(Error, model != nullptr, kMia, ": libsvm training failed");

  SvmRows forget_rows(forget);
  int64_t non_members = 0;
  for (int64_t i = 0; i < forget.size(0); ++i) {
    if (svm_predict(model.get(), forget_rows.row(i)) < 0.5) ++non_members;
  }
  return 100.0 * static_cast<double>(non_members) / static_cast<double>(forget.size(0));
}

}  // namespace unlearn
