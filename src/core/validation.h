// Validation rules for user input, shared by every use case.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace gh::validation {

// True when `s` is well-formed UTF-8 with no NUL and no overlong or surrogate encodings.
bool IsValidUtf8(std::string_view s);

// Trims ASCII white space at both ends.
std::string Trim(std::string_view s);

// RFC 3986 percent-encoding of everything but unreserved characters (for query values and
// otpauth:// labels).
std::string PercentEncode(std::string_view s);

// Escapes text for HTML element content and quoted attribute values (mail bodies).
std::string HtmlEscape(std::string_view s);

// Lower-cases and trims an email address and checks its shape (one '@', a dotted domain,
// no spaces, at most 254 characters). Error code `invalid_email` on field `field`.
Result<std::string> NormalizeEmail(std::string_view email, const char* field = "email");

// Passwords: at least 12 and at most 1024 characters (code points). `invalid_password`.
Status CheckPassword(std::string_view password);

// True when `s` holds a control character: C0 (U+0000-U+001F: NUL, TAB, LF, CR, ESC, …), DEL
// or C1 (U+0080-U+009F, e.g. the 8-bit CSI). Such characters in a name reach people's terminals
// (the CLI export, logs piped to a pager), where ESC sequences rewrite the screen or the title.
bool HasControlCharacter(std::string_view s);

// True when `s` is valid UTF-8 on one line: no control character (above) and no U+2028/U+2029
// line or paragraph separator.
bool IsSingleLine(std::string_view s);

// Single-line text that people give and others read: names of people, workspaces, projects,
// roles, keys and services, labels. Trimmed; valid UTF-8; `min`..`max` code points; no
// control character (above) and no U+2028/U+2029 line or paragraph separator. Refused with
// 422 `code` on `field`, whose message says what a valid value is.
Result<std::string> SingleLineText(std::string_view text, size_t min, size_t max, const char* code,
                                   const char* field, const std::string& message);

// Free text over several lines (role descriptions): valid UTF-8, at most `max` code points,
// no control character but LF (a textarea's line break; CR, TAB and ESC are refused). Not
// trimmed. 422 `code` on `field`.
Result<std::string> MultiLineText(std::string_view text, size_t max, const char* code,
                                  const char* field, const std::string& message);

// Text taken as it comes but shown to people later (a User-Agent header kept with sessions and
// audit events): at most `max_bytes`, cut on a character boundary, with every control
// character, line separator and byte that is not valid UTF-8 replaced by '?'.
std::string PrintableText(std::string_view text, size_t max_bytes);

// Display names of people: trimmed, 1..200 characters, no control characters. `invalid_name`.
Result<std::string> PersonName(std::string_view name);

// Workspace names: at least 2 characters after trimming, at most 100, no control characters.
// `invalid_name`.
Result<std::string> WorkspaceName(std::string_view name);

// Project names: trimmed, 1..100 characters, no control characters. `invalid_name`.
Result<std::string> ProjectName(std::string_view name);

// Custom role names: trimmed, 1..50 characters, no control characters. `invalid_name`.
Result<std::string> RoleName(std::string_view name);

// API key names (1..100 characters) and the optional service a key is for (0..100), trimmed,
// no control characters. `invalid_name` / `invalid_service`.
Result<std::string> KeyName(std::string_view name);
Result<std::string> ServiceName(std::string_view service);

// An IANA time zone known to the system's tz database (/usr/share/zoneinfo).
bool IsIanaTimezone(std::string_view tz);

// A BCP 47 language tag such as "en", "pt-BR", "zh-Hant-TW".
bool IsLanguageTag(std::string_view tag);

// "light", "dark" or "system".
bool IsTheme(std::string_view theme);

// Number of Unicode code points in valid UTF-8.
size_t CodePoints(std::string_view s);

}  // namespace gh::validation
