"""Sign up, log in, log out, CSRF, unauthenticated access and login throttling.

Failed logins are throttled per IP (20 per 15 minutes from 127.0.0.1), so the shared server
sees only a couple of them; the throttle tests run on dedicated servers.
"""
import pytest

from ghtest import (CHROME_UA, PASSWORD, RFC3339_UTC, assert_problem, unique_email)


def signup_body(**over):
    body = {"email": unique_email(), "password": PASSWORD, "name": "New Person"}
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


def set_cookie_of(r):
    return r.headers.get("Set-Cookie", "")


# --- signup -------------------------------------------------------------------------------

def test_signup_creates_account_and_session(anon):
    email = unique_email()
    r = anon.post("/v1/auth/signup", json={"email": email, "password": PASSWORD, "name": "Grace"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) >= {"user", "csrf_token"}
    u = body["user"]
    assert u["id"].startswith("usr_")
    assert u["email"] == email and u["name"] == "Grace"
    assert u["theme"] in ("light", "dark", "system")
    assert RFC3339_UTC.match(u["created_at"])
    assert "password" not in r.text and "password_hash" not in u
    assert isinstance(body["csrf_token"], str) and len(body["csrf_token"]) >= 16
    cookie = set_cookie_of(r)
    assert cookie.startswith("gh_session=")
    attrs = [a.strip().lower() for a in cookie.split(";")]
    assert "httponly" in attrs
    assert "samesite=lax" in attrs
    assert "path=/" in attrs
    assert "secure" not in attrs  # served over plain http here
    token = cookie.split(";")[0].split("=", 1)[1]
    assert len(token) >= 32
    # The cookie signs the client in; the CSRF token matches the one /v1/me reports.
    me = anon.get("/v1/me")
    assert me.status_code == 200
    assert me.json()["id"] == u["id"]
    assert me.json()["csrf_token"] == body["csrf_token"]


def test_signup_normalises_email_to_lower_case(anon):
    local = unique_email().split("@")[0]
    r = anon.post("/v1/auth/signup", json=signup_body(email=f"  {local.upper()}@Example.COM "))
    assert r.status_code == 201, r.text
    assert r.json()["user"]["email"] == f"{local}@example.com"


def test_signup_email_taken_is_case_insensitive(server, user):
    c = server.client()
    r = c.post("/v1/auth/signup", json=signup_body(email=user.email))
    assert_problem(r, 409, "email_taken", "email")
    r = c.post("/v1/auth/signup", json=signup_body(email=user.email.upper()))
    assert_problem(r, 409, "email_taken", "email")
    assert "gh_session" not in set_cookie_of(r)


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "@example.com", "a@@example.com",
                                   "a b@example.com", "a@example..com", ""])
def test_signup_invalid_email(anon, email):
    r = anon.post("/v1/auth/signup", json=signup_body(email=email))
    assert_problem(r, 422, "invalid_email", "email")


def test_signup_password_length_bounds(anon):
    assert_problem(anon.post("/v1/auth/signup", json=signup_body(password="a" * 11)),
                   422, "invalid_password", "password")
    # Characters, not bytes: 11 two-byte characters are still too short.
    assert_problem(anon.post("/v1/auth/signup", json=signup_body(password="é" * 11)),
                   422, "invalid_password", "password")
    assert_problem(anon.post("/v1/auth/signup", json=signup_body(password="a" * 1025)),
                   422, "invalid_password", "password")
    assert anon.post("/v1/auth/signup", json=signup_body(password="a" * 12)).status_code == 201
    assert anon.post("/v1/auth/signup", json=signup_body(password="b" * 1024)).status_code == 201


@pytest.mark.parametrize("missing", ["email", "password", "name"])
def test_signup_missing_field_is_required(anon, missing):
    body = signup_body()
    del body[missing]
    assert_problem(anon.post("/v1/auth/signup", json=body), 422, "required", missing)


def test_signup_blank_name_is_invalid(anon):
    assert_problem(anon.post("/v1/auth/signup", json=signup_body(name="   ")),
                   422, "invalid_name", "name")


def test_signup_wrong_type_and_unknown_field(anon):
    assert_problem(anon.post("/v1/auth/signup", json=signup_body(email=5)),
                   422, "invalid_type", "email")
    assert_problem(anon.post("/v1/auth/signup", json=signup_body(admin=True)),
                   422, "unknown_field", "admin")


# --- login --------------------------------------------------------------------------------

def test_login_returns_user_csrf_and_cookie(server, user):
    c = server.client()
    r = c.post("/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["id"] == user.user["id"]
    assert body["user"]["last_login_at"] and RFC3339_UTC.match(body["user"]["last_login_at"])
    assert body["csrf_token"] and body["csrf_token"] != user.csrf  # per session
    cookie = set_cookie_of(r)
    assert cookie.startswith("gh_session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert c.token and c.token != user.token
    assert c.get("/v1/me").json()["id"] == user.user["id"]


def test_login_email_is_case_insensitive(server, user):
    c = server.client()
    r = c.post("/v1/auth/login", json={"email": "  " + user.email.upper(), "password": PASSWORD})
    assert r.status_code == 200, r.text


def test_login_wrong_password_and_unknown_email_look_the_same(server, user):
    c = server.client()
    wrong = c.post("/v1/auth/login", json={"email": user.email, "password": "not the password!"})
    unknown = c.post("/v1/auth/login", json={"email": unique_email("ghost"), "password": PASSWORD})
    b1 = assert_problem(wrong, 401, "invalid_credentials")
    b2 = assert_problem(unknown, 401, "invalid_credentials")
    for b in (b1, b2):
        b.pop("request_id", None)
    assert b1 == b2
    assert "gh_session" not in set_cookie_of(wrong) and "gh_session" not in set_cookie_of(unknown)


def test_login_missing_password_is_required(anon):
    assert_problem(anon.post("/v1/auth/login", json={"email": unique_email()}),
                   422, "required", "password")
    assert_problem(anon.post("/v1/auth/login", json={"email": unique_email(), "password": 1}),
                   422, "invalid_type", "password")


def test_repeated_failures_for_one_account_are_throttled(start_server):
    srv = start_server()
    victim = srv.signup(email=unique_email("victim"))
    c = srv.client()
    bad = {"email": victim.email, "password": "wrong password 123"}
    statuses = [c.post("/v1/auth/login", json=bad).status_code for _ in range(5)]
    assert statuses == [401] * 5
    r = c.post("/v1/auth/login", json=bad)
    assert_problem(r, 429, "too_many_attempts")
    retry = int(r.headers["Retry-After"])
    assert 1 <= retry <= 900
    # The right password does not get through while throttled either.
    r = c.post("/v1/auth/login", json={"email": victim.email, "password": PASSWORD})
    assert_problem(r, 429, "too_many_attempts")
    assert "gh_session" not in set_cookie_of(r)
    # Other accounts are unaffected by one account's throttle.
    other = srv.signup()
    assert c.post("/v1/auth/login",
                  json={"email": other.email, "password": PASSWORD}).status_code == 200


def test_throttling_does_not_tell_whether_the_account_exists(start_server):
    srv = start_server()
    real = srv.signup()
    ghost = unique_email("ghost")
    c = srv.client()
    answers = {}
    for email in (real.email, ghost):
        for _ in range(5):
            assert c.post("/v1/auth/login",
                          json={"email": email, "password": "wrong password 123"}).status_code == 401
        r = c.post("/v1/auth/login", json={"email": email, "password": "wrong password 123"})
        body = assert_problem(r, 429, "too_many_attempts")
        assert r.headers.get("Retry-After")
        body.pop("request_id", None)
        answers[email] = body
    assert answers[real.email] == answers[ghost]


def test_repeated_failures_from_one_ip_are_throttled(start_server):
    srv = start_server()
    c = srv.client()
    for i in range(20):
        r = c.post("/v1/auth/login",
                   json={"email": unique_email(f"spray{i}"), "password": "wrong password 123"})
        assert r.status_code == 401, (i, r.text)
    r = c.post("/v1/auth/login", json={"email": unique_email("fresh"), "password": PASSWORD})
    assert_problem(r, 429, "too_many_attempts")
    assert int(r.headers["Retry-After"]) >= 1


# --- logout -------------------------------------------------------------------------------

def test_logout_clears_cookie_and_ends_session(server, user):
    old_token = user.token
    r = user.post("/v1/auth/logout")
    assert r.status_code == 204, r.text
    cookie = set_cookie_of(r)
    assert cookie.startswith("gh_session=;") or cookie.startswith("gh_session=\"\"")
    assert "Max-Age=0" in cookie or "expires=Thu, 01 Jan 1970" in cookie.lower()
    # The old cookie no longer works, for reads or writes.
    c = server.client()
    r = c.get("/v1/me", headers={"Cookie": f"gh_session={old_token}"})
    assert_problem(r, 401, "unauthenticated")
    r = c.post("/v1/workspaces", json={"name": "After logout"},
               headers={"Cookie": f"gh_session={old_token}", "X-CSRF-Token": user.csrf})
    assert_problem(r, 401, "unauthenticated")


def test_logout_needs_authentication(anon):
    assert_problem(anon.post("/v1/auth/logout"), 401, "unauthenticated")


def test_logout_only_ends_the_current_session(server, user):
    second = server.login(user.email)
    assert second.post("/v1/auth/logout").status_code == 204
    assert user.get("/v1/me").status_code == 200


# --- CSRF ---------------------------------------------------------------------------------

def test_cookie_mutation_without_csrf_token_is_403(user):
    r = user.post("/v1/workspaces", json={"name": "No CSRF"}, csrf=False)
    assert_problem(r, 403, "csrf_token_invalid")
    r = user.patch("/v1/me", json={"name": "x"}, csrf=False)
    assert_problem(r, 403, "csrf_token_invalid")
    r = user.post("/v1/auth/logout", csrf=False)
    assert_problem(r, 403, "csrf_token_invalid")
    # Nothing was created and the session still works.
    names = [w["name"] for w in user.get("/v1/workspaces").json()["data"]]
    assert "No CSRF" not in names
    assert user.get("/v1/me").status_code == 200


def test_cookie_mutation_with_wrong_csrf_token_is_403(server, user):
    r = user.post("/v1/workspaces", json={"name": "Wrong CSRF"},
                  headers={"X-CSRF-Token": "0" * 43})
    assert_problem(r, 403, "csrf_token_invalid")
    # Another session's token (even the same user's) is wrong for this session.
    second = server.login(user.email)
    r = user.post("/v1/workspaces", json={"name": "Other session CSRF"},
                  headers={"X-CSRF-Token": second.csrf})
    assert_problem(r, 403, "csrf_token_invalid")
    r = user.delete(f"/v1/me/sessions/{'ses_' + '0' * 24}", headers={"X-CSRF-Token": ""})
    assert_problem(r, 403, "csrf_token_invalid")


def test_reads_do_not_need_csrf_token(user):
    assert user.get("/v1/me", csrf=False).status_code == 200
    assert user.get("/v1/workspaces", csrf=False).status_code == 200
    assert user.get("/v1/me/sessions", csrf=False).status_code == 200


def test_csrf_token_is_required_only_for_cookie_auth(user):
    r = user.post("/v1/workspaces", json={"name": "With CSRF"})
    assert r.status_code == 201, r.text


# --- unauthenticated ----------------------------------------------------------------------

AUTHENTICATED_ROUTES = [
    ("GET", "/v1/me"),
    ("PATCH", "/v1/me"),
    ("GET", "/v1/me/sessions"),
    ("DELETE", "/v1/me/sessions/ses_0000000000000000000000"),
    ("POST", "/v1/me/sessions/revoke-all"),
    ("POST", "/v1/auth/logout"),
    ("POST", "/v1/workspaces"),
    ("GET", "/v1/workspaces"),
    ("GET", "/v1/workspaces/ws_0000000000000000000000"),
    ("PATCH", "/v1/workspaces/ws_0000000000000000000000"),
    ("DELETE", "/v1/workspaces/ws_0000000000000000000000"),
    ("POST", "/v1/workspaces/ws_0000000000000000000000/logo"),
    ("GET", "/v1/workspaces/ws_0000000000000000000000/logo"),
    ("GET", "/v1/workspaces/ws_0000000000000000000000/audit-logs"),
]


@pytest.mark.parametrize("method,path", AUTHENTICATED_ROUTES)
def test_unauthenticated_access_is_401(anon, method, path):
    r = anon.request(method, path, json={} if method in ("POST", "PATCH") else None)
    assert_problem(r, 401, "unauthenticated")


def test_bogus_session_cookie_is_401(anon):
    for value in ["nonsense", "x" * 43, "x" * 500, ""]:
        r = anon.get("/v1/me", headers={"Cookie": f"gh_session={value}"})
        assert_problem(r, 401, "unauthenticated")


def test_bearer_authorization_is_parsed(anon):
    r = anon.get("/v1/me", headers={"Authorization": "Bearer sk_live_notarealkey"})
    assert_problem(r, 401, "invalid_api_key")
    r = anon.get("/v1/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_problem(r, 401, "invalid_authorization")


def test_user_agent_of_signup_is_recorded_on_the_session(server):
    c = server.signup(ua=CHROME_UA)
    sessions = c.get("/v1/me/sessions").json()["data"]
    assert len(sessions) == 1
    assert sessions[0]["browser"].startswith("Chrome")
