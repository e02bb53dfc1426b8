#pragma once
// The selection expression language (DESIGN.md): parsed once, evaluated on any Dataset.
//
//   expr    := or
//   or      := and ("or" and)*
//   and     := not ("and" not)*
//   not     := "not" not | primary
//   primary := "(" expr ")" | comparison | call
//   comparison := field op value | field "in" "[" value ("," value)* "]" | field "in" "@" path
//   op      := == != < <= > >= ~          (~ is a regular-expression search)
//   field   := class | id | index | <metadata column>
//   call    := random(p, seed) | outliers(p) | outliers(p, by=features|loss)
//
// `class` compares by number or by class name ("class == 'T-shirt/top'").
// outliers(p) selects the round(p·n_c) most atypical samples of each class c: farthest from the
// class centroid in the reference model's penultimate features, or with the highest loss.
// On the `patient` column (hashed IDs), values read from `in @file` are clear IDs and are hashed
// with the site's salt; written in the expression they must already be hashes, so that a clear
// ID never reaches a result file.

#include <torch/arg.h>
#include <torch/types.h>

#include <memory>
#include <string>

#include "unlearn/data/dataset.h"

namespace unlearn {

namespace select_detail {
struct Node;
}

/// The reference model's view of a data set, which outliers() ranks samples by. The jobs make
/// one from the original model (jobs/reference_scorer.h).
class OutlierScorer {
 public:
  virtual ~OutlierScorer() = default;
  /// Penultimate features, N×D, of every row of `data`.
  virtual torch::Tensor features(const Dataset& data) const = 0;
  /// Cross-entropy loss, N, of every row of `data` against its label.
  virtual torch::Tensor losses(const Dataset& data) const = 0;
};

class Selection {
 public:
  /// Parses `text`. Throws InvalidArgument "selection: <what> at column <c>: <text>\n<caret>"
  /// where c is 1-based.
  static Selection parse(const std::string& text);

  /// Boolean mask (kBool, N) of the rows of `data` the expression selects. Unknown columns throw
  /// InvalidArgument naming the column, its column in the text, and the known columns.
  /// outliers() needs `scorer`; without one it throws InvalidArgument.
  torch::Tensor mask(const Dataset& data, const OutlierScorer* scorer = nullptr) const;

  /// True when the expression calls outliers(), i.e. needs a reference model.
  bool uses_outliers() const;

  /// True when the expression means something on a test set: false when it uses random(),
  /// `id` or `index`, which identify training samples only.
  bool applies_to_test() const;

  /// Names of the metadata columns the expression reads (for per-group reporting).
  std::vector<std::string> columns() const;

  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::shared_ptr<const select_detail::Node> root_;
};

/// Sorted int64 index sets of one Dataset.
struct IndexSplit {
  torch::Tensor forget;  // int64
  torch::Tensor retain;  // int64
};

/// A selection applied to train and test.
struct Split {
  std::string expression;
  IndexSplit train;
  IndexSplit test;
  /// False when the selection does not apply to test data (random(), id, index): then
  /// test.forget is empty, test.retain is every test sample, and FTA/RTA are not reported.
  bool has_test_part = true;
};

/// Options for `make_split`.  Example: make_split(sel, bundle, SplitOptions().allow_empty(true))
struct SplitOptions {
  /// Accept a selection that matches no training sample, or every one.
  TORCH_ARG(bool, allow_empty) = false;
  /// The reference model for outliers(); may be null when the expression does not use it.
  using ScorerPtr = const OutlierScorer*;  // TORCH_ARG cannot take a `const T*` spelled out
  TORCH_ARG(ScorerPtr, scorer) = nullptr;
};

/// Applies `selection` to bundle.train and bundle.test. Throws InvalidArgument when the training
/// forget set is empty or is the whole training set, unless allow_empty.
Split make_split(const Selection& selection, const DataBundle& bundle,
                 const SplitOptions& options = {});

/// A seeded random share of `rows` (int64 indices), at least one row when `rows` is not empty,
/// returned in ascending order. share >= 1 returns `rows` unchanged.
torch::Tensor subsample_rows(const torch::Tensor& rows, double share, uint64_t seed);

}  // namespace unlearn
