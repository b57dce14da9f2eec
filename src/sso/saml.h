// SAML 2.0 service-provider core: the AuthnRequest we send (HTTP-Redirect binding), our SP
// metadata, IdP metadata import, and the verification of a Response posted to the ACS
// (HTTP-POST binding). No HTTP, no store: the decision is pure and fuzzable
// (fuzz/fuzz_saml_response.cpp); the caller keeps outstanding request ids and the replay cache.
//
// Library: libxml2 + xmlsec1 (OpenSSL backend). The first call of any function here
// initialises both once per process (std::call_once); nothing ever shuts them down, so the
// process must not call xmlCleanupParser()/xmlSecShutdown() while others may use this file.
// Every function is safe to call from several threads at once: each call owns its documents
// and xmlsec contexts, and nothing global is changed after initialisation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "sso/common.h"

namespace gh::sso {

// Largest SAMLResponse form value (base64 text) we read; real responses are a few KiB.
inline constexpr size_t kMaxSamlResponseBase64 = 256 * 1024;
// Deepest element nesting we accept in a response (a real one is under 10 deep).
inline constexpr int kMaxSamlDepth = 32;

// ---- AuthnRequest, HTTP-Redirect binding -------------------------------------------------
struct AuthnRequestParams {
  std::string request_id;    // "_" + random; the caller stores it as outstanding
  std::string sp_entity_id;  // our Issuer
  std::string acs_url;       // AssertionConsumerServiceURL
  std::string idp_sso_url;   // Destination and the URL redirected to
  std::string relay_state;   // opaque, may be empty
  int64_t now_unix = 0;      // IssueInstant
};

struct AuthnRequest {
  std::string xml;           // the AuthnRequest document
  std::string redirect_url;  // idp_sso_url ? SAMLRequest=…&RelayState=… (unsigned)
};

AuthnRequest BuildAuthnRequest(const AuthnRequestParams& params);

// A fresh request id: "_" followed by 32 hex digits (an xs:ID must not start with a digit).
std::string NewSamlRequestId();

// ---- Metadata -------------------------------------------------------------------------------
// Our SP metadata: entity id, the ACS (HTTP-POST), NameID format email, WantAssertionsSigned.
std::string SpMetadataXml(std::string_view entity_id, std::string_view acs_url);

struct IdpMetadata {
  std::string entity_id;
  std::string sso_url;                    // SingleSignOnService with the HTTP-Redirect binding
  std::vector<std::string> certificates;  // signing certificates, PEM
};

// Reads an EntityDescriptor (or the first IDPSSODescriptor of an EntitiesDescriptor).
// Refuses a DOCTYPE. Error codes: "metadata_invalid", "metadata_doctype",
// "metadata_no_idp", "metadata_no_sso_url", "metadata_no_certificate".
Result<IdpMetadata> ParseIdpMetadata(std::string_view xml);

// ---- Response verification -----------------------------------------------------------------
struct SamlExpectations {
  std::vector<std::string> idp_certificates_pem;      // the configured signing certificate(s)
  std::string idp_entity_id;                          // Issuer
  std::string sp_entity_id;                           // Audience
  std::string acs_url;                                // Recipient / Destination
  std::string request_id;                             // outstanding AuthnRequest ID; may be empty
  bool allow_idp_initiated = false;                   // accept responses without InResponseTo
  int64_t clock_skew_seconds = kMaxClockSkewSeconds;  // clamped to [0, 120]
};

struct SamlIdentity {
  std::string name_id;
  std::string name_id_format;
  std::string session_index;
  std::map<std::string, std::vector<std::string>> attributes;  // Name -> values
  std::string assertion_id;                                    // for the replay cache
  int64_t not_on_or_after_unix = 0;  // the earliest expiry of the assertion's windows
  std::string in_response_to;        // empty for an IdP-initiated response
};

// Verifies a SAMLResponse form value (base64 of the Response document). On failure the Error
// is kind kForbidden with `code` a stable reason (below) and `message` a detail that never
// echoes the assertion; the HTTP edge answers 403 `sso_response_rejected` with the reason.
// Reasons: too_large, malformed, doctype, too_deep, not_a_response, duplicate_id,
// assertion_count, encrypted_assertion, signature_missing, signature_invalid,
// signature_reference, signature_algorithm, signature_transform, no_certificate, status,
// issuer, destination, in_response_to, audience, recipient, subject_confirmation,
// not_yet_valid, expired, name_id.
Result<SamlIdentity> VerifySamlResponse(std::string_view base64_post_body,
                                        const SamlExpectations& expect, int64_t now_unix);

// Remembers assertion ids until their NotOnOrAfter (plus skew) so that each is accepted once.
// Bounded: past `capacity` live entries, new assertions are refused (fail closed) rather than
// forgetting live ones. Thread-safe. One process only: several nodes need a shared store.
class SamlReplayCache {
 public:
  explicit SamlReplayCache(size_t capacity = 100'000) : capacity_(capacity) {}
  // True when the id was not seen (and is now remembered); false for a replay or when full.
  bool Remember(const std::string& assertion_id, int64_t not_on_or_after_unix, int64_t now_unix);
  size_t size() const;

 private:
  void Expire(int64_t now_unix);
  size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, int64_t> expiry_;
  std::multimap<int64_t, std::string> by_expiry_;
};

// Initialises libxml2 and xmlsec (idempotent). Called by every function above; exposed for
// a composition root that wants to fail at start-up rather than at the first login.
void EnsureSamlLibraries();

}  // namespace gh::sso
