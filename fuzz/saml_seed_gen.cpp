// Writes the seed corpus of fuzz_saml_response (fuzz/corpus/saml_response/), signed with a
// key pair given on the command line; paste that certificate into kSeedCertificate of
// fuzz_saml_response.cpp. Not built by CMake; it reuses the unit tests' response builder:
//   g++ -std=c++20 -Isrc $(pkg-config --cflags xmlsec1-openssl) fuzz/saml_seed_gen.cpp \
//     build/libgh_sso.a build/libgh_core.a -lgtest $(pkg-config --libs xmlsec1-openssl) \
//     -lz -lcrypto -lsodium -o /tmp/saml_seed_gen
//   openssl req -x509 -newkey rsa:2048 -nodes -keyout k.pem -out c.pem -days 36500 -subj /CN=seed
//   /tmp/saml_seed_gen k.pem c.pem fuzz/corpus/saml_response
#include <fstream>
#include <sstream>

#include "../tests/unit/saml_test.cpp"

namespace gh::sso {
namespace {

std::string ReadFile(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Write(const std::string& dir, const std::string& name, const std::string& body) {
  std::ofstream(dir + "/" + name, std::ios::binary) << body;
}

int GenerateSeeds(const char* key_path, const char* cert_path, const std::string& dir) {
  KeyPair seed{ReadFile(key_path), ReadFile(cert_path), ""};
  SignOptions o{&seed, false, false};
  std::string assertion_signed = Sign(ResponseXml({}), Signed::kAssertion, o);
  Write(dir, "assertion_signed.xml", assertion_signed);
  Write(dir, "response_signed.xml", Sign(ResponseXml({}), Signed::kResponse, o));
  Write(dir, "both_signed.xml", Sign(ResponseXml({}), Signed::kBoth, o));
  Write(dir, "unsigned.xml", ResponseXml({}));
  SignOptions embedded{&AttackerKey(), true, false};
  Write(dir, "attacker_embedded_cert.xml", Sign(ResponseXml({}), Signed::kAssertion, embedded));
  Write(dir, "xsw_evil_first.xml",
        Replace(assertion_signed, "<saml:Assertion", EvilAssertion() + "<saml:Assertion"));
  Write(dir, "xsw_in_extensions.xml",
        Replace(Replace(assertion_signed, AssertionOf(assertion_signed), EvilAssertion()),
                "<samlp:Status>",
                "<samlp:Extensions>" + AssertionOf(assertion_signed) +
                    "</samlp:Extensions><samlp:Status>"));
  Fields f;
  f.name_id = "admin@evil.com.victim.com";
  Write(dir, "comment_in_nameid.xml",
        Replace(Sign(ResponseXml(f), Signed::kAssertion, o), "admin@evil.com.victim.com",
                "admin@evil.com<!---->.victim.com"));
  Write(dir, "doctype.xml", "<!DOCTYPE r [<!ENTITY a \"aaaa\">]><r>&a;</r>");
  Write(
      dir, "metadata.xml",
      "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
      "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" "
      "entityID=\"https://idp.example.org/metadata\">"
      "<md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">"
      "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>" +
          AttackerKey().cert_b64 +
          "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
          "<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" "
          "Location=\"https://idp.example.org/sso\"/></md:IDPSSODescriptor></md:EntityDescriptor>");
  return 0;
}

}  // namespace
}  // namespace gh::sso

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s key.pem cert.pem out_dir\n", argv[0]);
    return 2;
  }
  return gh::sso::GenerateSeeds(argv[1], argv[2], argv[3]);
}
