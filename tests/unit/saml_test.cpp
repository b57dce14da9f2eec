// SAML responses generated here, signed in-process with xmlsec by throwaway keys, then bent
// the way attackers bend them. Each refusal is checked with its reason code.
#include "sso/saml.h"

#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/valid.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <xmlsec/crypto.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <zlib.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace gh::sso {
namespace {

constexpr int64_t kNow = 1'800'000'000;  // 2027-01-15T08:00:00Z
const std::string kIdp = "https://idp.example.org/metadata";
const std::string kSp = "https://gatehouse.example.com/v1/sso/saml/sso_1/metadata";
const std::string kAcs = "https://gatehouse.example.com/v1/sso/saml/sso_1/acs";
const std::string kRequestId = "_0123456789abcdef0123456789abcdef";

struct KeyPair {
  std::string key_pem, cert_pem, cert_b64;
};

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string s(data, static_cast<size_t>(len));
  BIO_free(bio);
  return s;
}

KeyPair MakeKeyPair(const char* cn) {
  EVP_PKEY* pkey = EVP_RSA_gen(2048);
  X509* x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365 * 20);
  X509_set_pubkey(x, pkey);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_sign(x, pkey, EVP_sha256());
  KeyPair kp;
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  kp.key_pem = BioString(b);
  b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  kp.cert_pem = BioString(b);
  unsigned char* der = nullptr;
  int len = i2d_X509(x, &der);
  std::string out(4 * ((static_cast<size_t>(len) + 2) / 3) + 1, '\0');
  out.resize(
      static_cast<size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), der, len)));
  kp.cert_b64 = out;
  OPENSSL_free(der);
  X509_free(x);
  EVP_PKEY_free(pkey);
  return kp;
}

const KeyPair& IdpKey() {
  static const KeyPair kp = MakeKeyPair("idp.example.org");
  return kp;
}
const KeyPair& AttackerKey() {
  static const KeyPair kp = MakeKeyPair("idp.example.org");  // same name, other key
  return kp;
}

std::string B64(std::string_view s) {
  std::string out(4 * ((s.size() + 2) / 3) + 1, '\0');
  out.resize(static_cast<size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                                 reinterpret_cast<const unsigned char*>(s.data()),
                                                 static_cast<int>(s.size()))));
  return out;
}

std::string Iso(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

struct Fields {
  std::string response_id = "_resp1";
  std::string assertion_id = "_asrt1";
  std::string issuer = kIdp;
  std::string audience = kSp;
  std::string recipient = kAcs;
  std::string destination = kAcs;
  std::string in_response_to = kRequestId;
  std::string name_id = "ada@acme.com";
  int64_t not_before = kNow - 60;
  int64_t not_on_or_after = kNow + 300;
  std::string status = "urn:oasis:names:tc:SAML:2.0:status:Success";
};

std::string ResponseXml(const Fields& f) {
  std::string irt = f.in_response_to.empty() ? "" : " InResponseTo=\"" + f.in_response_to + "\"";
  return "<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "
         "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"" +
         f.response_id + "\" Version=\"2.0\" IssueInstant=\"" + Iso(kNow) + "\" Destination=\"" +
         f.destination + "\"" + irt + "><saml:Issuer>" + f.issuer +
         "</saml:Issuer><samlp:Status><samlp:StatusCode Value=\"" + f.status +
         "\"/></samlp:Status><saml:Assertion ID=\"" + f.assertion_id +
         "\" Version=\"2.0\" IssueInstant=\"" + Iso(kNow) + "\"><saml:Issuer>" + f.issuer +
         "</saml:Issuer><saml:Subject><saml:NameID "
         "Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\">" +
         f.name_id +
         "</saml:NameID><saml:SubjectConfirmation Method=\"urn:oasis:names:tc:SAML:2.0:cm:bearer\">"
         "<saml:SubjectConfirmationData NotOnOrAfter=\"" +
         Iso(f.not_on_or_after) + "\" Recipient=\"" + f.recipient + "\"" + irt +
         "/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore=\"" +
         Iso(f.not_before) + "\" NotOnOrAfter=\"" + Iso(f.not_on_or_after) +
         "\"><saml:AudienceRestriction><saml:Audience>" + f.audience +
         "</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement "
         "AuthnInstant=\"" +
         Iso(kNow) +
         "\" SessionIndex=\"_sess1\"><saml:AuthnContext><saml:AuthnContextClassRef>"
         "urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></"
         "saml:AuthnContext>"
         "</saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name=\"groups\">"
         "<saml:AttributeValue>eng</saml:AttributeValue><saml:AttributeValue>admins</"
         "saml:AttributeValue>"
         "</saml:Attribute><saml:Attribute "
         "Name=\"first_name\"><saml:AttributeValue>Ada</saml:AttributeValue>"
         "</saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>";
}

enum class Signed { kAssertion, kResponse, kBoth };

struct SignOptions {
  const KeyPair* key = nullptr;
  bool embed_cert = false;
  bool sha1 = false;
};

// Signs the element with the given ID (enveloped, exc-c14n), the Signature right after Issuer.
void SignElement(xmlDoc* doc, const char* local_name, const SignOptions& o) {
  xmlNode* target = xmlDocGetRootElement(doc);
  if (std::strcmp(local_name, "Assertion") == 0)
    for (xmlNode* c = target->children; c; c = c->next)
      if (c->type == XML_ELEMENT_NODE &&
          std::strcmp(reinterpret_cast<const char*>(c->name), "Assertion") == 0)
        target = c;
  xmlAttr* id_attr = xmlHasNsProp(target, BAD_CAST "ID", nullptr);
  xmlChar* id = xmlNodeListGetString(doc, id_attr->children, 1);
  xmlAddID(nullptr, doc, id, id_attr);
  xmlNode* sig = xmlSecTmplSignatureCreateNsPref(
      doc, xmlSecTransformExclC14NId,
      o.sha1 ? xmlSecTransformRsaSha1Id : xmlSecTransformRsaSha256Id, nullptr, BAD_CAST "ds");
  xmlNode* issuer = target->children;
  xmlAddNextSibling(issuer, sig);
  std::string uri = std::string("#") + reinterpret_cast<const char*>(id);
  xmlFree(id);
  xmlNode* ref =
      xmlSecTmplSignatureAddReference(sig, o.sha1 ? xmlSecTransformSha1Id : xmlSecTransformSha256Id,
                                      nullptr, BAD_CAST uri.c_str(), nullptr);
  xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId);
  xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId);
  if (o.embed_cert) xmlSecTmplKeyInfoAddX509Data(xmlSecTmplSignatureEnsureKeyInfo(sig, nullptr));
  xmlSecDSigCtx* ctx = xmlSecDSigCtxCreate(nullptr);
  ctx->signKey = xmlSecCryptoAppKeyLoadMemory(
      reinterpret_cast<const xmlSecByte*>(o.key->key_pem.data()), o.key->key_pem.size(),
      xmlSecKeyDataFormatPem, nullptr, nullptr, nullptr);
  ASSERT_NE(ctx->signKey, nullptr);
  if (o.embed_cert) {
    ASSERT_EQ(xmlSecCryptoAppKeyCertLoadMemory(
                  ctx->signKey, reinterpret_cast<const xmlSecByte*>(o.key->cert_pem.data()),
                  o.key->cert_pem.size(), xmlSecKeyDataFormatCertPem),
              0);
  }
  ASSERT_EQ(xmlSecDSigCtxSign(ctx, sig), 0);
  xmlSecDSigCtxDestroy(ctx);
}

std::string Sign(const std::string& xml, Signed which, SignOptions o = {}) {
  EnsureSamlLibraries();
  if (!o.key) o.key = &IdpKey();
  xmlDoc* doc = xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "t.xml", nullptr, 0);
  EXPECT_NE(doc, nullptr);
  if (which != Signed::kResponse) SignElement(doc, "Assertion", o);
  if (which != Signed::kAssertion) SignElement(doc, "Response", o);
  xmlChar* out = nullptr;
  int len = 0;
  xmlDocDumpMemory(doc, &out, &len);
  std::string s(reinterpret_cast<const char*>(out), static_cast<size_t>(len));
  xmlFree(out);
  xmlFreeDoc(doc);
  return s;
}

SamlExpectations Expect() {
  SamlExpectations e;
  e.idp_certificates_pem = {IdpKey().cert_pem};
  e.idp_entity_id = kIdp;
  e.sp_entity_id = kSp;
  e.acs_url = kAcs;
  e.request_id = kRequestId;
  return e;
}

Result<SamlIdentity> Verify(const std::string& xml, SamlExpectations e = Expect(),
                            int64_t now = kNow) {
  return VerifySamlResponse(B64(xml), e, now);
}

// The reason of a refusal, or "accepted".
std::string Reason(const Result<SamlIdentity>& r) { return r ? "accepted" : r.error().code; }

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  auto at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

// The Assertion element's text, from "<saml:Assertion" to its end tag.
std::string AssertionOf(const std::string& xml) {
  auto b = xml.find("<saml:Assertion");
  auto e = xml.find("</saml:Assertion>") + std::strlen("</saml:Assertion>");
  return xml.substr(b, e - b);
}

std::string EvilAssertion(const std::string& id = "_evil") {
  Fields f;
  f.assertion_id = id;
  f.name_id = "mallory@acme.com";
  return AssertionOf(ResponseXml(f));
}

// ---- accepted ---------------------------------------------------------------------------------
TEST(SamlResponse, AcceptsAnAssertionSignedByTheConfiguredKey) {
  auto r = Verify(Sign(ResponseXml({}), Signed::kAssertion));
  ASSERT_TRUE(r) << r.error().code << ": " << r.error().message;
  EXPECT_EQ(r->name_id, "ada@acme.com");
  EXPECT_EQ(r->name_id_format, "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress");
  EXPECT_EQ(r->session_index, "_sess1");
  EXPECT_EQ(r->assertion_id, "_asrt1");
  EXPECT_EQ(r->in_response_to, kRequestId);
  EXPECT_EQ(r->not_on_or_after_unix, kNow + 300);
  EXPECT_EQ(r->attributes["groups"], (std::vector<std::string>{"eng", "admins"}));
  EXPECT_EQ(r->attributes["first_name"], (std::vector<std::string>{"Ada"}));
}

TEST(SamlResponse, AcceptsAResponseSignatureCoveringTheAssertion) {
  auto r = Verify(Sign(ResponseXml({}), Signed::kResponse));
  ASSERT_TRUE(r) << r.error().code << ": " << r.error().message;
  EXPECT_EQ(r->name_id, "ada@acme.com");
}

TEST(SamlResponse, AcceptsBothSigned) {
  EXPECT_EQ(Reason(Verify(Sign(ResponseXml({}), Signed::kBoth))), "accepted");
}

TEST(SamlResponse, AcceptsAnyOfSeveralConfiguredCertificates) {
  auto e = Expect();
  e.idp_certificates_pem = {AttackerKey().cert_pem, IdpKey().cert_pem};
  EXPECT_EQ(Reason(Verify(Sign(ResponseXml({}), Signed::kAssertion), e)), "accepted");
}

TEST(SamlResponse, IdpInitiatedOnlyWhenAllowed) {
  Fields f;
  f.in_response_to = "";
  auto xml = Sign(ResponseXml(f), Signed::kAssertion);
  EXPECT_EQ(Reason(Verify(xml)), "in_response_to");
  auto e = Expect();
  e.allow_idp_initiated = true;
  e.request_id = "";
  EXPECT_EQ(Reason(Verify(xml, e)), "accepted");
  // A response to some request is still matched against the outstanding one.
  EXPECT_EQ(Reason(Verify(Sign(ResponseXml({}), Signed::kAssertion), e)), "in_response_to");
}

// ---- signature ----------------------------------------------------------------------------------
TEST(SamlResponse, RefusesATamperedNameId) {
  auto xml = Replace(Sign(ResponseXml({}), Signed::kAssertion), "ada@acme.com", "eve@acme.com");
  EXPECT_EQ(Reason(Verify(xml)), "signature_invalid");
  xml = Replace(Sign(ResponseXml({}), Signed::kResponse), "ada@acme.com", "eve@acme.com");
  EXPECT_EQ(Reason(Verify(xml)), "signature_invalid");
}

TEST(SamlResponse, RefusesMissingAndStrippedSignatures) {
  EXPECT_EQ(Reason(Verify(ResponseXml({}))), "signature_missing");
  auto xml = Sign(ResponseXml({}), Signed::kAssertion);
  auto b = xml.find("<ds:Signature");
  auto e = xml.find("</ds:Signature>") + std::strlen("</ds:Signature>");
  xml.erase(b, e - b);
  EXPECT_EQ(Reason(Verify(xml)), "signature_missing");
}

TEST(SamlResponse, RefusesAnEmptiedSignatureValue) {
  auto xml = Sign(ResponseXml({}), Signed::kAssertion);
  auto b = xml.find("<ds:SignatureValue>") + std::strlen("<ds:SignatureValue>");
  auto e = xml.find("</ds:SignatureValue>");
  xml.replace(b, e - b, "AAAA");
  EXPECT_EQ(Reason(Verify(xml)), "signature_invalid");
}

TEST(SamlResponse, RefusesAnAttackerKeyEvenWithItsCertificateEmbedded) {
  SignOptions o{&AttackerKey(), true, false};
  auto xml = Sign(ResponseXml({}), Signed::kAssertion, o);
  ASSERT_NE(xml.find("<ds:X509Certificate>"), std::string::npos);
  EXPECT_EQ(Reason(Verify(xml)), "signature_invalid");
  EXPECT_EQ(Reason(Verify(Sign(ResponseXml({}), Signed::kResponse, o))), "signature_invalid");
  // The same with our key and the attacker's certificate embedded verifies: KeyInfo is unused.
  auto e = Expect();
  e.idp_certificates_pem = {AttackerKey().cert_pem};
  EXPECT_EQ(Reason(Verify(xml, e)), "accepted");
}

TEST(SamlResponse, RefusesSha1) {
  SignOptions o{&IdpKey(), false, true};
  EXPECT_EQ(Reason(Verify(Sign(ResponseXml({}), Signed::kAssertion, o))), "signature_algorithm");
}

TEST(SamlResponse, RefusesAReferenceToAnotherElement) {
  auto xml = Sign(ResponseXml({}), Signed::kAssertion);
  xml = Replace(xml, "URI=\"#_asrt1\"", "URI=\"#_resp1\"");
  EXPECT_EQ(Reason(Verify(xml)), "signature_reference");
  xml = Replace(Sign(ResponseXml({}), Signed::kAssertion), "URI=\"#_asrt1\"", "URI=\"\"");
  EXPECT_EQ(Reason(Verify(xml)), "signature_reference");
}

TEST(SamlResponse, RefusesOtherTransforms) {
  auto xml = Sign(ResponseXml({}), Signed::kAssertion);
  xml = Replace(xml, "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
                "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\"/>");
  EXPECT_EQ(Reason(Verify(xml)), "signature_transform");
}

TEST(SamlResponse, RefusesNoConfiguredCertificate) {
  auto e = Expect();
  e.idp_certificates_pem.clear();
  EXPECT_EQ(Reason(Verify(Sign(ResponseXml({}), Signed::kAssertion), e)), "no_certificate");
}

TEST(SamlResponse, EverySignaturePresentMustVerify) {
  // The assertion signed by the IdP, the Response around it by an attacker: refused.
  auto xml = Sign(ResponseXml({}), Signed::kAssertion);
  SignOptions attacker{&AttackerKey(), true, false};
  EXPECT_EQ(Reason(Verify(Sign(xml, Signed::kResponse, attacker))), "signature_invalid");
}

TEST(SamlResponse, VerifiesFromSeveralThreadsAtOnce) {
  const auto good = B64(Sign(ResponseXml({}), Signed::kAssertion));
  const auto bad = B64(Replace(Sign(ResponseXml({}), Signed::kAssertion), "ada@", "eve@"));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (!VerifySamlResponse(good, Expect(), kNow)) ++wrong;
        if (VerifySamlResponse(bad, Expect(), kNow)) ++wrong;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(SamlReplay, TheSameAssertionTwiceIsCaughtByTheCache) {
  SamlReplayCache cache;
  auto xml = Sign(ResponseXml({}), Signed::kAssertion);
  auto first = Verify(xml);
  ASSERT_TRUE(first);
  EXPECT_TRUE(cache.Remember(first->assertion_id, first->not_on_or_after_unix, kNow));
  auto again = Verify(xml, Expect(), kNow + 5);
  ASSERT_TRUE(again);  // still a valid signature: the replay is the caller's to refuse
  EXPECT_FALSE(cache.Remember(again->assertion_id, again->not_on_or_after_unix, kNow + 5));
}

// ---- signature wrapping -------------------------------------------------------------------------
TEST(SamlWrapping, EvilAssertionBeforeTheSignedOne) {
  auto xml = Sign(ResponseXml({}), Signed::kAssertion);
  xml = Replace(xml, "<saml:Assertion", EvilAssertion() + "<saml:Assertion");
  EXPECT_EQ(Reason(Verify(xml)), "assertion_count");
}

TEST(SamlWrapping, EvilAssertionWithTheSignedOnesId) {
  auto xml = Sign(ResponseXml({}), Signed::kAssertion);
  xml = Replace(xml, "<saml:Assertion", EvilAssertion("_asrt1") + "<saml:Assertion");
  EXPECT_EQ(Reason(Verify(xml)), "duplicate_id");
}

TEST(SamlWrapping, SignedAssertionWrappedInsideTheEvilOne) {
  auto xml = Sign(ResponseXml({}), Signed::kAssertion);
  auto signed_assertion = AssertionOf(xml);
  auto evil = EvilAssertion();
  evil = Replace(evil, "</saml:Subject>",
                 "</saml:Subject><saml:Advice>" + signed_assertion + "</saml:Advice>");
  xml = Replace(xml, signed_assertion, evil);
  EXPECT_EQ(Reason(Verify(xml)), "assertion_count");
}

TEST(SamlWrapping, SignedAssertionMovedToExtensions) {
  auto xml = Sign(ResponseXml({}), Signed::kAssertion);
  auto signed_assertion = AssertionOf(xml);
  xml = Replace(xml, signed_assertion, EvilAssertion());
  xml = Replace(xml, "<samlp:Status>",
                "<samlp:Extensions>" + signed_assertion + "</samlp:Extensions><samlp:Status>");
  EXPECT_EQ(Reason(Verify(xml)), "assertion_count");
  // Alone in Extensions, the only assertion is not the Response's.
  xml = Sign(ResponseXml({}), Signed::kAssertion);
  xml = Replace(xml, signed_assertion, "");
  xml = Replace(xml, "<samlp:Status>",
                "<samlp:Extensions>" + signed_assertion + "</samlp:Extensions><samlp:Status>");
  EXPECT_EQ(Reason(Verify(xml)), "assertion_count");
}

TEST(SamlWrapping, EvilAssertionInsideTheSignatureObject) {
  auto xml = Sign(ResponseXml({}), Signed::kResponse);
  xml = Replace(xml, "</ds:Signature>",
                "<ds:Object>" + EvilAssertion() + "</ds:Object></ds:Signature>");
  EXPECT_EQ(Reason(Verify(xml)), "assertion_count");
}

TEST(SamlWrapping, SignedResponseWrappedInAnEvilResponse) {
  auto signed_response = Sign(ResponseXml({}), Signed::kResponse);
  signed_response = signed_response.substr(signed_response.find("<samlp:Response"));
  Fields f;
  f.response_id = "_evilresp";
  f.assertion_id = "_evil";
  f.name_id = "mallory@acme.com";
  auto evil = Replace(ResponseXml(f), "<samlp:Status>",
                      "<samlp:Extensions>" + signed_response + "</samlp:Extensions><samlp:Status>");
  EXPECT_EQ(Reason(Verify(evil)), "assertion_count");
}

TEST(SamlWrapping, DuplicateIdsAnywhereAreRefused) {
  auto xml = Sign(ResponseXml({}), Signed::kResponse);
  xml = Replace(xml, "<samlp:Status>",
                "<samlp:Extensions><x:Thing xmlns:x=\"urn:x\" "
                "ID=\"_resp1\"/></samlp:Extensions><samlp:Status>");
  EXPECT_EQ(Reason(Verify(xml)), "duplicate_id");
}

TEST(SamlWrapping, CommentInNameIdDoesNotTruncateIt) {
  Fields f;
  f.name_id = "admin@evil.com.victim.com";
  auto xml = Sign(ResponseXml(f), Signed::kAssertion);
  xml = Replace(xml, "admin@evil.com.victim.com", "admin@evil.com<!---->.victim.com");
  auto r = Verify(xml);
  // exc-c14n drops the comment, so the signature still verifies: the value must be whole.
  ASSERT_TRUE(r) << r.error().code;
  EXPECT_EQ(r->name_id, "admin@evil.com.victim.com");
}

// ---- conditions ---------------------------------------------------------------------------------
TEST(SamlConditions, ExpiredAndNotYetValidWithTwoMinutesOfSkew) {
  auto xml = Sign(ResponseXml({}), Signed::kAssertion);
  EXPECT_EQ(Reason(Verify(xml, Expect(), kNow + 300 + 119)), "accepted");
  EXPECT_EQ(Reason(Verify(xml, Expect(), kNow + 300 + 120)), "expired");
  EXPECT_EQ(Reason(Verify(xml, Expect(), kNow - 60 - 120)), "accepted");
  EXPECT_EQ(Reason(Verify(xml, Expect(), kNow - 60 - 121)), "not_yet_valid");
  auto e = Expect();
  e.clock_skew_seconds = 3600;  // clamped to 120
  EXPECT_EQ(Reason(Verify(xml, e, kNow + 300 + 600)), "expired");
}

TEST(SamlConditions, WrongAudienceRecipientIssuerDestinationInResponseTo) {
  Fields f;
  f.audience = "https://other-sp.example.com";
  EXPECT_EQ(Reason(Verify(Sign(ResponseXml(f), Signed::kAssertion))), "audience");
  f = {};
  f.recipient = "https://other-sp.example.com/acs";
  EXPECT_EQ(Reason(Verify(Sign(ResponseXml(f), Signed::kAssertion))), "recipient");
  f = {};
  f.issuer = "https://evil-idp.example.com";
  EXPECT_EQ(Reason(Verify(Sign(ResponseXml(f), Signed::kAssertion))), "issuer");
  f = {};
  f.destination = "https://other-sp.example.com/acs";
  EXPECT_EQ(Reason(Verify(Sign(ResponseXml(f), Signed::kAssertion))), "destination");
  f = {};
  f.in_response_to = "_someoneelses";
  EXPECT_EQ(Reason(Verify(Sign(ResponseXml(f), Signed::kAssertion))), "in_response_to");
  f = {};
  f.status = "urn:oasis:names:tc:SAML:2.0:status:Requester";
  EXPECT_EQ(Reason(Verify(Sign(ResponseXml(f), Signed::kAssertion))), "status");
}

// ---- parsing ------------------------------------------------------------------------------------
TEST(SamlParsing, RefusesDoctypeXxeAndBillionLaughs) {
  std::string xxe =
      "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>" +
      ResponseXml({});
  EXPECT_EQ(Reason(Verify(xxe)), "doctype");
  std::string lol = "<!DOCTYPE r [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]><r>&b;</r>";
  EXPECT_EQ(Reason(Verify(lol)), "doctype");
  EXPECT_EQ(Reason(Verify("<!DOCTYPE samlp:Response SYSTEM \"http://attacker/x.dtd\">" +
                          ResponseXml({}))),
            "doctype");
}

TEST(SamlParsing, RefusesOversizeDeepAndGarbage) {
  std::string big(kMaxSamlResponseBase64 + 4, 'A');
  EXPECT_EQ(Reason(VerifySamlResponse(big, Expect(), kNow)), "too_large");
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "<a>";
  for (int i = 0; i < 100; ++i) deep += "</a>";
  EXPECT_EQ(Reason(Verify(deep)), "too_deep");
  EXPECT_EQ(Reason(VerifySamlResponse("not base64!", Expect(), kNow)), "malformed");
  EXPECT_EQ(Reason(Verify("<samlp:Response")), "malformed");
  EXPECT_EQ(Reason(Verify("<x/>")), "not_a_response");
}

// ---- replay cache -------------------------------------------------------------------------------
TEST(SamlReplay, EachAssertionIdOnceUntilItExpires) {
  SamlReplayCache cache(2);
  EXPECT_TRUE(cache.Remember("_a", kNow + 300, kNow));
  EXPECT_FALSE(cache.Remember("_a", kNow + 300, kNow + 10));
  EXPECT_TRUE(cache.Remember("_b", kNow + 300, kNow));
  EXPECT_FALSE(cache.Remember("_c", kNow + 300, kNow));  // full: fail closed
  // Past NotOnOrAfter plus skew, entries are forgotten (the assertion is refused as expired
  // anyway).
  EXPECT_TRUE(cache.Remember("_c", kNow + 900, kNow + 300 + kMaxClockSkewSeconds + 1));
  EXPECT_EQ(cache.size(), 1u);
}

// ---- AuthnRequest and metadata --------------------------------------------------------------
std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

TEST(SamlAuthnRequest, RedirectBindingDeflatesAndEncodes) {
  AuthnRequestParams p{
      NewSamlRequestId(), kSp, kAcs, "https://idp.example.org/sso?tenant=1", "rs&1", kNow};
  auto req = BuildAuthnRequest(p);
  EXPECT_NE(req.xml.find("ID=\"" + p.request_id + "\""), std::string::npos);
  EXPECT_NE(req.xml.find("AssertionConsumerServiceURL=\"" + kAcs + "\""), std::string::npos);
  EXPECT_NE(req.xml.find("<saml:Issuer>" + kSp + "</saml:Issuer>"), std::string::npos);
  EXPECT_NE(req.xml.find("IssueInstant=\"2027-01-15T08:00:00Z\""), std::string::npos);
  ASSERT_EQ(req.redirect_url.rfind("https://idp.example.org/sso?tenant=1&SAMLRequest=", 0), 0u);
  auto q = req.redirect_url.substr(req.redirect_url.find("SAMLRequest=") + 12);
  auto amp = q.find('&');
  EXPECT_EQ(q.substr(amp), "&RelayState=rs%261");
  std::string b64 = PercentDecode(q.substr(0, amp));
  std::string raw(b64.size(), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  ASSERT_GT(n, 0);
  std::string inflated(8192, '\0');
  z_stream zs{};
  ASSERT_EQ(inflateInit2(&zs, -15), Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(raw.data());
  zs.avail_in = static_cast<uInt>(n);
  zs.next_out = reinterpret_cast<Bytef*>(inflated.data());
  zs.avail_out = static_cast<uInt>(inflated.size());
  EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  inflated.resize(zs.total_out);
  inflateEnd(&zs);
  EXPECT_EQ(inflated, req.xml);
}

TEST(SamlMetadata, SpMetadataNamesEntityAndAcs) {
  auto xml = SpMetadataXml(kSp, kAcs);
  EXPECT_NE(xml.find("entityID=\"" + kSp + "\""), std::string::npos);
  EXPECT_NE(xml.find("Location=\"" + kAcs + "\""), std::string::npos);
  EXPECT_NE(xml.find("nameid-format:emailAddress"), std::string::npos);
}

TEST(SamlMetadata, ReadsIdpMetadataAndRefusesDoctype) {
  std::string md =
      "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
      "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"" +
      kIdp +
      "\"><md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">"
      "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>\n" +
      IdpKey().cert_b64 +
      "\n</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
      "<md:KeyDescriptor use=\"encryption\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>" +
      AttackerKey().cert_b64 +
      "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
      "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" "
      "Location=\"https://idp.example.org/post\"/>"
      "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" "
      "Location=\"https://idp.example.org/redirect\"/>"
      "</md:IDPSSODescriptor></md:EntityDescriptor>";
  auto r = ParseIdpMetadata(md);
  ASSERT_TRUE(r) << r.error().code;
  EXPECT_EQ(r->entity_id, kIdp);
  EXPECT_EQ(r->sso_url, "https://idp.example.org/redirect");
  ASSERT_EQ(r->certificates.size(), 1u);
  EXPECT_EQ(r->certificates[0], IdpKey().cert_pem);
  auto bad = ParseIdpMetadata("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>" + md);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "metadata_doctype");
  // The certificates it yields verify responses.
  auto e = Expect();
  e.idp_certificates_pem = r->certificates;
  EXPECT_EQ(Reason(Verify(Sign(ResponseXml({}), Signed::kAssertion), e)), "accepted");
}

}  // namespace
}  // namespace gh::sso
