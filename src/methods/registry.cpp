#include "unlearn/methods/registry.h"

#include "unlearn/core/error.h"
#include "unlearn/methods/bad_teacher.h"
#include "unlearn/methods/boundary_expanding.h"
#include "unlearn/methods/cf_k.h"
#include "unlearn/methods/delete.h"
#include "unlearn/methods/eu_k.h"
#include "unlearn/methods/finetune.h"
#include "unlearn/methods/gradient_ascent.h"
#include "unlearn/methods/l1_sparse.h"
#include "unlearn/methods/neggrad_plus.h"
#include "unlearn/methods/psg.h"
#include "unlearn/methods/random_label.h"
#include "unlearn/methods/retrain.h"
#include "unlearn/methods/salun.h"
#include "unlearn/methods/scar.h"
#include "unlearn/methods/scrub.h"
#include "unlearn/methods/ssd.h"

namespace unlearn {

namespace {

/// The entry of a method class M that has `M::Options`, a static
/// `OptionTable M::option_table(M::Options&)` and a constructor from its Options.
template <class M>
MethodEntry entry(const std::string& name, const std::string& summary) {
  return {name,
          summary,
          [] {
            typename M::Options o;
            return M::option_table(o).docs();
          },
          {},
          [name](const OptionValues& values) -> std::unique_ptr<Method> {
            typename M::Options o;
            M::option_table(o).apply(values, name);
            return std::make_unique<M>(o);
          }};
}

std::unique_ptr<Method> make_psg(const OptionValues& values) {
  OptionValues rest = values;
  PsgOptions o;
  if (auto it = rest.find("preset"); it != rest.end()) {
    o = psg_preset(it->second);
    rest.erase(it);
  }
  psg_option_table(o).apply(rest, "psg");
  return std::make_unique<Psg>(o, "psg");
}

// These five values are what makes PSG Boundary Shrink.
constexpr const char* kBoundaryShrinkFixed[] = {"inner-steps", "step-size", "gamma", "lambda",
                                                "retain-weight"};

bool fixed_by_boundary_shrink(const std::string& flag) {
  for (const char* fixed : kBoundaryShrinkFixed) {
    if (flag == fixed) return true;
  }
  return false;
}

/// PSG's options less the five Boundary Shrink fixes, with Boundary Shrink's defaults.
std::vector<OptionDoc> boundary_shrink_docs() {
  PsgOptions o = boundary_shrink_options();
  std::vector<OptionDoc> out;
  for (auto& doc : psg_option_table(o).docs()) {
    if (!fixed_by_boundary_shrink(doc.flag)) out.push_back(doc);
  }
  return out;
}

std::unique_ptr<Method> make_boundary_shrink(const OptionValues& values) {
  for (const char* fixed : kBoundaryShrinkFixed) {
    if (values.count(fixed)) {
      throw UsageError(detail::concat("boundary-shrink fixes --", fixed,
                                      " (K = 1, alpha = epsilon, gamma = lambda = phi = 0); use "
                                      "--method psg to change it"));
    }
  }
  OptionValues rest = values;
  PsgOptions o = boundary_shrink_options();
  if (auto it = rest.find("preset"); it != rest.end()) {
    o = psg_preset(it->second).inner_steps(1).step_size(0).gamma(0).lambda(0).retain_weight(0);
    rest.erase(it);
  }
  psg_option_table(o).apply(rest, "boundary-shrink");
  return std::make_unique<Psg>(o, "boundary-shrink");
}

}  // namespace

const std::vector<MethodEntry>& method_registry() {
  static const std::vector<MethodEntry> entries{
      {"psg", "boundary-based bilevel unlearning with perturbed sign gradients (Nahass et al.)",
       [] {
         PsgOptions o;
         return psg_option_table(o).docs();
       },
       choice_names<PsgPreset>(), make_psg},
      {"boundary-shrink", "Boundary Shrink (Chen et al. 2023): PSG with K=1, gamma=lambda=phi=0",
       boundary_shrink_docs, choice_names<PsgPreset>(), make_boundary_shrink},
      // Baselines (issue 3): one line each, entry<Class>("name", "summary").
      entry<BoundaryExpanding>(
          "boundary-expanding",
          "teach D_f to an extra shadow class, then prune it (Chen et al. 2023)"),
      entry<Scrub>("scrub",
                   "teacher-student max steps on D_f, min steps on D_r (Kurmanji et al. 2023)"),
      entry<Ssd>("ssd", "dampen weights far more important to D_f than to D (Foster et al. 2024)"),
      entry<EuK>("eu-k", "reinitialise the last k layers and train them on D_r (Goel et al. 2022)"),
      entry<CfK>("cf-k", "fine-tune only the last k layers on D_r (Goel et al. 2022)"),
      entry<BadTeacher>(
          "bad-teacher",
          "distil a random teacher on D_f, the original on D_r (Chundawat et al. 2023)"),
      entry<Retrain>("retrain",
                     "the gold standard: train afresh on D_r with the original's recipe (cached)"),
      entry<Finetune>("finetune", "fine-tune on the retain set only (Golatkar et al. 2020)"),
      entry<GradientAscent>(
          "gradient-ascent",
          "NegGrad: ascend the forget loss (Golatkar et al. 2020, Thudi et al. 2022)"),
      entry<NegGradPlus>("neggrad-plus",
                         "retain descent plus weighted forget ascent (Kurmanji et al. 2023)"),
      entry<RandomLabel>(
          "random-label",
          "fine-tune on D_f with random wrong labels beside D_r (Golatkar et al. 2020)"),
      entry<L1Sparse>("l1-sparse", "fine-tune on D_r with a decaying l1 penalty (Jia et al. 2023)"),
      entry<Delete>("delete",
                    "distil the original on D_f with the true class masked out; no retain set "
                    "(Zhou et al. 2025)"),
      entry<Salun>("salun",
                   "random labels on the most forget-salient weights only (Fan et al. 2024)"),
      entry<Scar>("scar",
                  "pull D_f's features to the nearest other class (Mahalanobis) while distilling "
                  "the original on D_r (Bonato et al. 2024)"),
  };
  return entries;
}

const MethodEntry& find_method(const std::string& name) {
  std::string known;
  for (const auto& e : method_registry()) {
    if (e.name == name) return e;
    known += (known.empty() ? "" : ", ") + e.name;
  }
  throw UsageError(
      detail::concat("--method: unknown method '", name, "' (available: ", known, ")"));
}

std::unique_ptr<Method> make_method(const std::string& name, const OptionValues& values) {
  return find_method(name).make(values);
}

}  // namespace unlearn
