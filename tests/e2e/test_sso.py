"""Single sign-on end to end: the real binary against a real SAML IdP (pysaml2) and a real
OpenID Provider (npm oidc-provider), on SQLite and PostgreSQL: connections, test logins,
enabling, SP-initiated login with JIT provisioning and role mapping, sessions scoped to the
connection's workspace, enforcement with the owner's break-glass, and what is refused: forged
SAML responses (signature wrapping, comments in NameID, foreign keys, SHA-1, DOCTYPEs …),
reused requests, OIDC state reuse and a callback in another browser."""
import base64
import os
import re
import uuid
import zlib
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

import saml_forge as forge
from ghtest import (PASSWORD, Server, accept_as_new, assert_problem, invite,
                    link_from_mail_list, start_with_public_url)
from sso_idps import OidcProvider, SamlIdp, oidc_login, read_saml_form, saml_login


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def srv(request, tmp_path_factory):
    db = None
    if request.param == "postgres":
        db = os.environ.get("GATEHOUSE_TEST_PG")
        if not db:
            pytest.skip("GATEHOUSE_TEST_PG is not set")

    def start(db=None, extra_args=(), listen="127.0.0.1:0"):
        d = tmp_path_factory.mktemp("gatehouse-sso")
        return Server(db or f"sqlite:{d}/g.db", d, extra_args, listen=listen).start()

    server = start_with_public_url(start, db=db)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def idp():
    with SamlIdp() as p:
        yield p


@pytest.fixture(scope="module")
def op():
    with OidcProvider() as p:
        yield p


def domain():
    return f"{uuid.uuid4().hex[:10]}.test"


def join_as(server, inviter, ws_id, address, role=None):
    invite(inviter, ws_id, address, role=role)
    _, token = link_from_mail_list(server, address)
    return accept_as_new(server, token, name="Member " + address.split("@")[0])


def request_id_of(url):
    """The ID of the AuthnRequest in an HTTP-Redirect binding URL."""
    q = parse_qs(urlsplit(url).query)
    xml = zlib.decompress(base64.b64decode(q["SAMLRequest"][0]), -15).decode()
    return re.search(r'\bID="([^"]+)"', xml).group(1)


def create_saml(owner, ws, dom, idp, **extra):
    body = {"type": "saml", "provider": "okta", "domains": [dom],
            "saml": {"idp_metadata_xml": idp.metadata_xml}, **extra}
    r = owner.post(f"/v1/workspaces/{ws}/sso/connections", json=body)
    assert r.status_code == 201, r.text
    conn = r.json()
    meta = owner.get(f"/v1/sso/saml/{conn['id']}/metadata")
    assert meta.status_code == 200 and "samlmetadata+xml" in meta.headers["Content-Type"]
    idp.trust_sp(meta.text)
    return conn


def run_saml_test(owner, ws, conn_id, idp, email):
    idp.set_identity(email, first_name="Tess", last_name="Ter", groups=["testers"])
    r = owner.post(f"/v1/workspaces/{ws}/sso/connections/{conn_id}/test")
    assert r.status_code == 200, r.text
    http = owner.s.__class__()
    page = http.get(r.json()["url"], timeout=15)
    assert page.status_code == 200, page.text
    action, fields = read_saml_form(page.text)
    done = http.post(action, data=fields, allow_redirects=False, timeout=15)
    assert done.status_code == 302, done.text
    assert "gh_session" not in done.headers.get("Set-Cookie", ""), "a test signs nobody in"
    return owner.get(f"/v1/workspaces/{ws}/sso/connections/{conn_id}").json()


def activate(owner, ws, conn_id):
    r = owner.patch(f"/v1/workspaces/{ws}/sso/connections/{conn_id}", json={"status": "active"})
    assert r.status_code == 200, r.text
    return r.json()


def events(owner, ws, action):
    r = owner.get(f"/v1/workspaces/{ws}/audit-logs", params={"action": action})
    assert r.status_code == 200, r.text
    return r.json()["data"]


def signed_in(server, response):
    """A client holding the session cookie the ACS/callback answer set."""
    c = server.client()
    cookie = re.search(r"gh_session=([^;]+)", response.headers.get("Set-Cookie", ""))
    assert cookie, response.headers
    c.s.cookies.set("gh_session", cookie.group(1))
    me = c.get("/v1/me")
    assert me.status_code == 200, me.text
    c.user = me.json()
    c.csrf = c.user.get("csrf_token")
    return c


# ---- SAML -------------------------------------------------------------------------------------

def test_saml_connection_test_enable_login_jit_and_role_mapping(srv, idp):
    owner = srv.signup(name="Owner")
    ws = owner.create_workspace("SAML Co")["id"]
    prj = owner.post(f"/v1/workspaces/{ws}/projects", json={"name": "Analytics"}).json()["id"]
    dom = domain()
    conn = create_saml(owner, ws, dom, idp, role_mapping={"eng-admins": "admin"},
                       default_role="viewer", default_projects=[{"project_id": prj, "role": "developer"}])
    assert conn["status"] == "draft" and conn["last_test"] is None
    assert conn["sp"]["acs_url"] == f"{srv.url}/v1/sso/saml/{conn['id']}/acs"
    assert conn["saml"]["idp_entity_id"] == idp.entity_id
    # Not before a test login succeeded with the current settings.
    r = owner.patch(f"/v1/workspaces/{ws}/sso/connections/{conn['id']}", json={"status": "active"})
    assert_problem(r, 409, "sso_untested")
    tested = run_saml_test(owner, ws, conn["id"], idp, f"tess@{dom}")
    assert tested["last_test"]["status"] == "succeeded", tested["last_test"]
    assert tested["last_test"]["email"] == f"tess@{dom}"
    assert tested["last_test"]["attributes"]["groups"] == "testers"
    # The test provisioned nobody.
    members = owner.get(f"/v1/workspaces/{ws}/members").json()["data"]
    assert [m["email"] for m in members] == [owner.email]
    assert events(owner, ws, "sso.tested")
    activate(owner, ws, conn["id"])

    # A new person: JIT account, membership with the mapped role, the default project.
    ada = f"ada@{dom}"
    idp.set_identity(ada, first_name="Ada", last_name="Lovelace", groups=["eng-admins", "x"])
    browser = srv.client()
    r = saml_login(browser.s, f"{srv.url}/v1/sso/authorize?email={ada}&redirect_url=/projects")
    assert r.status_code == 302, r.text
    assert r.headers["Location"] == "/projects"
    me = signed_in(srv, r)
    assert me.user["email"] == ada and me.user["name"] == "Ada Lovelace"
    member = [m for m in owner.get(f"/v1/workspaces/{ws}/members").json()["data"]
              if m["email"] == ada][0]
    assert member["role"] == "admin"
    pm = owner.get(f"/v1/workspaces/{ws}/projects/{prj}").json()["members"]
    assert [(m["email"], m["role"]) for m in pm if m["email"] == ada] == [(ada, "developer")]
    joined = [e for e in events(owner, ws, "member.joined") if e["target"]["id"] == member["user_id"]]
    assert joined and joined[0]["details"]["via"] == "sso"
    assert events(owner, ws, "sso.login")
    sessions = me.get("/v1/me/sessions").json()["data"]
    assert sessions[0]["method"] == "sso" and sessions[0]["connection"] == conn["id"]

    # The role follows the mapping at each login: no mapped group now → unchanged? No: the
    # mapping yields nothing, so the role stays; a mapped value moves it.
    owner.patch(f"/v1/workspaces/{ws}/sso/connections/{conn['id']}",
                json={"role_mapping": {"eng-admins": "admin", "eng": "developer"}})
    run_saml_test(owner, ws, conn["id"], idp, f"tess@{dom}")  # settings changed: test again
    idp.set_identity(ada, first_name="Ada", last_name="Lovelace", groups=["eng"])
    r = saml_login(srv.client().s, f"{srv.url}/v1/sso/authorize?connection={conn['id']}")
    assert r.status_code == 302, r.text
    member = [m for m in owner.get(f"/v1/workspaces/{ws}/members").json()["data"]
              if m["email"] == ada][0]
    assert member["role"] == "developer"
    changed = events(owner, ws, "member.role_changed")
    assert changed and changed[0]["details"]["via"] == "sso"

    # Someone without a mapped group gets the default role.
    bob = f"bob@{dom}"
    idp.set_identity(bob, first_name="Bob", groups=["unmapped"])
    r = saml_login(srv.client().s, f"{srv.url}/v1/sso/authorize?email={bob}")
    assert r.status_code == 302, r.text
    roles = {m["email"]: m["role"] for m in owner.get(f"/v1/workspaces/{ws}/members").json()["data"]}
    assert roles[bob] == "viewer"


def test_an_sso_session_is_scoped_to_its_workspace(srv, idp):
    owner = srv.signup(name="Owner")
    ws = owner.create_workspace("Scoped")["id"]
    dom = domain()
    conn = create_saml(owner, ws, dom, idp)
    run_saml_test(owner, ws, conn["id"], idp, f"t@{dom}")
    activate(owner, ws, conn["id"])
    # A person with a password account and a workspace of their own joins by invitation.
    person = join_as(srv, owner, ws, f"eve@{dom}", role="developer")
    own_ws = person.create_workspace("Eve's own")["id"]
    idp.set_identity(f"eve@{dom}", first_name="Eve")
    r = saml_login(srv.client().s, f"{srv.url}/v1/sso/authorize?connection={conn['id']}")
    sso = signed_in(srv, r)
    assert sso.user["id"] == person.user["id"]
    # Its own workspace is visible; the person's other one is not, nor their account settings.
    assert [w["id"] for w in sso.get("/v1/workspaces").json()["data"]] == [ws]
    assert [m["workspace_id"] for m in sso.user["memberships"]] == [ws]
    assert sso.user["session"] == {"method": "sso", "sso_connection_id": conn["id"], "workspace_id": ws}
    assert person.get("/v1/me").json()["session"] == {
        "method": "password", "sso_connection_id": None, "workspace_id": None}
    assert sso.get(f"/v1/workspaces/{ws}").status_code == 200
    assert_problem(sso.get(f"/v1/workspaces/{own_ws}"), 404, "not_found")
    r = sso.post("/v1/me/password", json={"current_password": PASSWORD, "new_password": "x" * 20})
    assert_problem(r, 403, "sso_session_scope")
    assert_problem(sso.post("/v1/workspaces", json={"name": "Another"}), 403, "sso_session_scope")
    # The password session still sees both.
    ids = {w["id"] for w in person.get("/v1/workspaces").json()["data"]}
    assert {ws, own_ws} <= ids


def test_unverified_accounts_are_never_linked_and_jit_can_be_off(srv, idp):
    owner = srv.signup(name="Owner")
    ws = owner.create_workspace("Linking")["id"]
    dom = domain()
    conn = create_saml(owner, ws, dom, idp, jit=False)
    run_saml_test(owner, ws, conn["id"], idp, f"t@{dom}")
    activate(owner, ws, conn["id"])
    # Somebody signed up with the address but never proved it.
    squatter = srv.signup(email=f"ceo@{dom}")
    idp.set_identity(f"ceo@{dom}")
    r = saml_login(srv.client().s, f"{srv.url}/v1/sso/authorize?connection={conn['id']}")
    assert_problem(r, 403, "sso_response_rejected")
    assert r.json()["reason"] == "email_not_verified"
    assert squatter.get("/v1/me").status_code == 200
    # JIT off: an unknown person is refused, and the refusal is audited with its reason.
    idp.set_identity(f"new@{dom}")
    r = saml_login(srv.client().s, f"{srv.url}/v1/sso/authorize?connection={conn['id']}")
    assert_problem(r, 403, "sso_response_rejected")
    assert r.json()["reason"] == "jit_disabled"
    failed = events(owner, ws, "sso.login_failed")
    assert {e["details"]["reason"] for e in failed} >= {"jit_disabled", "email_not_verified"}
    assert all("SAMLResponse" not in str(e["details"]) for e in failed)


def test_a_response_is_accepted_once(srv, idp):
    owner = srv.signup(name="Owner")
    ws = owner.create_workspace("Replay")["id"]
    dom = domain()
    conn = create_saml(owner, ws, dom, idp)
    run_saml_test(owner, ws, conn["id"], idp, f"t@{dom}")
    activate(owner, ws, conn["id"])
    idp.set_identity(f"rita@{dom}")
    http = srv.client().s
    r = http.get(f"{srv.url}/v1/sso/authorize?connection={conn['id']}", allow_redirects=False)
    page = http.get(r.headers["Location"])
    action, fields = read_saml_form(page.text)
    first = http.post(action, data=fields, allow_redirects=False)
    assert first.status_code == 302, first.text
    again = srv.client().s.post(action, data=fields, allow_redirects=False)
    assert_problem(again, 403, "sso_response_rejected")
    assert again.json()["reason"] == "in_response_to"


def test_domain_routing_and_contract_errors(srv, idp):
    owner = srv.signup(name="Owner")
    ws = owner.create_workspace("Errors")["id"]
    dom = domain()
    conn = create_saml(owner, ws, dom, idp)
    # Draft connections do not route.
    r = srv.client().get(f"/v1/sso/authorize?email=x@{dom}")
    assert_problem(r, 404, "sso_connection_not_found")
    assert_problem(srv.client().get("/v1/sso/authorize?email=x@nobody.test"), 404,
                   "sso_connection_not_found")
    assert_problem(srv.client().get(f"/v1/sso/authorize?connection={conn['id']}&redirect_url=https://evil.example/"),
                   422, "invalid_redirect_url", "redirect_url")
    # A domain routes to one connection, whichever workspace claims it.
    other = srv.signup(name="Other")
    ows = other.create_workspace("Squatter")["id"]
    r = other.post(f"/v1/workspaces/{ows}/sso/connections",
                   json={"type": "saml", "provider": "custom", "domains": [dom.upper()],
                         "saml": {"idp_metadata_xml": idp.metadata_xml}})
    assert_problem(r, 409, "sso_domain_taken", "domains")
    # Another workspace's connection is invisible.
    assert_problem(other.get(f"/v1/workspaces/{ows}/sso/connections/{conn['id']}"), 404, "not_found")
    # Validation names the field.
    bad = [({"type": "saml", "provider": "github"}, "provider"),
           ({"type": "ldap", "provider": "okta"}, "type"),
           ({"type": "saml", "provider": "okta", "saml": {"idp_entity_id": "x", "idp_sso_url":
             "https://idp.test/sso", "idp_certificate": "not a certificate"}}, "saml.idp_certificate"),
           ({"type": "saml", "provider": "okta", "saml": {"idp_entity_id": "x", "idp_sso_url":
             "http://idp.example/sso", "idp_certificate": idp.certificate_pem}}, "saml.idp_sso_url"),
           ({"type": "saml", "provider": "okta", "domains": ["not a domain"],
             "saml": {"idp_metadata_xml": idp.metadata_xml}}, "domains[0]"),
           ({"type": "saml", "provider": "okta", "saml": {"idp_metadata_xml": idp.metadata_xml},
             "role_mapping": {"x": "owner"}}, "role_mapping.x"),
           ({"type": "saml", "provider": "okta", "saml": {"idp_metadata_xml": "<!DOCTYPE x><x/>"}},
            "saml.idp_metadata_xml"),
           ({"type": "oidc", "provider": "custom", "oidc": {"issuer": "https://op.test",
             "client_id": "c"}}, "oidc.client_secret")]
    for body, field in bad:
        r = owner.post(f"/v1/workspaces/{ws}/sso/connections", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["errors"][0]["field"] == field, (body, r.text)
    # Enforcing needs an active connection.
    assert_problem(owner.patch(f"/v1/workspaces/{ws}", json={"sso_enforced": True}), 409,
                   "sso_not_active")
    # Members without sso.configure see no connections.
    dev = join_as(srv, owner, ws, f"dev-{uuid.uuid4().hex[:6]}@example.com", role="developer")
    assert dev.get(f"/v1/workspaces/{ws}/sso/connections").status_code == 403


# ---- enforcement --------------------------------------------------------------------------------

def test_enforcement_refuses_passwords_and_the_owner_breaks_glass(srv, idp):
    owner = srv.signup(name="Owner")
    ws = owner.create_workspace("Enforced")["id"]
    dom = domain()
    conn = create_saml(owner, ws, dom, idp)
    run_saml_test(owner, ws, conn["id"], idp, f"t@{dom}")
    activate(owner, ws, conn["id"])
    member = join_as(srv, owner, ws, f"mia@{dom}", role="developer")
    contractor = join_as(srv, owner, ws, f"c-{uuid.uuid4().hex[:6]}@example.com", role="viewer")
    r = owner.patch(f"/v1/workspaces/{ws}", json={"sso_enforced": True})
    assert r.status_code == 200 and r.json()["sso_enforced"] is True, r.text
    # Password login of a member whose domain the connection serves: refused, with the way in.
    r = srv.client().post("/v1/auth/login", json={"email": member.email, "password": PASSWORD})
    assert_problem(r, 403, "sso_required")
    assert r.json()["sso_url"].endswith(f"/v1/sso/authorize?connection={conn['id']}")
    # Sessions made before, and other members' password sessions, are refused in the workspace.
    r = member.get(f"/v1/workspaces/{ws}")
    assert_problem(r, 403, "sso_required")
    assert_problem(contractor.get(f"/v1/workspaces/{ws}/members"), 403, "sso_required")
    # Through SSO it works.
    idp.set_identity(member.email)
    r = saml_login(srv.client().s, f"{srv.url}/v1/sso/authorize?email={member.email}")
    assert r.status_code == 302, r.text
    assert signed_in(srv, r).get(f"/v1/workspaces/{ws}/members").status_code == 200
    # The owner keeps password access, audited.
    again = srv.login(owner.email)
    assert again.get(f"/v1/workspaces/{ws}/members").status_code == 200
    glass = events(owner, ws, "sso.break_glass")
    assert glass and glass[0]["actor"]["id"] == owner.user["id"]
    # The last active connection cannot be switched off while enforced.
    r = owner.patch(f"/v1/workspaces/{ws}/sso/connections/{conn['id']}", json={"status": "inactive"})
    assert_problem(r, 409, "sso_enforced")
    assert owner.patch(f"/v1/workspaces/{ws}", json={"sso_enforced": False}).status_code == 200
    assert srv.client().post("/v1/auth/login",
                             json={"email": member.email, "password": PASSWORD}).status_code == 200


def callback_url(http, url, base):
    """Follows the OIDC redirects until one points back at `base` (the callback), unfetched."""
    first = True
    for _ in range(20):
        r = http.get(url, allow_redirects=False, timeout=15)
        assert r.status_code in (301, 302, 303, 307, 308), r.text
        nxt = requests.compat.urljoin(url, r.headers["Location"])
        if not first and nxt.startswith(base):
            return nxt
        first = False
        url = nxt
    raise AssertionError("no callback")


# ---- OIDC ---------------------------------------------------------------------------------------

def create_oidc(owner, ws, dom, op, alg="RS256", **extra):
    client_id = "gh-" + uuid.uuid4().hex[:8]
    secret = uuid.uuid4().hex
    body = {"type": "oidc", "provider": "custom", "domains": [dom],
            "oidc": {"issuer": op.issuer, "client_id": client_id, "client_secret": secret},
            **extra}
    r = owner.post(f"/v1/workspaces/{ws}/sso/connections", json=body)
    assert r.status_code == 201, r.text
    conn = r.json()
    assert "client_secret" not in conn["oidc"] and conn["oidc"]["client_secret_set"] is True
    assert secret not in r.text
    op.add_client(client_id, secret, [conn["redirect_uri"]], id_token_alg=alg)
    return conn


def test_oidc_login_with_pkce_jit_and_groups(srv, op):
    owner = srv.signup(name="Owner")
    ws = owner.create_workspace("OIDC Co")["id"]
    dom = domain()
    conn = create_oidc(owner, ws, dom, op, role_mapping={"platform": "admin"})
    op.set_identity(f"test@{dom}", name="Tess Ter", given_name="Tess", family_name="Ter")
    r = owner.post(f"/v1/workspaces/{ws}/sso/connections/{conn['id']}/test")
    assert r.status_code == 200, r.text
    assert "code_challenge_method=S256" in r.json()["url"]
    done = oidc_login(owner.s.__class__(), r.json()["url"])
    assert done.status_code == 302, done.text
    tested = owner.get(f"/v1/workspaces/{ws}/sso/connections/{conn['id']}").json()
    assert tested["last_test"]["status"] == "succeeded", tested["last_test"]
    activate(owner, ws, conn["id"])

    grace = f"grace@{dom}"
    op.set_identity(grace, name="Grace Hopper", given_name="Grace", family_name="Hopper",
                    groups=["platform"])
    browser = srv.client()
    r = oidc_login(browser.s, f"{srv.url}/v1/sso/authorize?email={grace}")
    assert r.status_code == 302, r.text
    me = signed_in(srv, r)
    assert me.user["email"] == grace and me.user["name"] == "Grace Hopper"
    roles = {m["email"]: m["role"] for m in owner.get(f"/v1/workspaces/{ws}/members").json()["data"]}
    assert roles[grace] == "admin"
    assert me.get("/v1/me/sessions").json()["data"][0]["method"] == "sso"


def test_oidc_state_is_single_use_and_bound_to_the_browser(srv, op):
    owner = srv.signup(name="Owner")
    ws = owner.create_workspace("OIDC state")["id"]
    dom = domain()
    conn = create_oidc(owner, ws, dom, op)
    op.set_identity(f"t@{dom}")
    url = owner.post(f"/v1/workspaces/{ws}/sso/connections/{conn['id']}/test").json()["url"]
    assert oidc_login(owner.s.__class__(), url).status_code == 302
    activate(owner, ws, conn["id"])
    op.set_identity(f"lin@{dom}")
    browser = srv.client()
    first = oidc_login(browser.s, f"{srv.url}/v1/sso/authorize?connection={conn['id']}")
    assert first.status_code == 302, first.text
    callback = first.request.url
    # The same callback again (state used), and in another browser (no binding cookie).
    again = browser.s.get(callback, allow_redirects=False)
    assert_problem(again, 403, "sso_response_rejected")
    assert again.json()["reason"] in ("state", "browser_mismatch")
    # Login CSRF: the attacker signs in at the OP and hands their callback URL to a victim.
    victim = srv.client()
    attacker_cb = callback_url(browser.s, f"{srv.url}/v1/sso/authorize?connection={conn['id']}",
                               srv.url)
    stolen = victim.s.get(attacker_cb, allow_redirects=False)
    assert_problem(stolen, 403, "sso_response_rejected")
    assert stolen.json()["reason"] == "browser_mismatch"
    assert "gh_session" not in stolen.headers.get("Set-Cookie", "")


def test_oidc_es256_id_tokens_are_accepted(srv, op):
    owner = srv.signup(name="Owner")
    ws = owner.create_workspace("ES256")["id"]
    dom = domain()
    conn = create_oidc(owner, ws, dom, op, alg="ES256")
    op.set_identity(f"ec@{dom}", name="Elli Curve")
    url = owner.post(f"/v1/workspaces/{ws}/sso/connections/{conn['id']}/test").json()["url"]
    assert oidc_login(owner.s.__class__(), url).status_code == 302
    last = owner.get(f"/v1/workspaces/{ws}/sso/connections/{conn['id']}").json()["last_test"]
    assert last["status"] == "succeeded" and last["email"] == f"ec@{dom}", last


def test_an_oidc_client_secret_the_provider_refuses_fails_the_test(srv, op):
    owner = srv.signup(name="Owner")
    ws = owner.create_workspace("Wrong secret")["id"]
    dom = domain()
    conn = create_oidc(owner, ws, dom, op)
    r = owner.patch(f"/v1/workspaces/{ws}/sso/connections/{conn['id']}",
                    json={"oidc": {"client_secret": "not-the-secret"}})
    assert r.status_code == 200, r.text
    op.set_identity(f"t@{dom}")
    url = owner.post(f"/v1/workspaces/{ws}/sso/connections/{conn['id']}/test").json()["url"]
    assert oidc_login(owner.s.__class__(), url).status_code == 302
    last = owner.get(f"/v1/workspaces/{ws}/sso/connections/{conn['id']}").json()["last_test"]
    assert last["status"] == "failed" and last["code"] == "token_exchange_failed", last
    r = owner.patch(f"/v1/workspaces/{ws}/sso/connections/{conn['id']}", json={"status": "active"})
    assert_problem(r, 409, "sso_untested")
