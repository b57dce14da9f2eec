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

// Display names of people: trimmed, 1..200 characters, no control characters. `invalid_name`.
Result<std::string> PersonName(std::string_view name);

// Workspace names: at least 2 characters after trimming, at most 100. `invalid_name`.
Result<std::string> WorkspaceName(std::string_view name);

// Project names: trimmed, 1..100 characters, no control characters. `invalid_name`.
Result<std::string> ProjectName(std::string_view name);

// An IANA time zone known to the system's tz database (/usr/share/zoneinfo).
bool IsIanaTimezone(std::string_view tz);

// A BCP 47 language tag such as "en", "pt-BR", "zh-Hant-TW".
bool IsLanguageTag(std::string_view tag);

// "light", "dark" or "system".
bool IsTheme(std::string_view theme);

// Number of Unicode code points in valid UTF-8.
size_t CodePoints(std::string_view s);

}  // namespace gh::validation
