"""Two-factor authentication with TOTP, against the running binary on both stores.

Codes come from Debian's `oathtool`, an implementation independent of ours (the RFC 6238
test vectors themselves are unit tests). Covered: enrolment (secret, otpauth:// URI, QR SVG),
confirmation by a first code, ten single-use recovery codes, `mfa_required` at login, no code
accepted twice, disabling, a workspace that requires 2FA, and the audit events.
"""
import re
import subprocess
import time
import urllib.parse

import pytest
import requests

from ghtest import PASSWORD, assert_problem, join

RECOVERY_CODE = re.compile(r"^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def srv(request):
    if request.param == "sqlite":
        return request.getfixturevalue("server")
    return request.getfixturevalue("pg_server")


def oathtool(secret, at=None):
    """The TOTP code of `secret` (base32) now, or at unix time `at`."""
    args = ["oathtool", "--totp", "-b", secret]
    if at is not None:
        args += ["--now", time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()


def login(srv, email, code=None):
    body = {"email": email, "password": PASSWORD}
    if code is not None:
        body["totp_code"] = code
    return requests.post(srv.url + "/v1/auth/login", json=body, timeout=15)


def enrol(client):
    """Turns TOTP on for `client`; returns (secret, recovery codes, unix time of the code)."""
    r = client.post("/v1/me/mfa/totp")
    assert r.status_code == 200, r.text
    secret = r.json()["secret"]
    # Stay clear of a step boundary so that the code used here is of a known step.
    while time.time() % 30 > 25:
        time.sleep(0.5)
    at = time.time()
    r = client.post("/v1/me/mfa/totp/verify", json={"code": oathtool(secret)})
    assert r.status_code == 200, r.text
    return secret, r.json()["recovery_codes"], at


def test_enrolment_login_and_disabling(srv):
    user = srv.signup(name="Tess Totp")
    assert user.get("/v1/me").json()["mfa_enabled"] is False
    # Confirming before starting is refused.
    assert_problem(user.post("/v1/me/mfa/totp/verify", json={"code": "123456"}), 409,
                   "mfa_not_pending")

    r = user.post("/v1/me/mfa/totp")
    assert r.status_code == 200, r.text
    e = r.json()
    assert re.fullmatch(r"[A-Z2-7]{32}", e["secret"]), e["secret"]  # 160 bits
    uri = urllib.parse.urlparse(e["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert urllib.parse.unquote(uri.path) == "/Gatehouse:" + user.email
    q = urllib.parse.parse_qs(uri.query)
    assert q["secret"] == [e["secret"]] and q["issuer"] == ["Gatehouse"]
    assert q["digits"] == ["6"] and q["period"] == ["30"] and q["algorithm"] == ["SHA1"]
    assert e["qr_svg"].startswith("<svg") and "<path" in e["qr_svg"]
    # A new start replaces the pending secret: the first one's codes no longer confirm.
    second = user.post("/v1/me/mfa/totp").json()["secret"]
    assert second != e["secret"]
    assert_problem(user.post("/v1/me/mfa/totp/verify", json={"code": oathtool(e["secret"], time.time() - 3600)}),
                   422, "invalid_code", "code")
    assert_problem(user.post("/v1/me/mfa/totp/verify", json={}), 422, "required", "code")
    assert user.get("/v1/me").json()["mfa_enabled"] is False

    while time.time() % 30 > 25:
        time.sleep(0.5)
    at = time.time()
    code = oathtool(second)
    r = user.post("/v1/me/mfa/totp/verify", json={"code": code})
    assert r.status_code == 200, r.text
    codes = r.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(RECOVERY_CODE.match(c) for c in codes), codes
    assert user.get("/v1/me").json()["mfa_enabled"] is True
    assert_problem(user.post("/v1/me/mfa/totp"), 409, "mfa_already_enabled")

    # Login now needs the second factor.
    assert_problem(login(srv, user.email), 401, "mfa_required")
    assert_problem(login(srv, user.email, "000000" if code != "000000" else "111111"), 401,
                   "mfa_required")
    # The code that confirmed enrolment was used: it is refused, however soon it is replayed.
    assert_problem(login(srv, user.email, code), 401, "mfa_required")
    # The next step's code is inside the ±1 step window, once.
    following = oathtool(second, at + 30)
    r = login(srv, user.email, following)
    assert r.status_code == 200, r.text
    assert_problem(login(srv, user.email, following), 401, "mfa_required")
    # A recovery code works once, typed in any case and with or without dashes.
    assert login(srv, user.email, codes[0].upper().replace("-", "")).status_code == 200
    assert_problem(login(srv, user.email, codes[0]), 401, "mfa_required")
    # A wrong password stays invalid_credentials, whatever the code.
    r = requests.post(srv.url + "/v1/auth/login",
                      json={"email": user.email, "password": "wrong password!!", "totp_code": codes[1]},
                      timeout=15)
    assert_problem(r, 401, "invalid_credentials")

    # Disabling needs a valid code: a used one is refused, an unused recovery code works.
    assert_problem(user.delete("/v1/me/mfa/totp", json={"code": codes[0]}), 422, "invalid_code",
                   "code")
    r = user.delete("/v1/me/mfa/totp", json={"code": codes[1]})
    assert r.status_code == 204, r.text
    assert user.get("/v1/me").json()["mfa_enabled"] is False
    assert_problem(user.delete("/v1/me/mfa/totp", json={"code": codes[2]}), 409, "mfa_not_enabled")
    assert login(srv, user.email).status_code == 200
    # The old recovery codes died with it.
    secret, fresh, _ = enrol(user)
    assert not set(fresh) & set(codes)
    assert_problem(login(srv, user.email, codes[3]), 401, "mfa_required")


def test_secrets_and_recovery_codes_are_not_in_the_audit_log(srv):
    user = srv.signup()
    ws = user.create_workspace("Quiet Co")
    secret, codes, _ = enrol(user)
    r = user.get(f"/v1/workspaces/{ws['id']}/audit-logs", params={"limit": 200})
    assert r.status_code == 200
    text = r.text
    assert secret not in text and not any(c in text for c in codes)


def test_account_events_are_audited(server):
    """Enrolment, enabling and disabling are account-level events (read from the SQLite store)."""
    user = server.signup()
    secret, codes, _ = enrol(user)
    assert user.delete("/v1/me/mfa/totp", json={"code": codes[0]}).status_code == 204
    rows = server.sql(f"SELECT action FROM audit_events WHERE target_id='{user.user['id']}' "
                      "AND action LIKE 'mfa.%' ORDER BY seq").split()
    assert rows == ["mfa.enrollment_started", "mfa.enabled", "mfa.disabled"]


def test_a_workspace_can_require_two_factor_authentication(srv):
    owner = srv.signup(name="Olive Owner")
    ws = owner.create_workspace("Strict Co")
    member = join(srv, owner, ws["id"], name="Mo Member")
    path = f"/v1/workspaces/{ws['id']}"
    # The owner must have it before requiring it.
    assert_problem(owner.patch(path, json={"require_mfa": True}), 422, "mfa_enrollment_required",
                   "require_mfa")
    assert_problem(owner.patch(path, json={"require_mfa": "yes"}), 422, "invalid_type",
                   "require_mfa")
    enrol(owner)
    r = owner.patch(path, json={"require_mfa": True})
    assert r.status_code == 200 and r.json()["require_mfa"] is True, r.text
    assert owner.get(path).status_code == 200

    # The member without 2FA can do nothing in this workspace until they enrol...
    for r in (member.get(path), member.get(path + "/members"),
              member.post(path + "/projects", json={"name": "Nope"})):
        assert_problem(r, 403, "mfa_enrollment_required")
    # ...but can still see and manage their own account, and enrol.
    assert member.get("/v1/me").status_code == 200
    enrol(member)
    assert member.get(path).status_code == 200
    assert member.get(path + "/members").status_code == 200

    r = owner.patch(path, json={"require_mfa": False})
    assert r.status_code == 200 and r.json()["require_mfa"] is False
