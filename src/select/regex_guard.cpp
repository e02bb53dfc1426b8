#include "unlearn/select/regex_guard.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "unlearn/core/error.h"
#include "unlearn/core/limits.h"

namespace unlearn::select_detail {
namespace {

constexpr int64_t kSaturated = int64_t{1} << 40;

int64_t saturating_add(int64_t a, int64_t b) { return std::min(a + b, kSaturated); }
int64_t saturating_mul(int64_t a, int64_t b) {
  return a != 0 && b > kSaturated / a ? kSaturated : std::min(a * b, kSaturated);
}

/// The states of one group (or the whole pattern) so far, and of its last atom, which a
/// quantifier that follows repeats.
struct Sequence {
  int64_t total = 0;
  int64_t last = 0;
  void atom(int64_t size) {
    total = saturating_add(total, size);
    last = size;
  }
};

/// At `pos` (just past '{'), a count `m}`, `m,}` or `m,n}`: the copies it asks for, with `end`
/// at the '}'; -1 when it is not a count (libstdc++ then reports its own error).
int64_t repetition_copies(const std::string& p, size_t pos, size_t& end) {
  int64_t numbers[2] = {-1, -1};
  int which = 0;
  for (size_t i = pos; i < p.size(); ++i) {
    const char c = p[i];
    if (std::isdigit(static_cast<unsigned char>(c)) != 0) {
      numbers[which] =
          saturating_add(saturating_mul(std::max<int64_t>(numbers[which], 0), 10), c - '0');
    } else if (c == ',' && which == 0 && numbers[0] >= 0) {
      which = 1;
    } else if (c == '}' && numbers[0] >= 0) {
      end = i;
      if (which == 0) return numbers[0];
      return numbers[1] >= 0 ? std::max(numbers[0], numbers[1]) : numbers[0] + 1;
    } else {
      return -1;
    }
  }
  return -1;
}

/// Index of the ']' closing the class that opens at `pos`, or the pattern's end. In
/// ECMAScript the first ']' always closes, so "[]" and "[^]" are whole classes (reading a
/// leading ']' as a member, as POSIX does, once hid a 9999-fold count behind "[^]").
size_t class_end(const std::string& p, size_t pos) {
  size_t i = pos + 1;
  for (; i < p.size() && p[i] != ']'; ++i) {
    if (p[i] == '\\') ++i;
  }
  return std::min(i, p.size());
}

}  // namespace

int64_t expanded_regex_size(const std::string& p) {
  std::vector<Sequence> groups(1);
  for (size_t i = 0; i < p.size(); ++i) {
    Sequence& here = groups.back();
    const char c = p[i];
    if (c == '\\') {
      ++i;
      here.atom(1);
    } else if (c == '[') {
      i = class_end(p, i);
      here.atom(1);
    } else if (c == '(') {
      groups.emplace_back();
    } else if (c == ')' && groups.size() > 1) {
      const int64_t size = saturating_add(groups.back().total, 1);
      groups.pop_back();
      groups.back().atom(size);
    } else if (c == '*' || c == '+' || c == '?' || c == '|') {
      here.total = saturating_add(here.total, 1);
    } else if (c == '{') {
      size_t end = 0;
      const int64_t copies = repetition_copies(p, i + 1, end);
      if (copies < 0) {
        here.atom(1);
        continue;
      }
      // The operand is already counted once; the count adds the other copies.
      here.total = saturating_add(here.total,
                                  saturating_mul(here.last, std::max<int64_t>(copies - 1, 0)) + 1);
      i = end;
    } else {
      here.atom(1);
    }
  }
  int64_t total = 0;
  for (const Sequence& s : groups) total = saturating_add(total, s.total);
  return total;
}

std::string regex_refusal(const std::string& p) {
  if (p.size() > limits::kMaxRegexLength) {
    return detail::concat("regular expression longer than ", limits::kMaxRegexLength,
                          " characters");
  }
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\' && i + 1 < p.size()) {
      if (p[i + 1] >= '1' && p[i + 1] <= '9') {
        return "back-references (\\1, \\2, ...) are not supported in '~' patterns";
      }
      ++i;
    } else if (p[i] == '{') {
      size_t digits = 0;
      for (size_t j = i + 1; j < p.size() && p[j] != '}'; ++j) {
        digits = std::isdigit(static_cast<unsigned char>(p[j])) ? digits + 1 : 0;
        if (digits > 4) return "repetition counts above 9999 are not supported";
      }
    }
  }
  const int64_t size = expanded_regex_size(p);
  if (size > limits::kMaxRegexStates) {
    return detail::concat("regular expression too complex: about ", size,
                          " matcher states once its repetition counts are expanded, more than "
                          "the limit of ",
                          limits::kMaxRegexStates);
  }
  return "";
}

}  // namespace unlearn::select_detail
