// Verification of a SAML Response posted to the ACS (see saml.h for the contract).
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <xmlsec/crypto.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>

#include <algorithm>
#include <climits>
#include <functional>
#include <memory>
#include <set>

#include "sso/saml.h"
#include "sso/saml_xml.h"

namespace gh::sso {
using namespace xml;  // NOLINT: this file's vocabulary
namespace {

// Only these algorithms are accepted; SHA-1 anywhere is refused.
const std::set<std::string> kSignatureMethods = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
};
const std::set<std::string> kDigestMethods = {
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
};

struct KeyFree {
  void operator()(xmlSecKey* k) const { xmlSecKeyDestroy(k); }
};
using KeyPtr = std::unique_ptr<xmlSecKey, KeyFree>;
struct DsigFree {
  void operator()(xmlSecDSigCtx* c) const { xmlSecDSigCtxDestroy(c); }
};

// The public key of a configured certificate, as an xmlsec key. The certificate itself is not
// attached and no keys manager exists: xmlsec can then verify with this key only, whatever
// KeyInfo or X509Data the message carries.
KeyPtr KeyFromCertificate(const std::string& pem) {
  BIO* in = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  if (!cert) return nullptr;
  EVP_PKEY* pkey = X509_get0_pubkey(cert);
  std::string pub;
  if (pkey) {
    BIO* out = BIO_new(BIO_s_mem());
    if (PEM_write_bio_PUBKEY(out, pkey) == 1) {
      char* data = nullptr;
      long len = BIO_get_mem_data(out, &data);
      pub.assign(data, static_cast<size_t>(len));
    }
    BIO_free(out);
  }
  X509_free(cert);
  if (pub.empty()) return nullptr;
  return KeyPtr(xmlSecCryptoAppKeyLoadMemory(reinterpret_cast<const xmlSecByte*>(pub.data()),
                                             static_cast<xmlSecSize>(pub.size()),
                                             xmlSecKeyDataFormatPem, nullptr, nullptr, nullptr));
}

// Checks the shape of a ds:Signature before xmlsec runs: one Reference pointing at its own
// parent, only exc-c14n and enveloped-signature transforms, SHA-2 digests and signatures.
std::optional<Error> CheckSignatureShape(xmlNode* sig, const std::string& parent_id) {
  xmlNode* si = Child(sig, kNsDsig, "SignedInfo");
  if (!si) return Reject("signature_invalid", "The Signature has no SignedInfo.");
  xmlNode* c14n = Child(si, kNsDsig, "CanonicalizationMethod");
  auto c14n_alg = Attr(c14n, "Algorithm");
  if (!c14n_alg || (*c14n_alg != kExcC14n && *c14n_alg != kExcC14nComments))
    return Reject("signature_transform", "The canonicalization is not exclusive C14N.");
  auto sm = Attr(Child(si, kNsDsig, "SignatureMethod"), "Algorithm");
  if (!sm || !kSignatureMethods.count(*sm))
    return Reject("signature_algorithm",
                  "The signature algorithm is not RSA/ECDSA-SHA256 or stronger.");
  auto refs = Children(si, kNsDsig, "Reference");
  if (refs.size() != 1)
    return Reject("signature_reference", "The Signature must hold exactly one Reference.");
  auto uri = Attr(refs[0], "URI");
  if (parent_id.empty() || !uri || *uri != "#" + parent_id)
    return Reject("signature_reference", "The Reference does not point at the signed element.");
  auto dm = Attr(Child(refs[0], kNsDsig, "DigestMethod"), "Algorithm");
  if (!dm || !kDigestMethods.count(*dm))
    return Reject("signature_algorithm", "The digest algorithm is not SHA-256 or stronger.");
  if (xmlNode* transforms = Child(refs[0], kNsDsig, "Transforms")) {
    for (xmlNode* t = transforms->children; t; t = t->next) {
      if (t->type != XML_ELEMENT_NODE) continue;
      auto alg = Attr(t, "Algorithm");
      if (!Is(t, kNsDsig, "Transform") || !alg ||
          (*alg != kEnveloped && *alg != kExcC14n && *alg != kExcC14nComments))
        return Reject("signature_transform", "Only enveloped-signature and exc-c14n are allowed.");
    }
  }
  return std::nullopt;
}

// Verifies `sig`, the direct ds:Signature child of `parent`, with one of the configured keys.
std::optional<Error> VerifySignature(xmlDoc* doc, xmlNode* parent, xmlNode* sig,
                                     const std::vector<KeyPtr>& keys) {
  std::string id = Attr(parent, "ID").value_or("");
  if (auto e = CheckSignatureShape(sig, id)) return e;
  // Register the one ID the Reference may resolve to. libxml2 also registers xml:id
  // attributes on its own; a clash with one makes xmlAddID fail, refused below.
  xmlAttr* id_attr = xmlHasNsProp(parent, X("ID"), nullptr);
  if (!id_attr) return Reject("signature_reference", "The signed element has no ID.");
  if (xmlGetID(doc, X(id.c_str())) == nullptr && !xmlAddID(nullptr, doc, X(id.c_str()), id_attr))
    return Reject("duplicate_id", "The signed element's ID is not unique.");
  xmlAttr* resolved = xmlGetID(doc, X(id.c_str()));
  if (resolved != id_attr) return Reject("duplicate_id", "The signed element's ID is not unique.");

  for (const KeyPtr& key : keys) {
    std::unique_ptr<xmlSecDSigCtx, DsigFree> ctx(xmlSecDSigCtxCreate(nullptr));
    if (!ctx) return Reject("signature_invalid", "xmlsec context failed.");
    ctx->signKey = xmlSecKeyDuplicate(key.get());
    ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
    // Belt and braces on top of CheckSignatureShape: xmlsec itself refuses other transforms.
    xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformExclC14NId);
    xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformExclC14NWithCommentsId);
    xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformEnvelopedId);
    xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformSha256Id);
    xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformSha384Id);
    xmlSecDSigCtxEnableReferenceTransform(ctx.get(), xmlSecTransformSha512Id);
    xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecTransformExclC14NId);
    xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecTransformExclC14NWithCommentsId);
    xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecTransformRsaSha256Id);
    xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecTransformRsaSha384Id);
    xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecTransformRsaSha512Id);
    xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecTransformEcdsaSha256Id);
    xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecTransformEcdsaSha384Id);
    xmlSecDSigCtxEnableSignatureTransform(ctx.get(), xmlSecTransformEcdsaSha512Id);
    if (xmlSecDSigCtxVerify(ctx.get(), sig) < 0) continue;  // wrong key type, bad shape
    if (ctx->status != xmlSecDSigStatusSucceeded) continue;
    // The key used must still be ours (no keys manager could have swapped it).
    if (ctx->signKey == nullptr) continue;
    return std::nullopt;
  }
  return Reject("signature_invalid",
                "The signature does not verify with the configured certificate.");
}

void Walk(xmlNode* n, const std::function<void(xmlNode*)>& f) {
  for (xmlNode* c = n; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE) continue;
    f(c);
    Walk(c->children, f);
  }
}

std::optional<Error> CheckIssuer(xmlNode* parent, const std::string& want, bool required) {
  auto issuers = Children(parent, kNsAssertion, "Issuer");
  if (issuers.empty() && !required) return std::nullopt;
  if (issuers.size() != 1) return Reject("issuer", "Expected exactly one Issuer.");
  auto text = FullText(issuers[0]);
  if (!text || Trim(*text) != want)
    return Reject("issuer", "The Issuer is not the configured IdP.");
  return std::nullopt;
}

// Reads a time attribute; `bad` set when present but unreadable.
std::optional<int64_t> TimeAttr(xmlNode* n, const char* name, bool& bad) {
  auto v = Attr(n, name);
  if (!v) return std::nullopt;
  auto t = ParseIsoTime(*v);
  if (!t) bad = true;
  return t;
}

Result<SamlIdentity> CheckAssertion(xmlNode* response, xmlNode* assertion,
                                    const SamlExpectations& expect, int64_t now, int64_t skew) {
  SamlIdentity id;
  id.assertion_id = Attr(assertion, "ID").value_or("");
  if (id.assertion_id.empty()) return Reject("malformed", "The Assertion has no ID.");
  if (auto e = CheckIssuer(assertion, expect.idp_entity_id, true)) return *e;

  // InResponseTo: the Response's (if any) and every bearer confirmation's must match.
  auto resp_irt = Attr(response, "InResponseTo");
  auto irt_ok = [&](const std::optional<std::string>& v) -> bool {
    if (!v) return true;
    return !expect.request_id.empty() && *v == expect.request_id;
  };
  if (!irt_ok(resp_irt))
    return Reject("in_response_to", "InResponseTo is not an outstanding request.");

  int64_t not_after = INT64_MAX;
  bool bad_time = false;

  // Subject: one NameID, at least one bearer confirmation that fits.
  xmlNode* subject = Child(assertion, kNsAssertion, "Subject");
  if (!subject) return Reject("subject_confirmation", "The Assertion has no Subject.");
  xmlNode* name_id = Child(subject, kNsAssertion, "NameID");
  if (!name_id) return Reject("name_id", "The Subject has no NameID.");
  auto name_text = FullText(name_id);
  if (!name_text || Trim(*name_text).empty())
    return Reject("name_id", "The NameID is not plain text.");
  id.name_id = Trim(*name_text);
  id.name_id_format = Attr(name_id, "Format").value_or("");

  std::optional<Error> confirmation_error =
      Reject("subject_confirmation", "No bearer SubjectConfirmation.");
  std::string confirmed_irt;
  for (xmlNode* sc : Children(subject, kNsAssertion, "SubjectConfirmation")) {
    if (Attr(sc, "Method") != kBearer) continue;
    xmlNode* scd = Child(sc, kNsAssertion, "SubjectConfirmationData");
    if (!scd) continue;
    if (Attr(scd, "Recipient") != expect.acs_url) {
      confirmation_error = Reject("recipient", "The Recipient is not our ACS URL.");
      continue;
    }
    auto irt = Attr(scd, "InResponseTo");
    if (!irt_ok(irt)) {
      confirmation_error = Reject("in_response_to", "InResponseTo is not an outstanding request.");
      continue;
    }
    bool bad = false;
    auto nooa = TimeAttr(scd, "NotOnOrAfter", bad);
    auto nb = TimeAttr(scd, "NotBefore", bad);
    if (bad || !nooa) {
      confirmation_error =
          Reject("subject_confirmation", "The confirmation has no valid NotOnOrAfter.");
      continue;
    }
    if (now - skew >= *nooa) {
      confirmation_error = Reject("expired", "The subject confirmation has expired.");
      continue;
    }
    if (nb && now + skew < *nb) {
      confirmation_error = Reject("not_yet_valid", "The subject confirmation is not yet valid.");
      continue;
    }
    not_after = std::min(not_after, *nooa);
    confirmed_irt = irt.value_or("");
    confirmation_error.reset();
    break;
  }
  if (confirmation_error) return *confirmation_error;
  id.in_response_to = !confirmed_irt.empty() ? confirmed_irt : resp_irt.value_or("");
  if (id.in_response_to.empty() && !expect.allow_idp_initiated)
    return Reject("in_response_to", "Unsolicited responses are not allowed for this connection.");

  // Conditions: time window and our audience.
  xmlNode* conditions = Child(assertion, kNsAssertion, "Conditions");
  if (!conditions) return Reject("audience", "The Assertion has no Conditions.");
  auto nb = TimeAttr(conditions, "NotBefore", bad_time);
  auto nooa = TimeAttr(conditions, "NotOnOrAfter", bad_time);
  if (bad_time) return Reject("malformed", "A time in Conditions is unreadable.");
  if (nb && now + skew < *nb) return Reject("not_yet_valid", "The assertion is not yet valid.");
  if (nooa && now - skew >= *nooa) return Reject("expired", "The assertion has expired.");
  if (nooa) not_after = std::min(not_after, *nooa);
  auto restrictions = Children(conditions, kNsAssertion, "AudienceRestriction");
  if (restrictions.empty()) return Reject("audience", "The Assertion has no AudienceRestriction.");
  for (xmlNode* r : restrictions) {  // each restriction must name us (SAML core 2.5.1.4)
    bool ours = false;
    for (xmlNode* a : Children(r, kNsAssertion, "Audience")) {
      auto text = FullText(a);
      if (text && Trim(*text) == expect.sp_entity_id) ours = true;
    }
    if (!ours) return Reject("audience", "The Audience is not our entity id.");
  }
  id.not_on_or_after_unix = not_after;

  // Session index and attributes, from this (verified) assertion only.
  auto authn = Children(assertion, kNsAssertion, "AuthnStatement");
  if (!authn.empty()) {
    id.session_index = Attr(authn[0], "SessionIndex").value_or("");
    bool bad = false;
    auto session_end = TimeAttr(authn[0], "SessionNotOnOrAfter", bad);
    if (bad) return Reject("malformed", "SessionNotOnOrAfter is unreadable.");
    if (session_end && now - skew >= *session_end)
      return Reject("expired", "The IdP session has ended.");
  }
  for (xmlNode* st : Children(assertion, kNsAssertion, "AttributeStatement"))
    for (xmlNode* a : Children(st, kNsAssertion, "Attribute")) {
      auto name = Attr(a, "Name");
      if (!name || name->empty()) continue;
      auto& values = id.attributes[*name];
      // A structured value (an eduPersonTargetedID holding a NameID, say) is not a string we
      // map roles from: it is left out rather than flattened.
      for (xmlNode* v : Children(a, kNsAssertion, "AttributeValue"))
        if (auto text = FullText(v)) values.push_back(Trim(*text));
    }
  return id;
}

}  // namespace

Result<SamlIdentity> VerifySamlResponse(std::string_view b64, const SamlExpectations& expect,
                                        int64_t now) {
  EnsureSamlLibraries();
  if (b64.size() > kMaxSamlResponseBase64)
    return Reject("too_large", "The SAMLResponse is larger than 256 KiB.");
  auto bytes = Base64Decode(b64);
  if (!bytes) return Reject("malformed", "The SAMLResponse is not base64.");
  ParseFailure failure;
  DocPtr doc = ParseUntrusted(*bytes, failure);
  if (failure == ParseFailure::kDoctype) return Reject("doctype", "A DOCTYPE is not accepted.");
  if (failure == ParseFailure::kTooDeep) return Reject("too_deep", "The XML is nested too deep.");
  if (!doc) return Reject("malformed", "The SAMLResponse is not well-formed XML.");
  xmlNode* response = xmlDocGetRootElement(doc.get());
  if (!Is(response, kNsProtocol, "Response") || Attr(response, "Version") != "2.0")
    return Reject("not_a_response", "The document is not a SAML 2.0 Response.");

  // Whole-document checks: IDs unique (any attribute named ID/Id/id or xml:id), exactly one
  // Assertion anywhere, no EncryptedAssertion. A second assertion hidden in Extensions, an
  // Object or another assertion is a signature-wrapping attempt.
  std::set<std::string> ids;
  bool duplicate = false;
  int assertions = 0, encrypted = 0;
  Walk(response, [&](xmlNode* n) {
    if (Is(n, kNsAssertion, "Assertion")) ++assertions;
    if (Is(n, kNsAssertion, "EncryptedAssertion")) ++encrypted;
    for (xmlAttr* a = n->properties; a; a = a->next) {
      std::string name = Str(a->name);
      if (name != "ID" && name != "Id" && name != "id") continue;
      xmlChar* v = xmlNodeListGetString(n->doc, a->children, 1);
      std::string value = v ? Str(v) : "";
      xmlFree(v);
      if (!ids.insert(value).second) duplicate = true;
    }
  });
  if (duplicate) return Reject("duplicate_id", "Two elements share an ID.");
  if (encrypted) return Reject("encrypted_assertion", "Encrypted assertions are not supported.");
  if (assertions != 1) return Reject("assertion_count", "Expected exactly one Assertion.");
  xmlNode* assertion = Child(response, kNsAssertion, "Assertion");
  if (!assertion) return Reject("assertion_count", "The Assertion is not a child of the Response.");

  // Response-level checks that need no signature to refuse.
  if (auto dest = Attr(response, "Destination"); dest && *dest != expect.acs_url)
    return Reject("destination", "The Destination is not our ACS URL.");
  xmlNode* status = Child(response, kNsProtocol, "Status");
  if (Attr(Child(status, kNsProtocol, "StatusCode"), "Value") != kStatusSuccess)
    return Reject("status", "The IdP did not answer Success.");
  if (auto e = CheckIssuer(response, expect.idp_entity_id, false)) return *e;

  // Signatures: direct children only. Every one present must verify; one must cover the
  // assertion (its own, or the Response's, which encloses it).
  auto resp_sigs = Children(response, kNsDsig, "Signature");
  auto asrt_sigs = Children(assertion, kNsDsig, "Signature");
  if (resp_sigs.size() > 1 || asrt_sigs.size() > 1)
    return Reject("signature_invalid", "More than one Signature on one element.");
  if (resp_sigs.empty() && asrt_sigs.empty())
    return Reject("signature_missing", "Neither the Response nor the Assertion is signed.");
  if (expect.idp_certificates_pem.empty())
    return Reject("no_certificate", "No IdP certificate is configured.");
  std::vector<KeyPtr> keys;
  for (const auto& pem : expect.idp_certificates_pem)
    if (auto k = KeyFromCertificate(pem)) keys.push_back(std::move(k));
  if (keys.empty()) return Reject("no_certificate", "The configured certificate is unreadable.");
  // The assertion's signature first: verifying the Response's enveloped signature does not
  // change the tree, but checking the inner one first keeps the order independent of that.
  if (!asrt_sigs.empty())
    if (auto e = VerifySignature(doc.get(), assertion, asrt_sigs[0], keys)) return *e;
  if (!resp_sigs.empty())
    if (auto e = VerifySignature(doc.get(), response, resp_sigs[0], keys)) return *e;

  int64_t skew = std::clamp<int64_t>(expect.clock_skew_seconds, 0, kMaxClockSkewSeconds);
  return CheckAssertion(response, assertion, expect, now, skew);
}

}  // namespace gh::sso
