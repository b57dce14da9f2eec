"""The SSO tests' identity providers (sso_idps.py) checked on their own, without Gatehouse: the
SAML IdP answers a real pysaml2 SP's AuthnRequest with a Response whose signatures xmlsec1
verifies, and the OpenID Provider runs a whole code flow with PKCE from Python."""
import base64
import hashlib
import json
import os
import secrets
import subprocess
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from lxml import etree

from sso_idps import OidcProvider, SamlIdp, oidc_login, read_saml_form, saml_login

# pysaml2 7.0.1 on Python 3.11 (importlib_resources, typing.io) warns when imported.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NS = {
    "samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
}
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
SP_ENTITY_ID = "http://127.0.0.1:1/sp/metadata"
ACS_URL = "http://127.0.0.1:1/acs"

SP_METADATA = f"""<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{SP_ENTITY_ID}">
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"
      WantAssertionsSigned="true" AuthnRequestsSigned="false">
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
        Location="{ACS_URL}" index="0" isDefault="true"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
"""


# ------------------------------------------------------------------------------------- SAML

@pytest.fixture(scope="module")
def saml_idp():
    with SamlIdp() as idp:
        yield idp


def sp_metadata(entity_id, acs_url):
    return SP_METADATA.replace(SP_ENTITY_ID, entity_id).replace(ACS_URL, acs_url)


def sp_client(idp, entity_id=SP_ENTITY_ID, acs_url=ACS_URL):
    """A pysaml2 SP (Saml2Client) that trusts `idp`, with the ACS of SP_METADATA."""
    from saml2 import BINDING_HTTP_POST
    from saml2.client import Saml2Client
    from saml2.config import SPConfig

    conf = SPConfig()
    conf.load({
        "entityid": entity_id,
        "xmlsec_binary": "/usr/bin/xmlsec1",
        "metadata": {"inline": [idp.metadata_xml]},
        "accepted_time_diff": 60,
        "allow_unknown_attributes": True,  # keeps email, groups... under their own names
        "service": {"sp": {
            "endpoints": {"assertion_consumer_service": [(acs_url, BINDING_HTTP_POST)]},
            "name_id_format": [EMAIL_FORMAT],
            "authn_requests_signed": False,
            "want_assertions_signed": True,
            "want_response_signed": False,
            "allow_unsolicited": False,
        }},
    })
    return Saml2Client(config=conf)


def redirect_login(idp, client, relay_state):
    """Sends a real AuthnRequest by HTTP-Redirect; returns (request id, IdP's form action, fields)."""
    from saml2 import BINDING_HTTP_REDIRECT

    req_id, info = client.prepare_for_authenticate(
        entityid=idp.entity_id, relay_state=relay_state, binding=BINDING_HTTP_REDIRECT)
    location = dict(info["headers"])["Location"]
    assert location.startswith(idp.sso_url + "?")
    page = requests.get(location, allow_redirects=False, timeout=10)
    assert page.status_code == 200, page.text
    action, fields = read_saml_form(page.text)
    return req_id, action, fields


def xmlsec_verify(xml_bytes, cert_path, tmp_path, extra=()):
    doc = tmp_path / f"doc-{secrets.token_hex(4)}.xml"
    doc.write_bytes(xml_bytes)
    return subprocess.run(
        ["xmlsec1", "--verify", "--pubkey-cert-pem", cert_path,
         "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
         "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:Response", *extra, str(doc)],
        capture_output=True, text=True, timeout=20)


def test_saml_idp_answers_a_real_authn_request_with_a_sha256_signed_assertion(saml_idp, tmp_path):
    idp = saml_idp
    assert idp.entity_id == idp.base_url + "/metadata"
    md = etree.fromstring(idp.metadata_xml.encode())
    assert md.get("entityID") == idp.entity_id
    sso = md.find(".//{urn:oasis:names:tc:SAML:2.0:metadata}SingleSignOnService")
    assert sso.get("Location") == idp.sso_url
    assert sso.get("Binding") == "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
    cert_b64 = "".join(idp.certificate_pem.strip().splitlines()[1:-1])
    assert "".join(md.findtext(".//ds:X509Certificate", namespaces=NS).split()) == cert_b64

    assert idp.trust_sp(SP_METADATA) == [SP_ENTITY_ID]
    idp.set_identity("ada@example.test", first_name="Ada", last_name="Lovelace",
                     groups=["eng", "admins"], role="admin")
    client = sp_client(idp)
    req_id, action, fields = redirect_login(idp, client, "relay-123")

    assert action == ACS_URL
    assert fields["RelayState"] == "relay-123"
    xml = base64.b64decode(fields["SAMLResponse"])
    assert xml.decode() == idp.last_response_xml()
    # The request that reached the IdP is the one the SP made.
    assert etree.fromstring(idp.last_request_xml().encode()).get("ID") == req_id

    resp = etree.fromstring(xml)
    assert resp.get("InResponseTo") == req_id
    assert resp.get("Destination") == ACS_URL
    assert resp.find("samlp:Status/samlp:StatusCode", NS).get("Value") == \
        "urn:oasis:names:tc:SAML:2.0:status:Success"
    assert resp.find("ds:Signature", NS) is None  # the Response itself is not signed by default
    (assertion,) = resp.findall("saml:Assertion", NS)
    assert assertion.findtext("saml:Issuer", namespaces=NS) == idp.entity_id
    sig = assertion.find("ds:Signature", NS)
    assert sig.find("ds:SignedInfo/ds:SignatureMethod", NS).get("Algorithm") == RSA_SHA256
    assert sig.find("ds:SignedInfo/ds:Reference/ds:DigestMethod", NS).get("Algorithm") == SHA256
    assert sig.find("ds:SignedInfo/ds:Reference", NS).get("URI") == "#" + assertion.get("ID")
    name_id = assertion.find("saml:Subject/saml:NameID", NS)
    assert (name_id.text, name_id.get("Format")) == ("ada@example.test", EMAIL_FORMAT)
    scd = assertion.find("saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData", NS)
    assert scd.get("InResponseTo") == req_id
    assert scd.get("Recipient") == ACS_URL
    assert assertion.findtext("saml:Conditions/saml:AudienceRestriction/saml:Audience",
                              namespaces=NS) == SP_ENTITY_ID
    attrs = {a.get("Name"): [v.text for v in a.findall("saml:AttributeValue", NS)]
             for a in assertion.findall("saml:AttributeStatement/saml:Attribute", NS)}
    assert attrs == {"email": ["ada@example.test"], "first_name": ["Ada"],
                     "last_name": ["Lovelace"], "groups": ["eng", "admins"], "role": ["admin"]}
    for a in assertion.findall("saml:AttributeStatement/saml:Attribute", NS):
        assert a.get("NameFormat") == "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"

    # xmlsec1 verifies the assertion's signature with the IdP's certificate...
    ok = xmlsec_verify(xml, idp.certificate_path, tmp_path)
    assert ok.returncode == 0, ok.stderr
    # ...and refuses it once the assertion is changed.
    forged = xml.replace(b"ada@example.test", b"eve@example.test")
    bad = xmlsec_verify(forged, idp.certificate_path, tmp_path)
    assert bad.returncode != 0

    # pysaml2's own SP accepts it too (signature, audience, InResponseTo, recipient, times).
    from saml2 import BINDING_HTTP_POST
    authn = client.parse_authn_request_response(fields["SAMLResponse"], BINDING_HTTP_POST,
                                                outstanding={req_id: "/"})
    assert authn.name_id.text == "ada@example.test"
    assert authn.ava["groups"] == ["eng", "admins"]
    assert authn.ava["email"] == ["ada@example.test"]


def test_saml_idp_signs_the_response_too_when_asked_and_uses_name_id(saml_idp, tmp_path):
    idp = saml_idp
    idp.trust_sp(SP_METADATA)
    idp.set_identity("bob@example.test", name_id="bob-opaque-7", groups=[])
    idp.set_options(sign_response=True, sign_assertion=True)
    try:
        req_id, action, fields = redirect_login(idp, sp_client(idp), "r2")
    finally:
        idp.set_options()
    xml = base64.b64decode(fields["SAMLResponse"])
    resp = etree.fromstring(xml)
    rsig = resp.find("ds:Signature", NS)
    assert rsig.find("ds:SignedInfo/ds:SignatureMethod", NS).get("Algorithm") == RSA_SHA256
    assert rsig.find("ds:SignedInfo/ds:Reference", NS).get("URI") == "#" + resp.get("ID")
    assertion = resp.find("saml:Assertion", NS)
    assert assertion.find("ds:Signature", NS) is not None
    assert assertion.findtext("saml:Subject/saml:NameID", namespaces=NS) == "bob-opaque-7"
    names = [a.get("Name") for a in assertion.findall("saml:AttributeStatement/saml:Attribute", NS)]
    assert names == ["email"]  # empty names and groups and no role: left out
    # The Response signature (the first in the document), then the assertion's.
    ok = xmlsec_verify(xml, idp.certificate_path, tmp_path)
    assert ok.returncode == 0, ok.stderr
    ok = xmlsec_verify(xml, idp.certificate_path, tmp_path,
                       ["--node-xpath", "//*[local-name()='Assertion']/*[local-name()='Signature']"])
    assert ok.returncode == 0, ok.stderr


def test_saml_login_walks_an_sp_initiated_login(saml_idp):
    """saml_login against a stand-in SP on loopback: /login redirects to the IdP with a real
    AuthnRequest, /acs takes the posted form and answers 303 (which saml_login does not follow)."""
    from saml2 import BINDING_HTTP_REDIRECT

    posted = []
    sp = {}

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            _, info = sp["client"].prepare_for_authenticate(
                entityid=saml_idp.entity_id, relay_state="rs-login",
                binding=BINDING_HTTP_REDIRECT)
            self.send_response(302)
            self.send_header("Location", dict(info["headers"])["Location"])
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self):
            n = int(self.headers["Content-Length"])
            posted.append(parse_qs(self.rfile.read(n).decode()))
            self.send_response(303)
            self.send_header("Location", "/signed-in")
            self.send_header("Content-Length", "0")
            self.end_headers()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    try:
        sp["client"] = sp_client(saml_idp, base + "/sp/metadata", base + "/acs")
        saml_idp.trust_sp(sp_metadata(base + "/sp/metadata", base + "/acs"))
        saml_idp.set_identity("dana@example.test", groups=["one"])
        r = saml_login(requests.Session(), base + "/login")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert r.status_code == 303 and r.headers["Location"] == "/signed-in"
    (form,) = posted
    assert form["RelayState"] == ["rs-login"]
    xml = base64.b64decode(form["SAMLResponse"][0])
    assert etree.fromstring(xml).get("Destination") == base + "/acs"
    assert b"dana@example.test" in xml


def test_saml_idp_refuses_an_unknown_sp(saml_idp):
    req = (f'<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
           f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_abc" Version="2.0" '
           f'IssueInstant="2030-01-01T00:00:00Z" Destination="{saml_idp.sso_url}">'
           f'<saml:Issuer>http://127.0.0.1:1/nobody</saml:Issuer></samlp:AuthnRequest>')
    deflated = zlib.compress(req.encode())[2:-4]
    r = requests.get(saml_idp.sso_url, params={"SAMLRequest": base64.b64encode(deflated)}, timeout=10)
    assert r.status_code == 403
    assert "unknown service provider" in r.text


# ------------------------------------------------------------------------------------- OIDC

class Callback:
    """A client's redirect_uri on loopback that records the query it is called with."""

    def __init__(self):
        hits = self.hits = []

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                hits.append(parse_qs(urlsplit(self.path).query))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/cb"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def op():
    with OidcProvider() as p:
        yield p


@pytest.fixture
def callback():
    cb = Callback()
    yield cb
    cb.close()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def verify_jws(token, jwks):
    """Checks the JWS signature of `token` with the key of its kid; returns (header, payload)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    h64, p64, s64 = token.split(".")
    header = json.loads(b64url_decode(h64))
    (jwk,) = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    signed, sig = f"{h64}.{p64}".encode(), b64url_decode(s64)
    num = lambda v: int.from_bytes(b64url_decode(v), "big")  # noqa: E731
    if header["alg"] == "RS256":
        key = rsa.RSAPublicNumbers(num(jwk["e"]), num(jwk["n"])).public_key()
        key.verify(sig, signed, padding.PKCS1v15(), hashes.SHA256())
    elif header["alg"] == "ES256":
        key = ec.EllipticCurvePublicNumbers(num(jwk["x"]), num(jwk["y"]), ec.SECP256R1()).public_key()
        r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
        key.verify(encode_dss_signature(r, s), signed, ec.ECDSA(hashes.SHA256()))
    else:
        raise AssertionError(f"unexpected alg {header['alg']}")
    return header, json.loads(b64url_decode(p64))


def code_flow(op, http, client_id, redirect_uri, login_hint=None):
    disco = op.discovery()
    verifier = b64url(secrets.token_bytes(32))
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    params = {
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
        "scope": "openid email profile", "state": state, "nonce": nonce,
        "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
        "code_challenge_method": "S256",
    }
    if login_hint:
        params["login_hint"] = login_hint
    r = oidc_login(http, disco["authorization_endpoint"] + "?" + urlencode(params))
    return disco, r, verifier, state, nonce


def test_oidc_provider_runs_a_code_flow_with_pkce(op, callback):
    disco = op.discovery()
    assert disco["issuer"] == op.issuer
    assert disco["code_challenge_methods_supported"] == ["S256"]
    assert {"client_secret_basic", "client_secret_post"} <= set(
        disco["token_endpoint_auth_methods_supported"])
    op.add_client("gh-client", "gh-secret", [callback.url])
    ident = op.set_identity("ada@example.test", name="Ada Lovelace", given_name="Ada",
                            family_name="Lovelace", groups=["eng", "admins"])

    http = requests.Session()
    http.trust_env = False
    disco, r, verifier, state, nonce = code_flow(op, http, "gh-client", callback.url)
    assert r.status_code == 200 and r.url.startswith(callback.url)
    (q,) = callback.hits
    assert q["state"] == [state]
    assert q["iss"] == [op.issuer]
    code = q["code"][0]

    token_req = {"grant_type": "authorization_code", "code": code, "redirect_uri": callback.url}
    # PKCE is enforced: the code without its verifier is refused (and the code is not spent).
    no_pkce = http.post(disco["token_endpoint"], data=token_req, auth=("gh-client", "gh-secret"),
                        timeout=10)
    assert no_pkce.status_code == 400, no_pkce.text
    tok = http.post(disco["token_endpoint"], data={**token_req, "code_verifier": verifier},
                    auth=("gh-client", "gh-secret"), timeout=10)  # client_secret_basic
    assert tok.status_code == 200, tok.text
    tok = tok.json()
    jwks = http.get(disco["jwks_uri"], timeout=10).json()
    header, claims = verify_jws(tok["id_token"], jwks)
    assert header["alg"] == "RS256"
    assert claims["iss"] == op.issuer
    assert claims["aud"] == "gh-client"
    assert claims["nonce"] == nonce
    assert claims["sub"] == ident["sub"]
    assert claims["email"] == "ada@example.test"
    assert claims["email_verified"] is True
    assert (claims["name"], claims["given_name"], claims["family_name"]) == \
        ("Ada Lovelace", "Ada", "Lovelace")
    assert claims["groups"] == ["eng", "admins"]

    ui = http.get(disco["userinfo_endpoint"], timeout=10,
                  headers={"Authorization": f"Bearer {tok['access_token']}"})
    assert ui.status_code == 200, ui.text
    ui = ui.json()
    assert ui["sub"] == ident["sub"] and ui["email"] == "ada@example.test"
    assert ui["groups"] == ["eng", "admins"]


def test_oidc_provider_es256_client_secret_post_and_a_new_identity(op, callback):
    op.add_client("gh-es", "es-secret", [callback.url], id_token_alg="ES256")
    http = requests.Session()
    http.trust_env = False
    for email in ("first@example.test", "second@example.test"):
        op.set_identity(email, groups=["g"], email_verified=False)
        disco, r, verifier, state, nonce = code_flow(op, http, "gh-es", callback.url)
        q = callback.hits[-1]
        assert q["state"] == [state]
        tok = http.post(disco["token_endpoint"], timeout=10, data={
            "grant_type": "authorization_code", "code": q["code"][0],
            "redirect_uri": callback.url, "code_verifier": verifier,
            "client_id": "gh-es", "client_secret": "es-secret"})  # client_secret_post
        assert tok.status_code == 200, tok.text
        header, claims = verify_jws(tok.json()["id_token"], http.get(disco["jwks_uri"]).json())
        assert header["alg"] == "ES256"
        # The same browser session logs in afresh as whoever the identity is now.
        assert claims["email"] == email and claims["email_verified"] is False
        assert "name" not in claims

    # login_hint picks a known identity by email.
    disco, r, verifier, state, nonce = code_flow(op, http, "gh-es", callback.url,
                                                 login_hint="first@example.test")
    tok = http.post(disco["token_endpoint"], timeout=10, data={
        "grant_type": "authorization_code", "code": callback.hits[-1]["code"][0],
        "redirect_uri": callback.url, "code_verifier": verifier},
        auth=("gh-es", "es-secret")).json()
    assert verify_jws(tok["id_token"], http.get(disco["jwks_uri"]).json())[1]["email"] == \
        "first@example.test"


def test_oidc_provider_requires_pkce_and_a_registered_redirect_uri(op, callback):
    op.add_client("gh-strict", "strict-secret", [callback.url])
    op.set_identity("carol@example.test")
    disco = op.discovery()
    params = {"response_type": "code", "client_id": "gh-strict", "redirect_uri": callback.url,
              "scope": "openid email", "state": "s1", "nonce": "n1"}
    r = oidc_login(requests.Session(), disco["authorization_endpoint"] + "?" + urlencode(params))
    assert r.status_code == 200
    q = callback.hits[-1]
    assert q["error"] == ["invalid_request"] and "PKCE" in q["error_description"][0]
    bad = requests.get(disco["authorization_endpoint"], allow_redirects=False, timeout=10, params={
        **params, "redirect_uri": "http://127.0.0.1:1/elsewhere",
        "code_challenge": b64url(b"x" * 32), "code_challenge_method": "S256"})
    assert bad.status_code == 400 and "redirect_uri" in bad.text


def test_idp_processes_stop_with_their_helpers():
    idp, op = SamlIdp(), OidcProvider()
    procs = [idp.proc, op.proc]
    workdirs = [idp.workdir, op.workdir]
    idp.stop()
    op.stop()
    assert [p.returncode for p in procs] == [0, 0]
    assert not any(os.path.exists(d) for d in workdirs)


def test_oidc_login_starts_at_the_clients_authorize_redirect(op, callback):
    """oidc_login from a client URL that redirects to the OP (as Gatehouse's /v1/sso/authorize
    does) ends at the callback, whose response it returns."""
    op.add_client("gh-hop", "hop-secret", [callback.url])
    op.set_identity("erin@example.test")
    verifier = b64url(secrets.token_bytes(32))
    target = op.discovery()["authorization_endpoint"] + "?" + urlencode({
        "response_type": "code", "client_id": "gh-hop", "redirect_uri": callback.url,
        "scope": "openid email", "state": "hop-state",
        "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
        "code_challenge_method": "S256"})

    class Start(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Start)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    try:
        r = oidc_login(requests.Session(), f"http://127.0.0.1:{httpd.server_address[1]}/authorize")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert r.status_code == 200 and r.text == "ok"
    assert callback.hits[-1]["state"] == ["hop-state"] and callback.hits[-1]["code"]
