#include "core/validation.h"

#include <sys/stat.h>

#include <cctype>
#include <cstdio>
#include <cstring>

namespace gh::validation {

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  while (i < s.size()) {
    unsigned char c = p[i];
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size() || (p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string Trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  size_t b = 0, e = s.size();
  while (b < e && space(s[b])) ++b;
  while (e > b && space(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

bool HasControlCharacter(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (size_t i = 0; i < s.size(); ++i) {
    if (p[i] < 0x20 || p[i] == 0x7F) return true;
    // C1: U+0080-U+009F, encoded C2 80 - C2 9F.
    if (p[i] == 0xC2 && i + 1 < s.size() && p[i + 1] >= 0x80 && p[i + 1] <= 0x9F) return true;
  }
  return false;
}

namespace {

// U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR (E2 80 A8, E2 80 A9).
bool HasLineSeparator(std::string_view s) {
  return s.find("\xE2\x80\xA8") != std::string_view::npos ||
         s.find("\xE2\x80\xA9") != std::string_view::npos;
}

bool HasControlButLineFeed(std::string_view s) {
  size_t start = 0;
  for (size_t lf = s.find('\n'); lf != std::string_view::npos; lf = s.find('\n', start)) {
    if (HasControlCharacter(s.substr(start, lf - start))) return true;
    start = lf + 1;
  }
  return HasControlCharacter(s.substr(start));
}

}  // namespace

std::string PrintableText(std::string_view text, size_t max_bytes) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
    std::string_view ch = text.substr(i, n);
    if (ch.size() != n || !IsValidUtf8(ch)) {
      n = 1;  // one '?' per byte that starts no character
    } else if (!HasControlCharacter(ch) && !HasLineSeparator(ch)) {
      if (out.size() + n > max_bytes) break;
      out += ch;
      i += n;
      continue;
    }
    if (out.size() + 1 > max_bytes) break;
    out += '?';
    i += n;
  }
  return out;
}

bool IsSingleLine(std::string_view s) {
  return IsValidUtf8(s) && !HasControlCharacter(s) && !HasLineSeparator(s);
}

Result<std::string> SingleLineText(std::string_view text, size_t min, size_t max, const char* code,
                                   const char* field, const std::string& message) {
  std::string t = Trim(text);
  // Validity first: code points and controls are only counted in well-formed text.
  if (!IsSingleLine(t)) {
    return Error::Invalid(code, field, message);
  }
  size_t n = CodePoints(t);
  if (n < min || n > max) return Error::Invalid(code, field, message);
  return t;
}

Result<std::string> MultiLineText(std::string_view text, size_t max, const char* code,
                                  const char* field, const std::string& message) {
  if (!IsValidUtf8(text) || HasControlButLineFeed(text) || CodePoints(text) > max) {
    return Error::Invalid(code, field, message);
  }
  return std::string(text);
}

Result<std::string> NormalizeEmail(std::string_view email, const char* field) {
  std::string e = Trim(email);
  for (auto& c : e) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  auto bad = [&] {
    return Error::Invalid("invalid_email", field, "Enter a valid email address.");
  };
  if (e.empty() || e.size() > 254 || !IsValidUtf8(e) || HasControlCharacter(e)) return bad();
  size_t at = e.find('@');
  if (at == std::string::npos || at == 0 || at > 64 || e.find('@', at + 1) != std::string::npos) {
    return bad();
  }
  std::string_view domain = std::string_view(e).substr(at + 1);
  size_t dot = domain.find('.');
  if (domain.empty() || dot == std::string::npos || dot == 0 || domain.back() == '.' ||
      domain.find("..") != std::string::npos) {
    return bad();
  }
  for (char c : e) {
    if (c == ' ' || c == ',' || c == ';' || c == '<' || c == '>' || c == '(' || c == ')' ||
        c == '[' || c == ']' || c == '\\' || c == '"') {
      return bad();
    }
  }
  return e;
}

Status CheckPassword(std::string_view password) {
  if (!IsValidUtf8(password)) {
    return Error::Invalid("invalid_password", "password", "The password is not valid UTF-8.");
  }
  size_t n = CodePoints(password);
  if (n < 12) {
    return Error::Invalid("invalid_password", "password",
                          "The password must be at least 12 characters long.");
  }
  if (n > 1024) {
    return Error::Invalid("invalid_password", "password",
                          "The password must be at most 1024 characters long.");
  }
  return {};
}

Result<std::string> PersonName(std::string_view name) {
  return SingleLineText(name, 1, 200, "invalid_name", "name",
                        "Enter a name of 1 to 200 characters, without control characters.");
}

Result<std::string> ProjectName(std::string_view name) {
  return SingleLineText(name, 1, 100, "invalid_name", "name",
                        "A project name has 1 to 100 characters and no control characters.");
}

Result<std::string> RoleName(std::string_view name) {
  return SingleLineText(name, 1, 50, "invalid_name", "name",
                        "A role name has 1 to 50 characters and no control characters.");
}

Result<std::string> KeyName(std::string_view name) {
  return SingleLineText(name, 1, 100, "invalid_name", "name",
                        "A key name has 1 to 100 characters and no control characters.");
}

Result<std::string> ServiceName(std::string_view service) {
  return SingleLineText(service, 0, 100, "invalid_service", "service",
                        "service has at most 100 characters and no control characters.");
}

Result<std::string> WorkspaceName(std::string_view name) {
  std::string n = Trim(name);
  if (!IsSingleLine(n)) {
    return Error::Invalid("invalid_name", "name",
                          "The name contains invalid or control characters.");
  }
  if (CodePoints(n) < 2) {
    return Error::Invalid("invalid_name", "name",
                          "Workspace name must be at least 2 characters.");
  }
  if (CodePoints(n) > 100) {
    return Error::Invalid("invalid_name", "name",
                          "Workspace name must be at most 100 characters.");
  }
  return n;
}

bool IsIanaTimezone(std::string_view tz) {
  if (tz.empty() || tz.size() > 64 || tz.front() == '/' || tz.find("..") != std::string::npos) {
    return false;
  }
  for (char c : tz) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+';
    if (!ok) return false;
  }
  // Names such as "posixrules" or "Factory" and the right/ and posix/ trees are files in the
  // tz directory but not zones a person picks; the zone must be a TZif file outside those.
  if (tz.rfind("posix/", 0) == 0 || tz.rfind("right/", 0) == 0 || tz == "posixrules" ||
      tz == "Factory" || tz == "localtime") {
    return false;
  }
  std::string path = "/usr/share/zoneinfo/" + std::string(tz);
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  char magic[4] = {};
  size_t got = std::fread(magic, 1, 4, f);
  std::fclose(f);
  return got == 4 && std::memcmp(magic, "TZif", 4) == 0;
}

bool IsLanguageTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 35) return false;
  size_t start = 0;
  bool first = true;
  while (start <= tag.size()) {
    size_t end = tag.find('-', start);
    if (end == std::string_view::npos) end = tag.size();
    std::string_view part = tag.substr(start, end - start);
    if (part.empty() || part.size() > 8) return false;
    for (char c : part) {
      bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      bool digit = c >= '0' && c <= '9';
      if (first ? !alpha : !(alpha || digit)) return false;
    }
    if (first && (part.size() < 2 || part.size() > 3)) return false;
    first = false;
    if (end == tag.size()) break;
    start = end + 1;
  }
  return true;
}

bool IsTheme(std::string_view theme) {
  return theme == "light" || theme == "dark" || theme == "system";
}

std::string PercentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace gh::validation
