// Internal to src/sso: the XML helpers shared by the SAML request/metadata code (saml.cpp)
// and the response verifier (saml_response.cpp). Not an API of gh_sso.
#pragma once

#include <libxml/tree.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gh::sso::xml {

inline constexpr const char* kNsProtocol = "urn:oasis:names:tc:SAML:2.0:protocol";
inline constexpr const char* kNsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion";
inline constexpr const char* kNsDsig = "http://www.w3.org/2000/09/xmldsig#";
inline constexpr const char* kNsMetadata = "urn:oasis:names:tc:SAML:2.0:metadata";
inline constexpr const char* kBindingRedirect =
    "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
inline constexpr const char* kBindingPost = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
inline constexpr const char* kNameIdEmail =
    "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
inline constexpr const char* kStatusSuccess = "urn:oasis:names:tc:SAML:2.0:status:Success";
inline constexpr const char* kBearer = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
inline constexpr const char* kExcC14n = "http://www.w3.org/2001/10/xml-exc-c14n#";
inline constexpr const char* kExcC14nComments =
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";
inline constexpr const char* kEnveloped = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

struct DocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocFree>;

inline const char* Str(const xmlChar* s) { return reinterpret_cast<const char*>(s); }
inline const xmlChar* X(const char* s) { return reinterpret_cast<const xmlChar*>(s); }

// A refusal of a response: kForbidden, the stable reason as code, a detail as message.
Error Reject(std::string reason, std::string detail);

// True when n is the element {ns}name.
bool Is(const xmlNode* n, const char* ns, const char* name);
// The direct element children {ns}name of parent, in order.
std::vector<xmlNode*> Children(xmlNode* parent, const char* ns, const char* name);
// The one direct child {ns}name; nullptr when there is none or several.
xmlNode* Child(xmlNode* parent, const char* ns, const char* name);
// An attribute without namespace; nullopt when absent.
std::optional<std::string> Attr(const xmlNode* n, const char* name);
// The whole text of an element: every text and CDATA child concatenated, so that a comment
// inside (`admin@evil.com<!---->.victim.com`) cannot cut it short. nullopt when the element
// holds child elements.
std::optional<std::string> FullText(const xmlNode* n);
std::string Trim(std::string s);

std::string Base64Encode(std::string_view bytes);
// Standard base64; whitespace ignored; anything else refused.
std::optional<std::string> Base64Decode(std::string_view text);
std::string XmlEscape(std::string_view s);
std::string RawDeflate(std::string_view in);  // RFC 1951, no zlib header (HTTP-Redirect)
std::string IsoTime(int64_t unix);
// xs:dateTime as SAML uses it: "Z" or an explicit offset, optional fractional seconds.
std::optional<int64_t> ParseIsoTime(const std::string& s);

// Parses untrusted XML: no network, no entity substitution, no DTD loading, DOCTYPE refused,
// nesting bounded by kMaxSamlDepth. nullptr with the reason in `failure` otherwise.
enum class ParseFailure { kNone, kMalformed, kDoctype, kTooDeep };
DocPtr ParseUntrusted(std::string_view bytes, ParseFailure& failure);

}  // namespace gh::sso::xml
