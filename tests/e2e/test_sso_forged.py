"""Forged and mis-addressed SAML responses posted to the running server's ACS: every one is
refused with its reason (tests/e2e/saml_forge.py makes them with real keys and xmlsec1), no
session is made, and the IdP's genuine responses still work. The connection trusts a throwaway
IdP key; an attacker's key, even with its certificate embedded in the message, is not it."""
import base64
import os
import re
import time
import uuid
import zlib
from urllib.parse import parse_qs, urlsplit

import pytest

import saml_forge as forge
from ghtest import Server, assert_problem, free_port, start_with_public_url


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def srv(request, tmp_path_factory):
    db = None
    if request.param == "postgres":
        db = os.environ.get("GATEHOUSE_TEST_PG")
        if not db:
            pytest.skip("GATEHOUSE_TEST_PG is not set")

    def start(db=None, extra_args=(), listen="127.0.0.1:0"):
        d = tmp_path_factory.mktemp("gatehouse-forged")
        return Server(db or f"sqlite:{d}/g.db", d, extra_args, listen=listen).start()

    server = start_with_public_url(start, db=db)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    return forge.make_keypair(str(d / "idp")), forge.make_keypair(str(d / "attacker"))


def request_id_of(url):
    q = parse_qs(urlsplit(url).query)
    xml = zlib.decompress(base64.b64decode(q["SAMLRequest"][0]), -15).decode()
    return re.search(r'\bID="([^"]+)"', xml).group(1)


class Setup:
    def __init__(self, srv, keys):
        self.srv = srv
        self.idp, self.attacker = keys
        self.owner = srv.signup(name="Owner")
        self.ws = self.owner.create_workspace("Forged")["id"]
        self.domain = f"{uuid.uuid4().hex[:8]}.test"
        self.idp_entity = "https://idp.forge.test/metadata"
        r = self.owner.post(f"/v1/workspaces/{self.ws}/sso/connections", json={
            "type": "saml", "provider": "custom", "domains": [self.domain],
            "saml": {"idp_entity_id": self.idp_entity, "idp_sso_url": "https://idp.forge.test/sso",
                     "idp_certificate": self.idp.cert_pem}})
        assert r.status_code == 201, r.text
        self.conn = r.json()
        self.acs = self.conn["sp"]["acs_url"]
        # A test login with a genuine response, then enable.
        url = self.owner.post(f"/v1/workspaces/{self.ws}/sso/connections/{self.conn['id']}/test").json()["url"]
        r = self.post(forge.sign(forge.build_response(self.claims(request_id_of(url), "t")), self.idp))
        assert r.status_code == 302, r.text
        assert r.headers["Location"] == (f"/settings/sso?workspace={self.ws}&connection={self.conn['id']}"
                                         "&test=succeeded")
        r = self.owner.patch(f"/v1/workspaces/{self.ws}/sso/connections/{self.conn['id']}",
                             json={"status": "active"})
        assert r.status_code == 200, r.text

    def claims(self, request_id, local="ada", **kw):
        return forge.Claims(idp_entity_id=self.idp_entity, sp_entity_id=self.conn["sp"]["entity_id"],
                            acs_url=self.acs, in_response_to=request_id,
                            email=f"{local}@{self.domain}", **kw)

    def authorize(self):
        r = self.srv.client().get(f"/v1/sso/authorize?connection={self.conn['id']}")
        assert r.status_code == 302, r.text
        return request_id_of(r.headers["Location"])

    def post(self, xml):
        return self.srv.client().post(f"/v1/sso/saml/{self.conn['id']}/acs",
                                      data={"SAMLResponse": forge.encode(xml)}, csrf=False)

    def members(self):
        return {m["email"] for m in self.owner.get(f"/v1/workspaces/{self.ws}/members").json()["data"]}


@pytest.fixture(scope="module")
def setup(srv, keys):
    return Setup(srv, keys)


def refused(r, reason):
    assert_problem(r, 403, "sso_response_rejected")
    assert r.json()["reason"] == reason, r.json()
    assert "gh_session" not in r.headers.get("Set-Cookie", "")


def test_every_forged_variant_is_refused_with_its_reason(setup):
    c = setup.claims(setup.authorize())
    variants = forge.all_variants(c, setup.idp, setup.attacker)
    refusals = {name: reason for name, reason in forge.EXPECTED_REASON.items() if reason != "accepted"}
    assert len(refusals) >= 18
    for name, reason in refusals.items():
        refused(setup.post(variants[name]), reason)
    assert "mallory@evil.example" not in setup.members()
    assert setup.srv.client().get("/healthz").status_code == 200


@pytest.mark.parametrize("target,algorithm,digest", [
    ("assertion", "rsa-sha256", "sha256"), ("response", "rsa-sha256", "sha256"),
    ("both", "rsa-sha256", "sha256"), ("assertion", "rsa-sha512", "sha512")])
def test_genuine_responses_sign_in(setup, target, algorithm, digest):
    local = f"p{uuid.uuid4().hex[:6]}"
    xml = forge.sign(forge.build_response(setup.claims(setup.authorize(), local)), setup.idp,
                     target=target, algorithm=algorithm, digest=digest)
    r = setup.post(xml)
    assert r.status_code == 302, r.text
    assert "gh_session=" in r.headers["Set-Cookie"]
    assert f"{local}@{setup.domain}" in setup.members()


def test_a_comment_in_the_nameid_does_not_shorten_the_identity(setup):
    # Signed by the real IdP for "ada@<domain>.evil.example": a reader of the first text node
    # would see ada@<domain>. Gatehouse reads the whole NameID, whose domain it does not serve.
    longer = setup.claims(setup.authorize(), "ada")
    longer.email += ".evil.example"
    xml = forge.comment_in_nameid(longer, setup.idp, f"ada@{setup.domain}")
    refused(setup.post(xml), "email_domain")
    assert f"ada@{setup.domain}" not in setup.members()


def test_misaddressed_and_untimely_responses(setup):
    now = int(time.time())
    cases = [
        ({"sp_entity_id": "https://other-sp.test/metadata"}, "audience"),
        ({"recipient": "https://other-sp.test/acs"}, "recipient"),
        ({"destination": "https://other-sp.test/acs"}, "destination"),
        ({"idp_entity_id": "https://other-idp.test/metadata"}, "issuer"),
        ({"issue_instant": now - 3600}, "expired"),
        ({"issue_instant": now + 3600}, "not_yet_valid"),
        ({"status": "urn:oasis:names:tc:SAML:2.0:status:Responder"}, "status"),
    ]
    for override, reason in cases:
        c = setup.claims(setup.authorize())
        for k, v in override.items():
            setattr(c, k, v)
        refused(setup.post(forge.sign(forge.build_response(c), setup.idp)), reason)
    # An answer to a request that was never made, or to one of another connection.
    c = setup.claims(forge.new_id())
    refused(setup.post(forge.sign(forge.build_response(c), setup.idp)), "in_response_to")


def test_idp_initiated_is_refused_unless_allowed_and_then_each_assertion_works_once(setup):
    unsolicited = forge.sign(forge.build_response(setup.claims(None, "ida")), setup.idp)
    refused(setup.post(unsolicited), "in_response_to")
    r = setup.owner.patch(f"/v1/workspaces/{setup.ws}/sso/connections/{setup.conn['id']}",
                          json={"saml": {"allow_idp_initiated": True}})
    assert r.status_code == 200, r.text
    fresh = forge.sign(forge.build_response(setup.claims(None, "ida")), setup.idp)
    assert setup.post(fresh).status_code == 302
    refused(setup.post(fresh), "replay")
    setup.owner.patch(f"/v1/workspaces/{setup.ws}/sso/connections/{setup.conn['id']}",
                      json={"saml": {"allow_idp_initiated": False}})


def test_failures_are_audited_with_their_reason_never_the_assertion(setup):
    signed = forge.sign(forge.build_response(setup.claims(setup.authorize())), setup.idp)
    refused(setup.post(forge.tamper_after_signing(signed, "mallory@evil.example")),
            "signature_invalid")
    refused(setup.post(forge.xsw_evil_assertion_first(signed, "mallory@evil.example")),
            "assertion_count")
    refused(setup.post(forge.with_doctype_xxe(signed)), "doctype")
    r = setup.owner.get(f"/v1/workspaces/{setup.ws}/audit-logs", params={"action": "sso.login_failed"})
    failed = r.json()["data"]
    reasons = {e["details"]["reason"] for e in failed}
    assert {"signature_invalid", "assertion_count", "doctype"} <= reasons, reasons
    text = r.text
    assert "SAMLResponse" not in text and "Assertion" not in text


def test_the_acs_bounds_what_strangers_send(setup, srv):
    big = "A" * (600 * 1024)
    r = srv.client().post(f"/v1/sso/saml/{setup.conn['id']}/acs", data={"SAMLResponse": big}, csrf=False)
    assert r.status_code == 413, r.text
    r = srv.client().post(f"/v1/sso/saml/{setup.conn['id']}/acs", data={"SAMLResponse": "%%%"}, csrf=False)
    refused(r, "malformed")
    r = srv.client().post(f"/v1/sso/saml/{setup.conn['id']}/acs", json={"SAMLResponse": "x"})
    assert r.status_code == 415, r.text
    assert_problem(srv.client().post("/v1/sso/saml/sso_nope/acs", data={"SAMLResponse": "x"}, csrf=False),
                   404, "sso_connection_not_found")


def test_one_response_posted_many_times_at_once_signs_in_once(setup):
    local = f"race{uuid.uuid4().hex[:6]}"
    for _ in range(10):
        form = {"SAMLResponse": forge.encode(forge.sign(
            forge.build_response(setup.claims(setup.authorize(), local)), setup.idp))}
        codes = race(setup, [form] * 8)
        assert codes.count(302) == 1, codes
    # However many requests raced, one account and one membership.
    members = [m for m in setup.owner.get(f"/v1/workspaces/{setup.ws}/members").json()["data"]
               if m["email"] == f"{local}@{setup.domain}"]
    assert len(members) == 1


def test_concurrent_first_logins_of_one_person_make_one_account(setup):
    for _ in range(5):
        local = f"jit{uuid.uuid4().hex[:6]}"
        forms = [{"SAMLResponse": forge.encode(forge.sign(
            forge.build_response(setup.claims(setup.authorize(), local)), setup.idp))}
            for _ in range(6)]
        codes = race(setup, forms)
        assert codes.count(302) >= 1, codes
        members = [m for m in setup.owner.get(f"/v1/workspaces/{setup.ws}/members").json()["data"]
                   if m["email"] == f"{local}@{setup.domain}"]
        assert len(members) == 1, members


def race(setup, forms):
    """POSTs every form to the ACS at once; returns the status codes."""
    import threading
    barrier = threading.Barrier(len(forms))
    codes = [None] * len(forms)

    def post(i):
        c = setup.srv.client()
        barrier.wait()
        codes[i] = c.post(f"/v1/sso/saml/{setup.conn['id']}/acs", data=forms[i], csrf=False).status_code

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(forms))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(codes) <= {302, 403}, codes
    return codes


def test_sso_requests_are_rate_limited_per_address(start_server, tmp_path):
    cfg = tmp_path / "limits.toml"
    cfg.write_text("[limits]\nsso_requests_per_ip_per_minute = 3\n")
    s = start_server(extra_args=["--config", str(cfg)])
    codes = [s.client().get("/v1/sso/authorize?email=a@nobody.test").status_code for _ in range(5)]
    assert codes[:3] == [404, 404, 404] and codes[3] == 429, codes


def test_over_https_a_saml_answer_is_bound_to_the_browser_that_asked(start_server, keys):
    # Served over plain http here, but the public URL says https: what a deployment behind a
    # TLS proxy looks like. Cookies are then Secure, so the test carries them by hand.
    port = free_port()
    base = f"https://127.0.0.1:{port}"
    s = start_server(extra_args=["--public-url", base], listen=f"127.0.0.1:{port}")
    idp, _ = keys
    owner = s.signup(name="Owner")
    token = owner.s.cookies.get("gh_session")
    owner.s.cookies.clear()
    owner.s.cookies.set("gh_session", token)  # a Secure cookie, carried over http here
    ws = owner.create_workspace("TLS")["id"]
    dom = f"{uuid.uuid4().hex[:8]}.test"
    conn = owner.post(f"/v1/workspaces/{ws}/sso/connections", json={
        "type": "saml", "provider": "custom", "domains": [dom],
        "saml": {"idp_entity_id": "https://idp.tls.test", "idp_sso_url": "https://idp.tls.test/sso",
                 "idp_certificate": idp.cert_pem}}).json()
    assert conn["sp"]["acs_url"].startswith("https://")

    def response_to(url, local):
        c = forge.Claims(idp_entity_id="https://idp.tls.test", sp_entity_id=conn["sp"]["entity_id"],
                         acs_url=conn["sp"]["acs_url"], in_response_to=request_id_of(url),
                         email=f"{local}@{dom}")
        return {"SAMLResponse": forge.encode(forge.sign(forge.build_response(c), idp))}

    test_url = owner.post(f"/v1/workspaces/{ws}/sso/connections/{conn['id']}/test").json()["url"]
    acs = f"/v1/sso/saml/{conn['id']}/acs"
    assert s.client().post(acs, data=response_to(test_url, "t"), csrf=False).status_code == 302
    assert owner.patch(f"/v1/workspaces/{ws}/sso/connections/{conn['id']}",
                       json={"status": "active"}).status_code == 200

    def start():
        r = s.client().get(f"/v1/sso/authorize?connection={conn['id']}")
        assert r.status_code == 302, r.text
        cookie = r.headers["Set-Cookie"]
        assert "SameSite=None" in cookie and "Secure" in cookie and "HttpOnly" in cookie, cookie
        return r.headers["Location"], re.search(r"gh_sso=([^;]+)", cookie).group(1)

    # The victim's browser gets the attacker's valid answer (login CSRF): refused.
    url, _ = start()
    r = s.client().post(acs, data=response_to(url, "mallory"), csrf=False,
                        headers={"Cookie": "gh_sso=someone-elses"})
    refused(r, "browser_mismatch")
    # The browser that asked signs in.
    url, cookie = start()
    r = s.client().post(acs, data=response_to(url, "ada"), csrf=False,
                        headers={"Cookie": f"gh_sso={cookie}"})
    assert r.status_code == 302, r.text
    assert "gh_session=" in r.headers["Set-Cookie"]
