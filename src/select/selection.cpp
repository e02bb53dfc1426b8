#include "unlearn/select/selection.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "unlearn/core/error.h"
#include "unlearn/core/limits.h"
#include "unlearn/data/patient_hash.h"
#include "unlearn/select/regex_guard.h"

namespace unlearn {

namespace select_detail {

/// A value written in the expression, or one line of an `in @file` list.
struct Literal {
  enum class Type { kNumber, kString, kUntyped };  // kUntyped: a file line, either kind
  Type type = Type::kNumber;
  std::string text;   // as written (strings without their quotes)
  double number = 0;  // valid when text parses as a number
  bool has_number = false;
  bool is_int = false;  // the number is an exact integer literal
  int64_t integer = 0;
  size_t pos = 0;      // byte offset in the expression (of the @path for file lines)
  std::string origin;  // "ids.txt line 3" for file lines, empty otherwise
};

enum class Op { kEq, kNe, kLt, kLe, kGt, kGe, kMatch, kIn };

struct Node {
  enum class Kind { kOr, kAnd, kNot, kCompare, kRandom, kOutliers };
  Kind kind = Kind::kCompare;
  size_t pos = 0;
  std::vector<std::shared_ptr<const Node>> children;  // kOr, kAnd, kNot
  // kCompare: `field op values[0]`, or `field in values` (negated for `not in`).
  std::string field;
  Op op = Op::kEq;
  size_t op_pos = 0;
  std::vector<Literal> values;
  std::shared_ptr<const std::regex> regex;
  // kRandom, kOutliers
  double p = 0;
  uint64_t seed = 0;
  bool by_loss = false;  // kOutliers: rank by loss instead of distance to the class centroid
};

}  // namespace select_detail

namespace {

/// ECMAScript, matched in polynomial time: libstdc++'s default matcher backtracks, and a pattern
/// such as (a*)*c takes 2^n steps on n characters that fail (40 never end). Its __polynomial
/// option picks its breadth-first matcher, which lacks only back-references, refused anyway.
#if defined(__GLIBCXX__)
constexpr auto kRegexSyntax = std::regex::ECMAScript | std::regex_constants::__polynomial;
#else
constexpr auto kRegexSyntax = std::regex::ECMAScript;
#endif
using limits::kMaxSelectionLength;
using limits::kMaxSelectionNesting;

using select_detail::Literal;
using select_detail::Node;
using select_detail::Op;
using select_detail::regex_refusal;
using NodePtr = std::shared_ptr<const Node>;

// ---------------------------------------------------------------------------------------------
// Error messages with a caret under the offending column.

/// Terminal columns taken by `s`: UTF-8 continuation bytes take none.
size_t display_width(const std::string& s, size_t bytes = std::string::npos) {
  const size_t end = std::min(bytes, s.size());
  size_t width = 0;
  for (size_t i = 0; i < end; ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++width;
  }
  return width;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

/// "selection: <what> at column <c>\n  <text>\n  <caret>[\n<note>]". The expression sits on a
/// line of its own so the caret lines up whatever prefix the caller prints before the message.
/// A long expression is shown as the 40 bytes either side of the problem, cut at characters.
InvalidArgument error_at(const std::string& text, size_t pos, const std::string& what,
                         const std::string& note = "") {
  constexpr size_t kContext = 40;
  const size_t column = display_width(text, pos) + 1;
  std::string shown = text;
  size_t shown_pos = pos;
  if (text.size() > 3 * kContext) {
    const auto continuation = [&](size_t i) {
      return i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80;
    };
    size_t start = pos > kContext ? pos - kContext : 0;
    while (start > 0 && continuation(start)) --start;
    size_t end = std::min(text.size(), pos + kContext);
    while (continuation(end)) ++end;
    const std::string before = start > 0 ? "…" : "";
    shown = before + text.substr(start, end - start) + (end < text.size() ? "…" : "");
    shown_pos = before.size() + pos - start;
  }
  const size_t caret = display_width(shown, shown_pos);
  std::string msg = detail::concat("selection: ", what, " at column ", column, "\n  ", shown,
                                   "\n  ", std::string(caret, ' '), "^");
  if (!note.empty()) msg += "\n" + note;
  return InvalidArgument(msg);
}

// ---------------------------------------------------------------------------------------------
// Tokenizer.

enum class Tok {
  kIdent,
  kString,
  kNumber,
  kOp,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kComma,
  kAssign,  // '=', only for named arguments: outliers(0.02, by=loss)
  kPath,
  kEnd
};

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // identifier, string contents, number text, operator, or path
  size_t pos = 0;
};

std::string describe(const Token& t) {
  switch (t.kind) {
    case Tok::kEnd:
      return "end of expression";
    case Tok::kString:
      return "'" + t.text + "'";
    case Tok::kPath:
      return "'@" + t.text + "'";
    default:
      return "'" + t.text + "'";
  }
}

bool is_ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

bool starts_number(const std::string& text, size_t i) {
  const char c = text[i];
  const size_t n = text.size();
  return is_digit(c) || ((c == '-' || c == '+' || c == '.') && i + 1 < n &&
                         (is_digit(text[i + 1]) || (text[i + 1] == '.' && c != '.')));
}

/// The end of the number that starts at `start`: sign, digits, fraction, exponent.
size_t number_end(const std::string& text, size_t start) {
  const size_t n = text.size();
  size_t i = start;
  if (text[i] == '-' || text[i] == '+') ++i;
  while (i < n && is_digit(text[i])) ++i;
  if (i < n && text[i] == '.') {
    ++i;
    while (i < n && is_digit(text[i])) ++i;
  }
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    size_t j = i + 1;
    if (j < n && (text[j] == '+' || text[j] == '-')) ++j;
    if (j < n && is_digit(text[j])) {
      i = j;
      while (i < n && is_digit(text[i])) ++i;
    }
  }
  if (i < n && is_ident_char(text[i])) throw error_at(text, start, "malformed number");
  return i;
}

/// `@file` or `@"file name"` at `start`; returns the token and moves `i` past it.
Token path_token(const std::string& text, size_t start, size_t& i) {
  const size_t n = text.size();
  i = start + 1;
  if (i < n && (text[i] == '"' || text[i] == '\'')) {
    const size_t close = text.find(text[i], i + 1);
    if (close == std::string::npos) throw error_at(text, i, "unterminated string");
    Token t{Tok::kPath, text.substr(i + 1, close - i - 1), start};
    i = close + 1;
    return t;
  }
  while (i < n && !std::isspace(static_cast<unsigned char>(text[i])) && text[i] != ')' &&
         text[i] != '(') {
    ++i;
  }
  if (i == start + 1) throw error_at(text, start, "expected a file name after '@'");
  return {Tok::kPath, text.substr(start + 1, i - start - 1), start};
}

/// A comparison (= == != < <= > >=) or `~` at `start`; moves `i` past it.
Token operator_token(const std::string& text, size_t start, size_t& i) {
  const char c = text[start];
  if (c == '~') {
    i = start + 1;
    return {Tok::kOp, "~", start};
  }
  const bool two = start + 1 < text.size() && text[start + 1] == '=';
  if (!two && c == '=') {
    i = start + 1;
    return {Tok::kAssign, "=", start};
  }
  if (!two && c == '!') throw error_at(text, start, "expected '!='");
  i = start + (two ? 2 : 1);
  return {Tok::kOp, text.substr(start, i - start), start};
}

Tok punctuation(char c) {
  switch (c) {
    case '(':
      return Tok::kLParen;
    case ')':
      return Tok::kRParen;
    case '[':
      return Tok::kLBracket;
    case ']':
      return Tok::kRBracket;
    default:
      return Tok::kComma;
  }
}

[[noreturn]] void unexpected_character(const std::string& text, size_t start) {
  // Report the whole UTF-8 character, not its first byte.
  size_t len = 1;
  while (start + len < text.size() &&
         (static_cast<unsigned char>(text[start + len]) & 0xC0) == 0x80) {
    ++len;
  }
  throw error_at(text, start, "unexpected character '" + text.substr(start, len) + "'");
}

std::vector<Token> tokenize(const std::string& text) {
  std::vector<Token> tokens;
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const char c = text[i];
    const size_t start = i;
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (is_ident_start(c)) {
      while (i < n && is_ident_char(text[i])) ++i;
      tokens.push_back({Tok::kIdent, text.substr(start, i - start), start});
    } else if (c == '"' || c == '\'') {
      // No escapes: a string cannot hold its own quote, so use the other one. This keeps
      // regular expressions such as "\d+" readable.
      const size_t close = text.find(c, i + 1);
      if (close == std::string::npos) throw error_at(text, start, "unterminated string");
      tokens.push_back({Tok::kString, text.substr(i + 1, close - i - 1), start});
      i = close + 1;
    } else if (starts_number(text, i)) {
      i = number_end(text, start);
      tokens.push_back({Tok::kNumber, text.substr(start, i - start), start});
    } else if (c == '@') {
      tokens.push_back(path_token(text, start, i));
    } else if (c == '=' || c == '!' || c == '<' || c == '>' || c == '~') {
      tokens.push_back(operator_token(text, start, i));
    } else if (c == '(' || c == ')' || c == '[' || c == ']' || c == ',') {
      ++i;
      tokens.push_back({punctuation(c), std::string(1, c), start});
    } else {
      unexpected_character(text, start);
    }
  }
  tokens.push_back({Tok::kEnd, "", n});
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// Literals.

/// Parses `s` entirely as a number; false if it is not one.
bool parse_number(const std::string& s, Literal& lit) {
  if (s.empty()) return false;
  const char* begin = s.c_str();
  char* end = nullptr;
  errno = 0;
  const long long as_int = std::strtoll(begin, &end, 10);
  if (errno == 0 && end == begin + s.size()) {
    lit.has_number = true;
    lit.is_int = true;
    lit.integer = as_int;
    lit.number = static_cast<double>(as_int);
    return true;
  }
  errno = 0;
  const double as_real = std::strtod(begin, &end);
  if (end != begin + s.size() || errno == ERANGE || std::isnan(as_real)) return false;
  lit.has_number = true;
  lit.is_int = false;
  lit.number = as_real;
  return true;
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

/// One value per line; blank lines and lines starting with '#' are skipped.
std::vector<Literal> read_value_file(const std::string& text, const Token& path_token) {
  const std::string& path = path_token.text;
  std::ifstream in(path);
  if (!in) {
    throw IoError(detail::concat("selection: cannot open the value list '", path, "' (at column ",
                                 display_width(text, path_token.pos) + 1,
                                 "): ", std::strerror(errno)));
  }
  std::vector<Literal> values;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    Literal lit;
    lit.type = Literal::Type::kUntyped;
    lit.text = line;
    lit.pos = path_token.pos;
    lit.origin = detail::concat(path, " line ", line_no);
    parse_number(line, lit);
    values.push_back(std::move(lit));
  }
  UNLEARN_CHECK_AS(IoError, !in.bad(), "selection: error reading the value list '", path, "'");
  return values;
}

// ---------------------------------------------------------------------------------------------
// Parser: recursive descent over the grammar in selection.h.

class Parser {
 public:
  explicit Parser(const std::string& text) : text_(text), tokens_(tokenize(text)) {}

  NodePtr parse() {
    NodePtr root = parse_or();
    if (peek().kind != Tok::kEnd) {
      throw error_at(text_, peek().pos,
                     detail::concat("unexpected ", describe(peek()),
                                    " (expected 'and', 'or' or "
                                    "the end of the expression)"));
    }
    return root;
  }

 private:
  const Token& peek() const { return tokens_[next_]; }
  const Token& take() { return tokens_[next_ < tokens_.size() - 1 ? next_++ : next_]; }
  bool at_keyword(const char* word) const {
    return peek().kind == Tok::kIdent && peek().text == word;
  }

  [[noreturn]] void fail_expected(const std::string& what) const {
    throw error_at(text_, peek().pos,
                   detail::concat("expected ", what, ", found ", describe(peek())));
  }

  NodePtr combine(Node::Kind kind, size_t pos, std::vector<NodePtr> children) {
    if (children.size() == 1) return children.front();
    auto node = std::make_shared<Node>();
    node->kind = kind;
    node->pos = pos;
    node->children = std::move(children);
    return node;
  }

  NodePtr parse_or() {
    const size_t pos = peek().pos;
    std::vector<NodePtr> parts{parse_and()};
    while (at_keyword("or")) {
      take();
      parts.push_back(parse_and());
    }
    return combine(Node::Kind::kOr, pos, std::move(parts));
  }

  NodePtr parse_and() {
    const size_t pos = peek().pos;
    std::vector<NodePtr> parts{parse_not()};
    while (at_keyword("and")) {
      take();
      parts.push_back(parse_not());
    }
    return combine(Node::Kind::kAnd, pos, std::move(parts));
  }

  /// One level deeper (a parenthesis or a `not` at `pos`); refuses more than kMaxSelectionNesting.
  void enter(size_t pos) {
    if (++depth_ > kMaxSelectionNesting) {
      throw error_at(text_, pos,
                     detail::concat("nested more than ", kMaxSelectionNesting,
                                    " levels deep (parentheses and 'not'; the limit is ",
                                    kMaxSelectionNesting, ")"));
    }
  }

  NodePtr parse_not() {
    if (at_keyword("not")) {
      const size_t pos = take().pos;
      enter(pos);
      auto node = std::make_shared<Node>();
      node->kind = Node::Kind::kNot;
      node->pos = pos;
      node->children.push_back(parse_not());
      --depth_;
      return node;
    }
    return parse_primary();
  }

  NodePtr parse_primary() {
    if (peek().kind == Tok::kLParen) {
      enter(take().pos);
      NodePtr inner = parse_or();
      if (peek().kind != Tok::kRParen) fail_expected("')'");
      take();
      --depth_;
      return inner;
    }
    if (peek().kind != Tok::kIdent || is_keyword(peek().text)) {
      fail_expected(
          "a field (class, id, index or a metadata column), 'not', '(', random(...) or "
          "outliers(...)");
    }
    const Token name = take();
    if (peek().kind == Tok::kLParen) return parse_call(name);
    return parse_comparison(name);
  }

  static bool is_keyword(const std::string& word) {
    return word == "and" || word == "or" || word == "not" || word == "in";
  }

  NodePtr parse_call(const Token& name) {
    take();  // '('
    if (name.text != "random" && name.text != "outliers") {
      throw error_at(text_, name.pos, "unknown function '" + name.text + "'",
                     "available functions: random(p, seed), outliers(p), outliers(p, by=loss)");
    }
    auto node = std::make_shared<Node>();
    node->pos = name.pos;
    node->kind = name.text == "random" ? Node::Kind::kRandom : Node::Kind::kOutliers;
    node->p = parse_share(name.text);
    if (node->kind == Node::Kind::kRandom) {
      if (peek().kind != Tok::kComma) fail_expected("',' and a seed, as in random(0.1, 42)");
      take();
      if (peek().kind != Tok::kNumber) fail_expected("an integer seed");
      const Token seed_token = take();
      Literal seed;
      if (!parse_number(seed_token.text, seed) || !seed.is_int || seed.integer < 0) {
        throw error_at(text_, seed_token.pos,
                       "random(): seed " + seed_token.text + " is not an integer >= 0");
      }
      node->seed = static_cast<uint64_t>(seed.integer);
    } else if (peek().kind == Tok::kComma) {
      take();
      const Token key = peek();
      if (key.kind != Tok::kIdent || key.text != "by") fail_expected("by=features or by=loss");
      take();
      if (peek().kind != Tok::kAssign) fail_expected("'=' after 'by'");
      take();
      const Token value = peek();
      if (value.kind != Tok::kIdent || (value.text != "features" && value.text != "loss")) {
        fail_expected("'features' or 'loss' after 'by='");
      }
      take();
      node->by_loss = value.text == "loss";
    }
    if (peek().kind != Tok::kRParen) fail_expected("')'");
    take();
    return node;
  }

  /// The share argument of random() and outliers(): a number in [0, 1].
  double parse_share(const std::string& function) {
    if (peek().kind != Tok::kNumber) fail_expected("a share p in [0, 1]");
    const Token p_token = take();
    Literal p;
    if (!parse_number(p_token.text, p) || !(p.number >= 0 && p.number <= 1)) {
      throw error_at(text_, p_token.pos,
                     function + "(): share " + p_token.text + " is outside [0, 1]");
    }
    return p.number;
  }

  NodePtr parse_comparison(const Token& field) {
    auto node = std::make_shared<Node>();
    node->kind = Node::Kind::kCompare;
    node->pos = field.pos;
    node->field = field.text;
    node->op_pos = peek().pos;

    bool negated = false;
    if (at_keyword("not")) {  // `field not in [...]`, as in SQL and Python
      take();
      negated = true;
      if (!at_keyword("in")) fail_expected("'in' after 'not'");
    }
    if (at_keyword("in")) {
      take();
      node->op = Op::kIn;
      if (peek().kind == Tok::kPath) {
        node->values = read_value_file(text_, take());
      } else {
        if (peek().kind != Tok::kLBracket) fail_expected("'[' or '@file' after 'in'");
        take();
        node->values.push_back(parse_value());
        while (peek().kind == Tok::kComma) {
          take();
          node->values.push_back(parse_value());
        }
        if (peek().kind != Tok::kRBracket) fail_expected("',' or ']'");
        take();
      }
    } else {
      if (peek().kind == Tok::kAssign) {
        throw error_at(text_, peek().pos, "'=' is not an operator (use '==')");
      }
      if (peek().kind != Tok::kOp) {
        fail_expected(
            detail::concat("an operator (==, !=, <, <=, >, >=, ~ or in) after '", field.text, "'"));
      }
      const std::string op = take().text;
      node->op = op == "=="   ? Op::kEq
                 : op == "!=" ? Op::kNe
                 : op == "<"  ? Op::kLt
                 : op == "<=" ? Op::kLe
                 : op == ">"  ? Op::kGt
                 : op == ">=" ? Op::kGe
                              : Op::kMatch;
      node->values.push_back(parse_value());
      if (node->op == Op::kMatch) compile_regex(*node);
    }
    if (!negated) return node;
    auto not_node = std::make_shared<Node>();
    not_node->kind = Node::Kind::kNot;
    not_node->pos = field.pos;
    not_node->children.push_back(node);
    return not_node;
  }

  void compile_regex(Node& node) {
    const Literal& pattern = node.values.front();
    if (pattern.type != Literal::Type::kString) {
      throw error_at(text_, pattern.pos,
                     "'~' needs a quoted regular expression, as in "
                     "source ~ 'scanner-[0-9]+'");
    }
    // Refused before compiling: libstdc++ overflows, recurses or takes very long on such
    // patterns (fuzzing found each).
    const std::string refusal = regex_refusal(pattern.text);
    if (!refusal.empty()) throw error_at(text_, pattern.pos, refusal);
    try {
      node.regex = std::make_shared<const std::regex>(pattern.text, kRegexSyntax);
    } catch (const std::regex_error& e) {  // the regex library's error, at the expression's column
      throw error_at(
          text_, pattern.pos,
          detail::concat("bad regular expression '", pattern.text, "' (", e.what(), ")"));
    }
  }

  Literal parse_value() {
    const Token& t = peek();
    Literal lit;
    lit.pos = t.pos;
    lit.text = t.text;
    if (t.kind == Tok::kString) {
      lit.type = Literal::Type::kString;
    } else if (t.kind == Tok::kNumber) {
      lit.type = Literal::Type::kNumber;
      if (!parse_number(t.text, lit)) throw error_at(text_, t.pos, "malformed number");
    } else if (t.kind == Tok::kIdent) {
      throw error_at(text_, t.pos,
                     detail::concat("expected a value, found the bare word '", t.text,
                                    "' (quote text: '", t.text, "')"));
    } else {
      fail_expected("a value (a number or a quoted string)");
    }
    take();
    return lit;
  }

  const std::string& text_;
  std::vector<Token> tokens_;
  size_t next_ = 0;
  int depth_ = 0;  // parentheses and `not` open at the current token
};

// ---------------------------------------------------------------------------------------------
// Evaluator.

template <typename F>
void visit_nodes(const Node& node, F&& f) {
  f(node);
  for (const auto& child : node.children) visit_nodes(*child, f);
}

bool is_builtin_field(const std::string& name) {
  return name == "class" || name == "id" || name == "index";
}

/// The values of one field over every row, in whichever form suits it.
struct FieldView {
  bool is_string = false;
  torch::Tensor numbers;                                  // int64 or double, N (numeric fields)
  const std::vector<std::string>* texts = nullptr;        // string fields
  const std::vector<std::string>* class_names = nullptr;  // `class` only
};

torch::Tensor bool_tensor(const std::vector<uint8_t>& flags) {
  torch::Tensor out = torch::empty({static_cast<int64_t>(flags.size())}, torch::kBool);
  std::memcpy(out.data_ptr<bool>(), flags.data(), flags.size());  // flags hold only 0 and 1
  return out;
}

class Evaluator {
 public:
  Evaluator(const std::string& text, const Dataset& data, const OutlierScorer* scorer)
      : text_(text), data_(data), scorer_(scorer) {}

  torch::Tensor eval(const Node& node) {
    switch (node.kind) {
      case Node::Kind::kOr: {
        torch::Tensor m = eval(*node.children.front());
        for (size_t i = 1; i < node.children.size(); ++i) m = m.logical_or(eval(*node.children[i]));
        return m;
      }
      case Node::Kind::kAnd: {
        torch::Tensor m = eval(*node.children.front());
        for (size_t i = 1; i < node.children.size(); ++i) {
          m = m.logical_and(eval(*node.children[i]));
        }
        return m;
      }
      case Node::Kind::kNot:
        return eval(*node.children.front()).logical_not();
      case Node::Kind::kRandom:
        return eval_random(node);
      case Node::Kind::kOutliers:
        return eval_outliers(node);
      case Node::Kind::kCompare:
        return eval_compare(node);
    }
    throw Error("selection: internal error: unknown node kind");
  }

 private:
  int64_t rows() const { return data_.size(); }

  torch::Tensor eval_random(const Node& node) const {
    const int64_t n = rows();
    const auto count = static_cast<int64_t>(std::llround(node.p * static_cast<double>(n)));
    auto gen = at::detail::createCPUGenerator(node.seed);
    const torch::Tensor perm = torch::randperm(n, gen, torch::kLong);
    torch::Tensor mask = torch::zeros({n}, torch::kBool);
    mask.index_fill_(0, perm.slice(0, 0, count), true);
    return mask;
  }

  /// The round(p·n_c) highest-scoring rows of each class c; ties go to the lower index.
  torch::Tensor eval_outliers(const Node& node) const {
    if (scorer_ == nullptr) {
      throw error_at(text_, node.pos,
                     "outliers() ranks samples with the original model, and none is given here",
                     "forget and eval use --model; train needs --reference MODEL");
    }
    const int64_t n = rows();
    std::vector<torch::Tensor> class_rows;
    for (int64_t c = 0; c < data_.num_classes(); ++c) {
      class_rows.push_back(torch::nonzero(data_.labels.eq(c)).flatten());
    }
    torch::Tensor scores;
    if (node.by_loss) {
      scores = scorer_->losses(data_).to(torch::kCPU, torch::kDouble);
    } else {
      const torch::Tensor features = scorer_->features(data_).to(torch::kCPU, torch::kDouble);
      scores = torch::zeros({n}, torch::kDouble);
      for (const torch::Tensor& rows_c : class_rows) {
        if (rows_c.numel() == 0) continue;
        const torch::Tensor f = features.index_select(0, rows_c);
        scores.index_copy_(0, rows_c, (f - f.mean(0, true)).norm(2, 1));
      }
    }
    UNLEARN_CHECK(scores.dim() == 1 && scores.size(0) == n, "outliers(): the scorer returned ",
                  scores.sizes(), " scores for ", n, " rows");
    torch::Tensor mask = torch::zeros({n}, torch::kBool);
    for (const torch::Tensor& rows_c : class_rows) {
      const auto take =
          static_cast<int64_t>(std::llround(node.p * static_cast<double>(rows_c.numel())));
      if (take == 0) continue;
      // Stable descending sort, so equal scores pick the earlier sample every time.
      const torch::Tensor order =
          std::get<1>(scores.index_select(0, rows_c).sort(/*stable=*/true, 0, /*descending=*/true));
      mask.index_fill_(0, rows_c.index_select(0, order.slice(0, 0, take)), true);
    }
    return mask;
  }

  FieldView view(const Node& node) const {
    FieldView v;
    const std::string& name = node.field;
    if (name == "class") {
      v.numbers =
          data_.labels.defined() ? data_.labels.to(torch::kLong) : torch::empty({0}, torch::kLong);
      v.class_names = &data_.class_names;
      return v;
    }
    if (name == "index") {
      v.numbers = torch::arange(rows(), torch::kLong);
      return v;
    }
    if (!data_.metadata.has(name)) {
      std::vector<std::string> known{"class", "id", "index"};
      for (const auto& c : data_.metadata.column_names()) {
        if (!is_builtin_field(c)) known.push_back(c);
      }
      std::sort(known.begin(), known.end());
      throw error_at(text_, node.pos, "unknown field '" + name + "'",
                     "available fields: " + join(known));
    }
    const Column& column = data_.metadata.column(name);
    UNLEARN_CHECK(column.size() == rows(), "selection: metadata column '", name, "' has ",
                  column.size(), " rows but the data set has ", rows(), " samples");
    if (const auto* texts = std::get_if<std::vector<std::string>>(&column.values)) {
      v.is_string = true;
      v.texts = texts;
    } else if (const auto* ints = std::get_if<std::vector<int64_t>>(&column.values)) {
      v.numbers = torch::tensor(torch::ArrayRef<int64_t>(*ints), torch::kLong);
    } else {
      const auto& reals = std::get<std::vector<double>>(column.values);
      v.numbers = torch::tensor(torch::ArrayRef<double>(reals), torch::kDouble);
    }
    return v;
  }

  std::string where(const Literal& lit) const {
    return lit.origin.empty() ? "" : " (" + lit.origin + ")";
  }

  /// The numeric value `lit` stands for when compared with numeric field `field`.
  Literal as_number(const Node& node, const FieldView& field, const Literal& lit) const {
    if (lit.type != Literal::Type::kString && lit.has_number) return lit;
    if (field.class_names != nullptr) {
      // `class` accepts class names; they stand for their label.
      const auto& names = *field.class_names;
      const auto it = std::find(names.begin(), names.end(), lit.text);
      if (it == names.end()) {
        throw error_at(text_, lit.pos, "unknown class name '" + lit.text + "'" + where(lit),
                       "class names: " + join(names));
      }
      Literal out = lit;
      out.has_number = true;
      out.is_int = true;
      out.integer = it - names.begin();
      out.number = static_cast<double>(out.integer);
      return out;
    }
    throw error_at(text_, lit.pos,
                   detail::concat("field '", node.field, "' is numeric but '", lit.text, "'",
                                  where(lit), " is text"));
  }

  /// The text `lit` stands for when compared with string field `node.field`. On the patient
  /// column, clear IDs from a file are hashed; in the expression only hashes are accepted.
  std::string as_text(const Node& node, const Literal& lit) const {
    if (node.field == kPatientColumn) {
      if (looks_like_patient_hash(lit.text)) return lit.text;
      if (!lit.origin.empty()) return patient_hash(lit.text);
      throw error_at(text_, lit.pos,
                     "a clear patient ID in the expression would be copied into result files",
                     "put clear IDs in a file and write: patient in @withdrawn.txt");
    }
    if (lit.type == Literal::Type::kNumber) {
      throw error_at(text_, lit.pos,
                     detail::concat("field '", node.field, "' holds text but ", lit.text,
                                    " is a number (quote it: '", lit.text, "')"));
    }
    return lit.text;
  }

  static torch::Tensor compare_numbers(const torch::Tensor& values, Op op, const Literal& lit) {
    // Integers compare exactly; anything else compares as double.
    const bool exact = values.scalar_type() == torch::kLong && lit.is_int;
    const torch::Tensor v = exact ? values : values.to(torch::kDouble);
    const torch::Scalar s = exact ? torch::Scalar(lit.integer) : torch::Scalar(lit.number);
    switch (op) {
      case Op::kEq:
        return v.eq(s);
      case Op::kNe:
        return v.ne(s);
      case Op::kLt:
        return v.lt(s);
      case Op::kLe:
        return v.le(s);
      case Op::kGt:
        return v.gt(s);
      case Op::kGe:
        return v.ge(s);
      default:
        break;
    }
    throw Error("selection: internal error: bad numeric operator");
  }

  static bool compare_text(const std::string& a, Op op, const std::string& b) {
    switch (op) {
      case Op::kEq:
        return a == b;
      case Op::kNe:
        return a != b;
      case Op::kLt:
        return a < b;
      case Op::kLe:
        return a <= b;
      case Op::kGt:
        return a > b;
      case Op::kGe:
        return a >= b;
      default:
        break;
    }
    throw Error("selection: internal error: bad text operator");
  }

  /// Regex search over text values, once per distinct value (many rows share one).
  static torch::Tensor match_texts(const std::vector<std::string>& texts, const std::regex& re) {
    std::unordered_map<std::string, bool> seen;
    std::vector<uint8_t> flags(texts.size());
    for (size_t i = 0; i < texts.size(); ++i) {
      auto it = seen.find(texts[i]);
      if (it == seen.end()) it = seen.emplace(texts[i], std::regex_search(texts[i], re)).first;
      flags[i] = it->second ? 1 : 0;
    }
    return bool_tensor(flags);
  }

  torch::Tensor eval_compare(const Node& node) const {
    const FieldView field = view(node);
    const int64_t n = rows();

    if (node.op == Op::kMatch) {
      if (field.class_names != nullptr) {
        // `class ~ 'shirt'` matches class names; map the per-class answer onto the labels.
        const auto& names = *field.class_names;
        std::vector<uint8_t> per_class(names.size());
        for (size_t c = 0; c < names.size(); ++c) {
          per_class[c] = std::regex_search(names[c], *node.regex) ? 1 : 0;
        }
        if (names.empty()) return torch::zeros({n}, torch::kBool);
        return bool_tensor(per_class).index_select(0, field.numbers);
      }
      if (!field.is_string) {
        throw error_at(text_, node.op_pos,
                       "'~' needs a text field, but '" + node.field + "' is numeric");
      }
      return match_texts(*field.texts, *node.regex);
    }

    if (node.op == Op::kIn) {
      if (field.is_string) {
        std::unordered_set<std::string> wanted;
        for (const auto& lit : node.values) wanted.insert(as_text(node, lit));
        std::vector<uint8_t> flags(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) flags[i] = wanted.count((*field.texts)[i]) ? 1 : 0;
        return bool_tensor(flags);
      }
      torch::Tensor mask = torch::zeros({n}, torch::kBool);
      for (const auto& lit : node.values) {
        mask.logical_or_(compare_numbers(field.numbers, Op::kEq, as_number(node, field, lit)));
      }
      return mask;
    }

    const Literal& lit = node.values.front();
    if (field.is_string) {
      const std::string value = as_text(node, lit);
      std::vector<uint8_t> flags(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) flags[i] = compare_text((*field.texts)[i], node.op, value);
      return bool_tensor(flags);
    }
    return compare_numbers(field.numbers, node.op, as_number(node, field, lit));
  }

  const std::string& text_;
  const Dataset& data_;
  const OutlierScorer* scorer_;
};

}  // namespace

Selection Selection::parse(const std::string& text) {
  Selection selection;
  selection.text_ = text;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    throw error_at(text, text.size(), "empty expression");
  }
  UNLEARN_CHECK(text.size() <= kMaxSelectionLength, "selection: ", text.size(),
                " characters, more than the limit of ", kMaxSelectionLength,
                "; put long lists of ids in a file and select them with `in @FILE`");
  selection.root_ = Parser(selection.text_).parse();
  return selection;
}

torch::Tensor Selection::mask(const Dataset& data, const OutlierScorer* scorer) const {
  UNLEARN_CHECK(root_ != nullptr, "Selection::mask: the selection was not parsed");
  return Evaluator(text_, data, scorer).eval(*root_);
}

bool Selection::uses_outliers() const {
  bool uses = false;
  if (root_ != nullptr) {
    visit_nodes(*root_, [&](const Node& node) { uses |= node.kind == Node::Kind::kOutliers; });
  }
  return uses;
}

bool Selection::applies_to_test() const {
  if (root_ == nullptr) return false;
  bool applies = true;
  visit_nodes(*root_, [&](const Node& node) {
    if (node.kind == Node::Kind::kRandom) applies = false;
    if (node.kind == Node::Kind::kCompare && (node.field == "id" || node.field == "index")) {
      applies = false;
    }
  });
  return applies;
}

std::vector<std::string> Selection::columns() const {
  std::vector<std::string> names;
  if (root_ == nullptr) return names;
  visit_nodes(*root_, [&](const Node& node) {
    if (node.kind != Node::Kind::kCompare || is_builtin_field(node.field)) return;
    if (std::find(names.begin(), names.end(), node.field) == names.end()) {
      names.push_back(node.field);
    }
  });
  return names;
}

namespace {

IndexSplit split_by(const torch::Tensor& mask) {
  IndexSplit split;
  split.forget = torch::nonzero(mask).flatten().to(torch::kLong);
  split.retain = torch::nonzero(mask.logical_not()).flatten().to(torch::kLong);
  return split;
}

}  // namespace

Split make_split(const Selection& selection, const DataBundle& bundle,
                 const SplitOptions& options) {
  Split split;
  split.expression = selection.text();
  split.train = split_by(selection.mask(bundle.train, options.scorer()));

  const int64_t n_train = bundle.train.size();
  const int64_t n_forget = split.train.forget.size(0);
  if (!options.allow_empty()) {
    UNLEARN_CHECK(n_forget > 0, "selection '", selection.text(),
                  "' matches no training sample (use --allow-empty to accept)");
    UNLEARN_CHECK(n_forget < n_train, "selection '", selection.text(),
                  "' matches every training sample (", n_train,
                  "), leaving nothing to retain (use --allow-empty to accept)");
  }

  split.has_test_part = selection.applies_to_test();
  if (split.has_test_part) {
    split.test = split_by(selection.mask(bundle.test, options.scorer()));
  } else {
    split.test.forget = torch::empty({0}, torch::kLong);
    split.test.retain = torch::arange(bundle.test.size(), torch::kLong);
  }
  return split;
}

torch::Tensor subsample_rows(const torch::Tensor& rows, double share, uint64_t seed) {
  UNLEARN_CHECK(share > 0, "subsample: the share must be > 0, got ", share);
  const int64_t n = rows.numel();
  if (share >= 1 || n == 0) return rows;
  const int64_t k = std::clamp<int64_t>(std::llround(share * static_cast<double>(n)), 1, n);
  auto generator = at::detail::createCPUGenerator(seed);
  auto order = torch::randperm(n, generator, torch::kInt64).slice(0, 0, k);
  return std::get<0>(rows.index_select(0, order).sort());
}

}  // namespace unlearn
