#include "scim/filter.h"

#include <string>
#include <utility>
#include <vector>

#include "scim/error.h"

namespace gh::scim {
namespace {

enum class Tok { kEnd, kLParen, kRParen, kLBracket, kRBracket, kWord, kString };

struct Token {
  Tok kind = Tok::kEnd;
  std::string_view text;
  size_t pos = 0;
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsPunct(char c) { return c == '(' || c == ')' || c == '[' || c == ']' || c == '"'; }

std::string Describe(const Token& t) {
  if (t.kind == Tok::kEnd) return "the end of the filter";
  std::string text(t.text.substr(0, 40));
  return "\"" + text + "\" at offset " + std::to_string(t.pos);
}

struct OpName {
  std::string_view name;
  FilterOp op;
};
constexpr OpName kComparisons[] = {
    {"eq", FilterOp::kEq}, {"ne", FilterOp::kNe}, {"co", FilterOp::kCo}, {"sw", FilterOp::kSw},
    {"ew", FilterOp::kEw}, {"gt", FilterOp::kGt}, {"ge", FilterOp::kGe}, {"lt", FilterOp::kLt},
    {"le", FilterOp::kLe}, {"pr", FilterOp::kPr}};

bool IsOrdering(FilterOp op) {
  return op == FilterOp::kGt || op == FilterOp::kGe || op == FilterOp::kLt || op == FilterOp::kLe;
}
bool IsSubstring(FilterOp op) {
  return op == FilterOp::kCo || op == FilterOp::kSw || op == FilterOp::kEw;
}

// Recursive descent over RFC 7644's grammar: or binds loosest, then and, then not/parentheses.
class Parser {
 public:
  Parser(std::string_view text, ResourceKind kind) : text_(text), kind_(kind) {}
  Parser(std::string_view text, const AttrDef& parent, std::string schema)
      : text_(text), parent_(&parent), parent_schema_(std::move(schema)) {}

  Result<std::shared_ptr<const Filter>> Run() {
    if (text_.size() > kMaxFilterBytes) {
      return Fail("is longer than " + std::to_string(kMaxFilterBytes) + " bytes");
    }
    Advance();
    auto f = ParseOr(0);
    if (!error_.empty()) return Fail(error_);
    if (tok_.kind != Tok::kEnd) return Fail("has an unexpected " + Describe(tok_));
    return std::shared_ptr<const Filter>(std::move(f));
  }

 private:
  Error Fail(const std::string& what) const {
    return Error::BadRequest(scim_type::kInvalidFilter, "The filter " + what + ".", "filter");
  }
  // Records the first error; parsing unwinds through null results.
  std::shared_ptr<Filter> SetError(std::string what) {
    if (error_.empty()) error_ = std::move(what);
    return nullptr;
  }

  void Advance() {
    size_t i = pos_;
    while (i < text_.size() && IsSpace(text_[i])) ++i;
    tok_ = {Tok::kEnd, {}, i};
    if (i >= text_.size()) {
      pos_ = i;
      return;
    }
    char c = text_[i];
    if (c == '(' || c == ')' || c == '[' || c == ']') {
      tok_.kind = c == '('   ? Tok::kLParen
                  : c == ')' ? Tok::kRParen
                  : c == '[' ? Tok::kLBracket
                             : Tok::kRBracket;
      tok_.text = text_.substr(i, 1);
      pos_ = i + 1;
      return;
    }
    if (c == '"') {
      size_t j = i + 1;
      while (j < text_.size() && text_[j] != '"') j += text_[j] == '\\' ? 2 : 1;
      if (j >= text_.size()) {
        SetError("has an unterminated string starting at offset " + std::to_string(i));
        tok_.kind = Tok::kEnd;
        pos_ = text_.size();
        return;
      }
      tok_ = {Tok::kString, text_.substr(i, j + 1 - i), i};
      pos_ = j + 1;
      return;
    }
    size_t j = i;
    while (j < text_.size() && !IsSpace(text_[j]) && !IsPunct(text_[j])) ++j;
    tok_ = {Tok::kWord, text_.substr(i, j - i), i};
    pos_ = j;
  }

  bool IsWord(std::string_view w) const {
    return tok_.kind == Tok::kWord && EqualsIgnoreCase(tok_.text, w);
  }

  std::shared_ptr<Filter> ParseOr(int depth) {
    auto left = ParseAnd(depth);
    while (left && IsWord("or")) {
      Advance();
      auto right = ParseAnd(depth);
      if (!right) return nullptr;
      left = Combine(FilterOp::kOr, std::move(left), std::move(right));
    }
    return left;
  }

  std::shared_ptr<Filter> ParseAnd(int depth) {
    auto left = ParseUnary(depth);
    while (left && IsWord("and")) {
      Advance();
      auto right = ParseUnary(depth);
      if (!right) return nullptr;
      left = Combine(FilterOp::kAnd, std::move(left), std::move(right));
    }
    return left;
  }

  static std::shared_ptr<Filter> Combine(FilterOp op, std::shared_ptr<Filter> l,
                                         std::shared_ptr<Filter> r) {
    auto f = std::make_shared<Filter>();
    f->op = op;
    f->left = std::move(l);
    f->right = std::move(r);
    return f;
  }

  std::shared_ptr<Filter> ParseUnary(int depth) {
    if (!error_.empty()) return nullptr;
    bool negate = false;
    if (IsWord("not")) {
      Advance();
      if (tok_.kind != Tok::kLParen)
        return SetError("expects \"(\" after not, found " + Describe(tok_));
      negate = true;
    }
    if (tok_.kind != Tok::kLParen) return ParseAttrExp(depth);
    if (depth + 1 > kMaxFilterDepth) {
      return SetError("nests deeper than " + std::to_string(kMaxFilterDepth) +
                      " levels at offset " + std::to_string(tok_.pos));
    }
    size_t open = tok_.pos;
    Advance();
    auto inner = ParseOr(depth + 1);
    if (!inner) return nullptr;
    if (tok_.kind != Tok::kRParen) {
      return SetError("has an unbalanced \"(\" at offset " + std::to_string(open) + " (found " +
                      Describe(tok_) + ")");
    }
    Advance();
    if (!negate) return inner;
    auto f = std::make_shared<Filter>();
    f->op = FilterOp::kNot;
    f->left = std::move(inner);
    return f;
  }

  // Resolves the attribute name token into `f`.
  bool ResolveAttr(Filter& f) {
    std::string name(tok_.text);
    if (parent_) {
      const AttrDef* sub =
          name.find_first_of(".:") == std::string::npos ? FindSub(*parent_, name) : nullptr;
      if (!sub) {
        SetError("names an unknown attribute " + Describe(tok_) + " of " + parent_->name);
        return false;
      }
      f.attr = {parent_schema_, parent_->name, sub->name};
      f.def = parent_;
      f.sub_def = sub;
      f.element_relative = true;
      return true;
    }
    auto found = ResolveName(name, kind_);
    if (found.status != NameStatus::kOk) {
      SetError(std::string(found.status == NameStatus::kMalformed ? "has a malformed"
                                                                  : "names an unknown") +
               " attribute " + Describe(tok_));
      return false;
    }
    f.attr = found.name.path;
    f.def = found.name.attr;
    f.sub_def = found.name.sub;
    return true;
  }

  std::shared_ptr<Filter> ParseAttrExp(int depth) {
    if (tok_.kind != Tok::kWord)
      return SetError("expects an attribute name, found " + Describe(tok_));
    if (++terms_ > kMaxFilterTerms) {
      return SetError("has more than " + std::to_string(kMaxFilterTerms) + " terms");
    }
    auto f = std::make_shared<Filter>();
    if (!ResolveAttr(*f)) return nullptr;
    Advance();
    if (tok_.kind == Tok::kLBracket) return ParseValuePath(std::move(f), depth);
    return ParseComparison(std::move(f));
  }

  std::shared_ptr<Filter> ParseValuePath(std::shared_ptr<Filter> f, int depth) {
    size_t open = tok_.pos;
    if (parent_ || f->sub_def || f->def->type != "complex") {
      return SetError("has a value filter \"[\" at offset " + std::to_string(open) +
                      " on an attribute that is not complex");
    }
    if (depth + 1 > kMaxFilterDepth) {
      return SetError("nests deeper than " + std::to_string(kMaxFilterDepth) +
                      " levels at offset " + std::to_string(open));
    }
    Advance();
    const AttrDef* saved_parent = parent_;
    std::string saved_schema = parent_schema_;
    parent_ = f->def;
    parent_schema_ = f->attr.schema;
    auto inner = ParseOr(depth + 1);
    parent_ = saved_parent;
    parent_schema_ = saved_schema;
    if (!inner) return nullptr;
    if (tok_.kind != Tok::kRBracket) {
      return SetError("has an unbalanced \"[\" at offset " + std::to_string(open) + " (found " +
                      Describe(tok_) + ")");
    }
    Advance();
    f->op = FilterOp::kValuePath;
    f->left = std::move(inner);
    return f;
  }

  std::shared_ptr<Filter> ParseComparison(std::shared_ptr<Filter> f) {
    if (tok_.kind != Tok::kWord) {
      return SetError("expects an operator after the attribute, found " + Describe(tok_));
    }
    bool known = false;
    for (const auto& c : kComparisons) {
      if (EqualsIgnoreCase(tok_.text, c.name)) {
        f->op = c.op;
        known = true;
      }
    }
    if (!known) return SetError("has an unknown operator " + Describe(tok_));
    Token op_tok = tok_;
    Advance();
    // A multi-valued complex attribute without sub-attribute compares its elements' `value`.
    if (!f->sub_def && f->def->type == "complex") {
      if (f->def->multi_valued) f->sub_def = FindSub(*f->def, "value");
      if (!f->sub_def && f->op != FilterOp::kPr) {
        return SetError("compares the complex attribute " + f->def->name +
                        " as a whole; name a sub-attribute");
      }
    }
    if (f->op == FilterOp::kPr) return f;
    if (!ParseLiteral(f->value)) return nullptr;
    const AttrDef& target = f->sub_def ? *f->sub_def : *f->def;
    if (target.type == "boolean" && (IsOrdering(f->op) || IsSubstring(f->op))) {
      return SetError("uses " + Describe(op_tok) + " on the boolean attribute " + target.name);
    }
    if (IsSubstring(f->op) && !f->value.is_string()) {
      return SetError("uses " + Describe(op_tok) + " with a value that is not a string");
    }
    if (IsOrdering(f->op) && !f->value.is_string() && !f->value.is_number()) {
      return SetError("uses " + Describe(op_tok) + " with a value that is not a string or number");
    }
    return f;
  }

  bool ParseLiteral(Json& out) {
    if (tok_.kind == Tok::kString) {
      out = Json::parse(tok_.text, nullptr, /*allow_exceptions=*/false);
      if (out.is_discarded() || !out.is_string()) {
        SetError("has an invalid string " + Describe(tok_));
        return false;
      }
      Advance();
      return true;
    }
    if (tok_.kind != Tok::kWord) {
      SetError("expects a value, found " + Describe(tok_));
      return false;
    }
    if (IsWord("true") || IsWord("false")) {
      out = IsWord("true");
    } else if (IsWord("null")) {
      out = nullptr;
    } else {
      char c = tok_.text[0];
      bool numeric = c == '-' || (c >= '0' && c <= '9');
      if (numeric) out = Json::parse(tok_.text, nullptr, /*allow_exceptions=*/false);
      if (!numeric || out.is_discarded() || !out.is_number()) {
        SetError("expects a value (a quoted string, number, true, false or null), found " +
                 Describe(tok_));
        return false;
      }
    }
    Advance();
    return true;
  }

  std::string_view text_;
  ResourceKind kind_ = ResourceKind::kUser;
  const AttrDef* parent_ = nullptr;  // set inside a value path
  std::string parent_schema_;
  size_t pos_ = 0;
  Token tok_;
  int terms_ = 0;
  std::string error_;
};

// ---- evaluation ----

const Json* Attribute(const Json& resource, const AttrPath& p) {
  const Json* container = p.schema.empty() ? &resource : FindMember(resource, p.schema);
  return container ? FindMember(*container, p.attr) : nullptr;
}

bool Present(const Json* v) {
  if (!v || v->is_null()) return false;
  if (v->is_string()) return !v->get_ref<const std::string&>().empty();
  if (v->is_array() || v->is_object()) return !v->empty();
  return true;
}

int CompareStrings(const std::string& a, const std::string& b, bool case_exact) {
  if (case_exact) return a.compare(b);
  return AsciiLower(a).compare(AsciiLower(b));
}

// One candidate value against a comparison.
bool CompareOne(const Filter& f, const AttrDef& target, const Json& v) {
  if (f.op == FilterOp::kPr) return Present(&v);
  const Json& lit = f.value;
  if (lit.is_null()) return v.is_null();
  if (target.type == "boolean" || lit.is_boolean()) {
    auto a = CoerceBool(v), b = CoerceBool(lit);
    return a && b && *a == *b;
  }
  if (lit.is_number()) {
    if (!v.is_number()) return false;
    double a = v.get<double>(), b = lit.get<double>();
    switch (f.op) {
      case FilterOp::kGt:
        return a > b;
      case FilterOp::kGe:
        return a >= b;
      case FilterOp::kLt:
        return a < b;
      case FilterOp::kLe:
        return a <= b;
      default:
        return a == b;
    }
  }
  if (!lit.is_string() || !v.is_string()) return false;
  const auto& s = v.get_ref<const std::string&>();
  const auto& want = lit.get_ref<const std::string&>();
  if (IsSubstring(f.op)) {
    std::string hay = target.case_exact ? s : AsciiLower(s);
    std::string needle = target.case_exact ? want : AsciiLower(want);
    if (f.op == FilterOp::kCo) return hay.find(needle) != std::string::npos;
    if (f.op == FilterOp::kSw) return hay.starts_with(needle);
    return hay.ends_with(needle);
  }
  int c = CompareStrings(s, want, target.case_exact);
  switch (f.op) {
    case FilterOp::kGt:
      return c > 0;
    case FilterOp::kGe:
      return c >= 0;
    case FilterOp::kLt:
      return c < 0;
    case FilterOp::kLe:
      return c <= 0;
    default:
      return c == 0;
  }
}

// The values a comparison looks at: the attribute, its sub-attribute in each element, ….
void Candidates(const Filter& f, const Json& scope, std::vector<const Json*>& out) {
  if (f.element_relative) {
    if (const Json* v = FindMember(scope, f.sub_def->name)) out.push_back(v);
    return;
  }
  const Json* base = Attribute(scope, f.attr);
  if (!base) return;
  auto add = [&](const Json& v) {
    if (!f.sub_def) {
      out.push_back(&v);
    } else if (const Json* s = FindMember(v, f.sub_def->name)) {
      out.push_back(s);
    }
  };
  if (base->is_array()) {
    for (const auto& el : *base) add(el);
  } else {
    add(*base);
  }
}

bool AnyMatches(const Filter& f, const Json& scope) {
  const AttrDef& target = f.sub_def ? *f.sub_def : *f.def;
  std::vector<const Json*> values;
  Candidates(f, scope, values);
  if (f.op == FilterOp::kEq && f.value.is_null()) {
    for (const Json* v : values) {
      if (Present(v)) return false;
    }
    return true;
  }
  for (const Json* v : values) {
    if (v->is_array()) {
      for (const auto& e : *v) {
        if (CompareOne(f, target, e)) return true;
      }
    } else if (CompareOne(f, target, *v)) {
      return true;
    }
  }
  return false;
}

bool Eval(const Filter& f, const Json& scope) {
  switch (f.op) {
    case FilterOp::kAnd:
      return Eval(*f.left, scope) && Eval(*f.right, scope);
    case FilterOp::kOr:
      return Eval(*f.left, scope) || Eval(*f.right, scope);
    case FilterOp::kNot:
      return !Eval(*f.left, scope);
    case FilterOp::kValuePath: {
      const Json* base = Attribute(scope, f.attr);
      if (!base) return false;
      if (base->is_object()) return Eval(*f.left, *base);
      if (!base->is_array()) return false;
      for (const auto& el : *base) {
        if (el.is_object() && Eval(*f.left, el)) return true;
      }
      return false;
    }
    case FilterOp::kNe: {
      Filter eq = f;
      eq.op = FilterOp::kEq;
      return !AnyMatches(eq, scope);
    }
    default:
      return AnyMatches(f, scope);
  }
}

void Conjuncts(const Filter& f, std::vector<const Filter*>& out) {
  if (f.op == FilterOp::kAnd) {
    Conjuncts(*f.left, out);
    Conjuncts(*f.right, out);
  } else {
    out.push_back(&f);
  }
}

std::optional<Equality> EqualityOf(const Filter& f) {
  if (f.op == FilterOp::kValuePath && f.attr.attr == "emails") {
    std::vector<const Filter*> inner;
    Conjuncts(*f.left, inner);
    for (const Filter* c : inner) {
      if (c->op == FilterOp::kEq && c->attr.sub == "value" && c->value.is_string()) {
        return Equality{"emails.value", c->value.get<std::string>(), false};
      }
    }
    return std::nullopt;
  }
  if (f.op != FilterOp::kEq || f.element_relative || !f.value.is_string() ||
      !f.attr.schema.empty()) {
    return std::nullopt;
  }
  std::string name = f.attr.attr;
  if (f.sub_def) name += "." + f.sub_def->name;
  if (name != "userName" && name != "externalId" && name != "displayName" &&
      name != "emails.value") {
    return std::nullopt;
  }
  return Equality{name, f.value.get<std::string>(), name == "externalId"};
}

}  // namespace

Result<std::shared_ptr<const Filter>> ParseFilter(std::string_view text, ResourceKind kind) {
  return Parser(text, kind).Run();
}

Result<std::shared_ptr<const Filter>> ParseValueFilter(std::string_view text, const AttrDef& parent,
                                                       const std::string& schema) {
  return Parser(text, parent, schema).Run();
}

bool Matches(const Filter& f, const Json& resource, ResourceKind /*kind*/) {
  return Eval(f, resource);
}

bool MatchesElement(const Filter& f, const Json& element) { return Eval(f, element); }

std::optional<Equality> IndexableEquality(const Filter& f) {
  std::vector<const Filter*> conjuncts;
  Conjuncts(f, conjuncts);
  std::optional<Equality> first;
  for (const Filter* c : conjuncts) {
    auto e = EqualityOf(*c);
    if (!e) continue;
    if (e->attr == "userName") return e;
    if (!first) first = std::move(e);
  }
  return first;
}

}  // namespace gh::scim
