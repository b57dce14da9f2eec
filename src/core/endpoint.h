// Endpoints as a key's rules see them. The gateway sends the path it received, in whatever
// form the client chose; the origin server behind it resolves that form (dot segments,
// percent escapes, doubled slashes) to a resource. Rules are matched on the same resolution,
// so that "/v1/metrics/../admin", "/v1//admin" or "/v1/%61dmin" cannot slip past a rule
// written for "/v1/admin".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gh {

// The canonical form of `endpoint`, or nullopt when it cannot be canonicalised safely:
//  - the query and fragment are dropped ("/a?x#y" -> "/a");
//  - percent escapes of unreserved characters (RFC 3986: ALPHA DIGIT - . _ ~) are decoded,
//    other escapes kept with upper-case hex, bytes above 0x7E percent-encoded, so that every
//    spelling of one path has one form;
//  - empty segments ("//") and "." segments are removed, ".." removes the segment before it
//    (never above the root), and a trailing slash is dropped ("/" stays "/").
// Refused (nullopt): not starting with '/', control characters, spaces, backslashes, ';'
// (path parameters, which some servers strip and others keep), malformed escapes, and
// escapes of '/', '\', '%', ';', '?', '#' or control characters, whose meaning differs from
// one origin server to the next (double decoding, encoded separators).
std::optional<std::string> CanonicalEndpoint(std::string_view endpoint);

// Whether `pattern` (an exact path, or a prefix ending in '*': "/v1/metrics/*") matches the
// canonical endpoint `path`. Letters compare case-insensitively: some origin servers do, and
// for a deny rule the wider match is the safe one. "/v1/metrics/*" also covers "/v1/metrics".
bool EndpointMatches(std::string_view pattern, std::string_view path);

// A pattern is a canonical path (as CanonicalEndpoint gives it, with or without a trailing
// slash) of at most 256 characters, optionally ending in '*' (and nowhere else).
bool IsValidPathPattern(std::string_view pattern);

// Whether `method` (as the gateway sends it, any case) is one of `methods` (upper case).
// An empty `method` is no method: it matches nothing.
bool MethodMatches(std::string_view method, const std::vector<std::string>& methods);

}  // namespace gh
