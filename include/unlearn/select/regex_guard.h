#pragma once
// What a `~` pattern may ask of the regular-expression library (docs/formats.md, "Limits").
// libstdc++ expands a repetition count into that many copies of its operand, overflows on huge
// counts and back-reference numbers, and recurses once per alternative while compiling; its
// matcher's cost grows with the expanded size. Patterns past these limits are refused before
// they are compiled.

#include <cstdint>
#include <string>

namespace unlearn::select_detail {

/// The number of matcher states `pattern` expands to, roughly: one per atom, quantifier and `|`,
/// and an operand's states once more per extra copy its repetition count asks for (a{3} is 4,
/// (ab){1,10} is 31). Saturates far above any limit instead of overflowing.
int64_t expanded_regex_size(const std::string& pattern);

/// Why `pattern` is refused (longer than limits::kMaxRegexLength, a back-reference, a count above
/// 9999, an expanded size above limits::kMaxRegexStates), or "" when it may be compiled.
std::string regex_refusal(const std::string& pattern);

}  // namespace unlearn::select_detail
