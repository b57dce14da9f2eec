#include "sso/saml.h"

#include "core/validation.h"

#include <libxml/parser.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/xmlsec.h>

#include <algorithm>
#include <stdexcept>

#include "sso/saml_xml.h"

namespace gh::sso {
using namespace xml;  // NOLINT: this file's vocabulary
namespace {
std::once_flag g_init;

}  // namespace

void EnsureSamlLibraries() {
  std::call_once(g_init, [] {
    xmlInitParser();
    if (xmlSecInit() < 0) throw std::runtime_error("xmlSecInit failed");
    if (xmlSecCheckVersion() != 1) throw std::runtime_error("xmlsec version mismatch");
    if (xmlSecCryptoAppInit(nullptr) < 0) throw std::runtime_error("xmlSecCryptoAppInit failed");
    if (xmlSecCryptoInit() < 0) throw std::runtime_error("xmlSecCryptoInit failed");
    // xmlsec prints every failed check to stderr by default; a forged response would then
    // write attacker-chosen volume to our logs. The reason code we return says enough.
    xmlSecErrorsSetCallback(
        [](const char*, int, const char*, const char*, const char*, int, const char*) {});
  });
}

// ---- AuthnRequest ---------------------------------------------------------------------------
std::string NewSamlRequestId() {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
  static const char* hex = "0123456789abcdef";
  std::string id = "_";
  for (unsigned char c : raw) {
    id += hex[c >> 4];
    id += hex[c & 15];
  }
  return id;
}

AuthnRequest BuildAuthnRequest(const AuthnRequestParams& p) {
  AuthnRequest out;
  out.xml = std::string("<samlp:AuthnRequest xmlns:samlp=\"") + kNsProtocol + "\" xmlns:saml=\"" +
            kNsAssertion + "\" ID=\"" + XmlEscape(p.request_id) +
            "\" Version=\"2.0\" IssueInstant=\"" + IsoTime(p.now_unix) + "\" Destination=\"" +
            XmlEscape(p.idp_sso_url) + "\" ProtocolBinding=\"" + kBindingPost +
            "\" AssertionConsumerServiceURL=\"" + XmlEscape(p.acs_url) + "\"><saml:Issuer>" +
            XmlEscape(p.sp_entity_id) + "</saml:Issuer><samlp:NameIDPolicy Format=\"" +
            kNameIdEmail + "\" AllowCreate=\"true\"/></samlp:AuthnRequest>";
  std::string query = "SAMLRequest=" + validation::PercentEncode(Base64Encode(RawDeflate(out.xml)));
  if (!p.relay_state.empty()) query += "&RelayState=" + validation::PercentEncode(p.relay_state);
  out.redirect_url =
      p.idp_sso_url + (p.idp_sso_url.find('?') == std::string::npos ? "?" : "&") + query;
  return out;
}

std::string SpMetadataXml(std::string_view entity_id, std::string_view acs_url) {
  return std::string(
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<md:EntityDescriptor xmlns:md=\"") +
         kNsMetadata + "\" entityID=\"" + XmlEscape(entity_id) +
         "\">\n  <md:SPSSODescriptor AuthnRequestsSigned=\"false\" WantAssertionsSigned=\"true\" "
         "protocolSupportEnumeration=\"" +
         kNsProtocol + "\">\n    <md:NameIDFormat>" + kNameIdEmail +
         "</md:NameIDFormat>\n    <md:AssertionConsumerService Binding=\"" + kBindingPost +
         "\" Location=\"" + XmlEscape(acs_url) +
         "\" index=\"0\" isDefault=\"true\"/>\n  </md:SPSSODescriptor>\n</md:EntityDescriptor>\n";
}

// ---- IdP metadata ---------------------------------------------------------------------------
namespace {

// base64 DER (as in ds:X509Certificate) to PEM; nullopt unless it is a certificate.
std::optional<std::string> CertificatePem(const std::string& b64) {
  auto der = Base64Decode(b64);
  if (!der) return std::nullopt;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der->data());
  X509* cert = d2i_X509(nullptr, &p, static_cast<long>(der->size()));
  if (!cert) return std::nullopt;
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  X509_free(cert);
  return pem;
}

}  // namespace

Result<IdpMetadata> ParseIdpMetadata(std::string_view xml) {
  EnsureSamlLibraries();
  if (xml.size() > 1024 * 1024)
    return Error::Invalid("metadata_invalid", "idp_metadata_xml", "The metadata is over 1 MiB.");
  ParseFailure failure;
  DocPtr doc = ParseUntrusted(xml, failure);
  if (failure == ParseFailure::kDoctype)
    return Error::Invalid("metadata_doctype", "idp_metadata_xml", "A DOCTYPE is not accepted.");
  if (!doc)
    return Error::Invalid("metadata_invalid", "idp_metadata_xml", "The metadata is not XML.");
  xmlNode* entity = xmlDocGetRootElement(doc.get());
  if (Is(entity, kNsMetadata, "EntitiesDescriptor")) {
    xmlNode* found = nullptr;
    for (xmlNode* e : Children(entity, kNsMetadata, "EntityDescriptor"))
      if (!Children(e, kNsMetadata, "IDPSSODescriptor").empty()) {
        found = e;
        break;
      }
    entity = found;
  }
  if (!Is(entity, kNsMetadata, "EntityDescriptor"))
    return Error::Invalid("metadata_no_idp", "idp_metadata_xml", "No EntityDescriptor.");
  auto idps = Children(entity, kNsMetadata, "IDPSSODescriptor");
  if (idps.empty())
    return Error::Invalid("metadata_no_idp", "idp_metadata_xml", "No IDPSSODescriptor.");
  IdpMetadata out;
  out.entity_id = Attr(entity, "entityID").value_or("");
  if (out.entity_id.empty())
    return Error::Invalid("metadata_invalid", "idp_metadata_xml", "No entityID.");
  xmlNode* idp = idps[0];
  for (xmlNode* sso : Children(idp, kNsMetadata, "SingleSignOnService"))
    if (Attr(sso, "Binding") == kBindingRedirect) {
      out.sso_url = Attr(sso, "Location").value_or("");
      break;
    }
  if (out.sso_url.empty())
    return Error::Invalid("metadata_no_sso_url", "idp_metadata_xml",
                          "No SingleSignOnService with the HTTP-Redirect binding.");
  for (xmlNode* kd : Children(idp, kNsMetadata, "KeyDescriptor")) {
    auto use = Attr(kd, "use");
    if (use && *use != "signing") continue;
    for (xmlNode* ki : Children(kd, kNsDsig, "KeyInfo"))
      for (xmlNode* xd : Children(ki, kNsDsig, "X509Data"))
        for (xmlNode* xc : Children(xd, kNsDsig, "X509Certificate")) {
          auto text = FullText(xc);
          auto pem = text ? CertificatePem(*text) : std::nullopt;
          if (!pem)
            return Error::Invalid("metadata_invalid", "idp_metadata_xml",
                                  "An X509Certificate is not a certificate.");
          if (std::find(out.certificates.begin(), out.certificates.end(), *pem) ==
              out.certificates.end())
            out.certificates.push_back(*pem);
        }
  }
  if (out.certificates.empty())
    return Error::Invalid("metadata_no_certificate", "idp_metadata_xml", "No signing certificate.");
  return out;
}

// ---- Replay cache ---------------------------------------------------------------------------
void SamlReplayCache::Expire(int64_t now_unix) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first < now_unix) {
    auto it = expiry_.find(by_expiry_.begin()->second);
    if (it != expiry_.end() && it->second == by_expiry_.begin()->first) expiry_.erase(it);
    by_expiry_.erase(by_expiry_.begin());
  }
}

bool SamlReplayCache::Remember(const std::string& id, int64_t not_on_or_after, int64_t now) {
  std::lock_guard lock(mu_);
  Expire(now);
  if (expiry_.count(id)) return false;
  if (expiry_.size() >= capacity_) return false;
  int64_t until = not_on_or_after + kMaxClockSkewSeconds;
  expiry_.emplace(id, until);
  by_expiry_.emplace(until, id);
  return true;
}

size_t SamlReplayCache::size() const {
  std::lock_guard lock(mu_);
  return expiry_.size();
}

}  // namespace gh::sso
