// SAML responses posted to the ACS. The input is the Response document; the harness
// base64-encodes it as the SAMLResponse form value would be and verifies it twice:
//  - against a certificate whose private key was thrown away: nothing may ever be accepted
//    (an accepted input is a forgery: wrapping, KeyInfo trust, a skipped check…);
//  - against the certificate that signed the seed corpus (its key is not in the repository;
//    fuzz/saml_seed_gen.cpp makes new seeds with a new pair), so that mutations reach the
//    checks after the signature; what is accepted there must be a complete identity.
#include <openssl/evp.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "sso/saml.h"

namespace {

constexpr int64_t kNow = 1'800'000'000;  // the seeds' IssueInstant (2027-01-15T08:00:00Z)
constexpr const char* kRequestId = "_0123456789abcdef0123456789abcdef";

const char kSeedCertificate[] = R"(-----BEGIN CERTIFICATE-----
MIIDEzCCAfugAwIBAgIUO/OGYsob+67mJ6lknUUvGM1gv7owDQYJKoZIhvcNAQEL
BQAwGDEWMBQGA1UEAwwNZnV6ei1zZWVkLWlkcDAgFw0yNjEyMDUxODI3NDhaGA8y
MTI2MTExMTE4Mjc0OFowGDEWMBQGA1UEAwwNZnV6ei1zZWVkLWlkcDCCASIwDQYJ
KoZIhvcNAQEBBQADggEPADCCAQoCggEBAMJ6U5goiHb65Snvol+dItR8ormUm/q2
/4QH0/Tn+grEgs6Q5d6lYM/w0vwps2vC4Sw5UlqkYVRwJSZcX+8D360HppOHss5O
nu3sAxm579031PQhcUf0zAgf/n5IqOn4RdmnMVJVSCungQJ+JCxkxf3nxWE70OrG
2jllKf8aUK865I+bj77vmM3+sGklVpkJei7LSiPnf8IM/KyBPSil4v0/z26b2D7l
ZPXE2UuRAh/mb7/7uuW9hN4ulowocqYYK1owjRzBYhB8n0sd01LabFzSJ8RrUdaP
JEcBXhfZp1zpGBrUC0rL1NgRAod307pDHNGZNiARW4D8+a2waTRTdbUCAwEAAaNT
MFEwHQYDVR0OBBYEFPawrv+U1xwcH3Sqrbn5xgdEtGWGMB8GA1UdIwQYMBaAFPaw
rv+U1xwcH3Sqrbn5xgdEtGWGMA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZIhvcNAQEL
BQADggEBAEfDfL1Q8K86CBPO18PlimvUB/IdebhEIrU+rqaAcGYMvzCcu6hsJ50N
smRHa/HiAin/RRwRCi0JTl9dmf5AnAu8nGvtzjyDiqtNV8fmHuFAfCQD0n9U+2SF
EOZ6I4S/byIeQneaRKmqZ++7uVW9WD0eYM8cqvwIcFrVujvhWs9icR/liX8ELQJi
MrSDmppCaXXtShU48VfEoYBTVkKRlBKAbHIItdzjPpy+NL5rs6MLJ8vkSVvxyC6A
I2LwrItfG30ZU3n/OCnBNwpjUroHtyS0l4DUllU7fW5fqU+HN6ANoqPojDqSiwbA
kIbypm5c2EwkI5YbIrw/KrJ66/7On5o=
-----END CERTIFICATE-----
)";
const char kUnknownCertificate[] = R"(-----BEGIN CERTIFICATE-----
MIIDGTCCAgGgAwIBAgIUKnXjPhHPUIPvxmoe3+xKpNyPzfYwDQYJKoZIhvcNAQEL
BQAwGzEZMBcGA1UEAwwQZnV6ei11bmtub3duLWlkcDAgFw0yNjEyMDUxODI3NDla
GA8yMTI2MTExMTE4Mjc0OVowGzEZMBcGA1UEAwwQZnV6ei11bmtub3duLWlkcDCC
ASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAMVoIvRrrQvuxqLMp5Gr6CWn
o4C22Xa+ugNoo2lnXdWt0wI/AotruHruXx8yREvWc5Kk3mLHQ13yEGMZN+pPO+2l
+L23i3kdRqOY2rO46ziFHM7Vubx77RQtyR5eZiLtN8ru1HavC03r4N0xzUjQULQ7
HdV2Ljo3UFIlsNl//1xwl6VOcab2P84stTNuf4oEcRQFTQeO4hv0SlKG+zu4MB1t
2nnKnUukQm4Lr05rfm/o+qWaaiOQ0c6PUslBjAoDabmsxFNh9eiKdIZg0ZcAmXmI
3zgtKUlKB/C90ruCJLoEIKVqyCxZ8Rq0C3obHoclkcZYcraNc2Ghqet1OymuFD8C
AwEAAaNTMFEwHQYDVR0OBBYEFNUcy/JrEGeYdqeQDJ6atzdB2BADMB8GA1UdIwQY
MBaAFNUcy/JrEGeYdqeQDJ6atzdB2BADMA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZI
hvcNAQELBQADggEBAF9uHzXJb6IdhWFvbkOJJ7e1VmhGIFnrUWbpxXWFq6vC4IgI
2rAad6/bnlF5f8Th7d7cuo6fR70GWc8KZH5RgneCslHaujxAs39CJzx7Z4Fljiju
p4P05TWEtJnI9qRKk+qkwp7/dfLISk9fuBEWNrW6QseytqEv/DKxbSg9r4uUIFtU
4+DyUGxNcCfscA619VXVngWy9n5pWLvVE5LY1w3eNeC82LHL3AiyTQZe+FOVTXJM
f92lP5p3vN+8If+yx+d+meUnNFtJT7fcTrhscTu7fy4EmRQ6xenkRslH2+BrsEXf
FEBQhuecq4fIB0T9b3jlcKlZb9ewaSt5AVCg76c=
-----END CERTIFICATE-----
)";

gh::sso::SamlExpectations Expect(const char* pem) {
  gh::sso::SamlExpectations e;
  e.idp_certificates_pem = {pem};
  e.idp_entity_id = "https://idp.example.org/metadata";
  e.sp_entity_id = "https://gatehouse.example.com/v1/sso/saml/sso_1/metadata";
  e.acs_url = "https://gatehouse.example.com/v1/sso/saml/sso_1/acs";
  e.request_id = kRequestId;
  return e;
}

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view xml(reinterpret_cast<const char*>(data), size);
  std::string form = Base64(xml);

  static const auto unknown = Expect(kUnknownCertificate);
  FUZZ_CHECK(!gh::sso::VerifySamlResponse(form, unknown, kNow));

  static const auto seed = Expect(kSeedCertificate);
  auto r = gh::sso::VerifySamlResponse(form, seed, kNow);
  if (r) {
    FUZZ_CHECK(!r->name_id.empty());
    FUZZ_CHECK(!r->assertion_id.empty());
    FUZZ_CHECK(r->in_response_to == kRequestId);  // allow_idp_initiated is off
    FUZZ_CHECK(r->not_on_or_after_unix > kNow - gh::sso::kMaxClockSkewSeconds);
  } else {
    FUZZ_CHECK(!r.error().code.empty());
  }
  // The raw form value too (garbage base64, whitespace), and the metadata importer.
  FUZZ_CHECK(!gh::sso::VerifySamlResponse(xml, unknown, kNow));
  auto md = gh::sso::ParseIdpMetadata(xml);
  if (md) FUZZ_CHECK(!md->certificates.empty() && !md->sso_url.empty() && !md->entity_id.empty());
  return 0;
}
