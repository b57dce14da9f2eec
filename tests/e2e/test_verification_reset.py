"""Email verification and password reset end to end: the mails (through a real SMTP server, or
`gatehouse mail list`), single use and expiry of their links, the invitation an unverified
account cannot accept, the answers that never tell whether an address is registered, and the
limits on sign-ups, reset requests and verification mails.

The flows that touch the store run on SQLite and, with GATEHOUSE_TEST_PG, on PostgreSQL; the
limits are counted in memory and run on SQLite only.
"""
import statistics
import threading
import time

import pytest

from ghtest import (INVITE_LINK_RE, PASSWORD, RESET_LINK_RE, VERIFY_LINK_RE, accept_as_new, assert_problem,
                    invite, link_from_mail_list, mail_parts, mailed_token, start_with_public_url,
                    unique_email, verify_email, wait_for_stored_link)

NEW_PASSWORD = "an entirely new passphrase"


def me(client):
    r = client.get("/v1/me")
    assert r.status_code == 200, r.text
    return r.json()


def request_reset(server, address, headers=None):
    r = server.client().post("/v1/auth/password-reset", json={"email": address}, headers=headers)
    assert r.status_code == 202, r.text
    return r


def reset_token(server, address, count=1):
    return wait_for_stored_link(server, address, RESET_LINK_RE, count=count)[1]


def actions_about(server, user_id):
    """The account-level audit actions whose target is `user_id`, oldest first (SQLite)."""
    out = server.sql("SELECT action FROM audit_events WHERE workspace_id = '' AND target_id = "
                     f"'{user_id}' ORDER BY seq")
    return out.split()


def limits_server(start_server, tmp_path, limits, extra=()):
    cfg = tmp_path / "limits.toml"
    cfg.write_text("[limits]\n" + "".join(f"{k} = {v}\n" for k, v in limits.items()))
    return start_server(extra_args=["--config", str(cfg), *extra])


# --- email verification -------------------------------------------------------------------

def test_signup_mails_a_verification_link_that_works_once(mail_server, mailbox):
    c = mail_server.signup(name="Vera Verified")
    assert me(c)["email_verified"] is False
    msg = mailbox.wait_for(c.email)
    assert "Verify" in msg["Subject"]
    text, html = mail_parts(msg)
    token = mailed_token(mailbox, c.email, VERIFY_LINK_RE)
    link = f"{mail_server.url}/verify-email?token={token}"
    assert link in text and link in html
    assert "24 hours" in text

    r = mail_server.client().post("/v1/auth/verify-email", json={"token": token})
    assert r.status_code == 200, r.text
    assert r.json() == {"email": c.email, "email_verified": True}
    assert me(c)["email_verified"] is True  # the session sees it at once
    assert_problem(mail_server.client().post("/v1/auth/verify-email", json={"token": token}),
                   410, "token_used", "token")
    assert actions_about(mail_server, c.user["id"]) == ["user.signed_up", "user.email_verified"]
    assert token not in mail_server.logs()


def test_verification_links_refuse_what_is_not_one(backend_server):
    anon = backend_server.client()
    assert_problem(anon.post("/v1/auth/verify-email", json={"token": "x" * 43}), 404,
                   "not_found", "token")
    assert_problem(anon.post("/v1/auth/verify-email", json={"token": "x" * 500}), 404,
                   "not_found", "token")
    assert_problem(anon.post("/v1/auth/verify-email", json={}), 422, "required", "token")
    assert_problem(anon.post("/v1/auth/verify-email", json={"token": 7}), 422, "invalid_type",
                   "token")
    assert_problem(anon.post("/v1/auth/verify-email", json={"token": "x", "extra": 1}), 422,
                   "unknown_field", "extra")
    # A reset link is no verification link, and the other way round.
    c = backend_server.signup()
    _, verify_token = link_from_mail_list(backend_server, c.email, VERIFY_LINK_RE)
    assert_problem(anon.post("/v1/auth/password-reset/confirm",
                             json={"token": verify_token, "new_password": NEW_PASSWORD}),
                   404, "not_found", "token")
    request_reset(backend_server, c.email)
    assert_problem(anon.post("/v1/auth/verify-email", json={"token": reset_token(backend_server, c.email)}),
                   404, "not_found", "token")
    assert me(c)["email_verified"] is False


def test_an_expired_verification_link_is_gone(server):
    c = server.signup()
    _, token = link_from_mail_list(server, c.email, VERIFY_LINK_RE)
    server.sql("UPDATE account_tokens SET created_at = created_at - 86400, expires_at = "
               f"expires_at - 86400 WHERE user_id = '{c.user['id']}'")
    assert_problem(server.client().post("/v1/auth/verify-email", json={"token": token}), 410,
                   "token_expired", "token")
    assert me(c)["email_verified"] is False


def test_resending_the_verification_mail_is_limited(start_server, tmp_path):
    srv = limits_server(start_server, tmp_path, {"verification_mails_per_account_per_hour": 2})
    c = srv.signup()
    for _ in range(2):
        r = c.post("/v1/me/verify-email")
        assert r.status_code == 202, r.text
        assert r.json()["email"] == c.email
    r = c.post("/v1/me/verify-email")
    assert_problem(r, 429, "rate_limited")
    assert 1 <= int(r.headers["Retry-After"]) <= 3600
    # Three links in all (sign-up and two resends); any of them verifies.
    _, oldest = wait_for_stored_link(srv, c.email, VERIFY_LINK_RE, count=3)
    assert srv.client().post("/v1/auth/verify-email", json={"token": oldest}).status_code == 200
    # Using one retires the others.
    _, newest = link_from_mail_list(srv, c.email, VERIFY_LINK_RE)
    assert_problem(srv.client().post("/v1/auth/verify-email", json={"token": newest}), 410,
                   "token_used")
    assert_problem(c.post("/v1/me/verify-email"), 409, "email_already_verified")
    # Another account has its own allowance.
    assert srv.signup().post("/v1/me/verify-email").status_code == 202
    # Resending needs a session and its CSRF token.
    assert_problem(srv.client().post("/v1/me/verify-email"), 401, "unauthenticated")
    assert c.post("/v1/me/verify-email", csrf=False).status_code == 403


# --- the squatted invitation --------------------------------------------------------------

def test_an_account_squatting_an_address_cannot_accept_its_invitation(mail_server, mailbox):
    """Mallory signs up first with Victor's address. Before verification existed she joined
    Victor's workspace with his invitation. Now she is refused, and Victor takes the address
    back with a password reset, which signs her out."""
    owner = verify_email(mail_server, mail_server.signup(name="Olive Owner"), mailbox)
    ws = owner.create_workspace("Squat Target")
    victim = unique_email("victor")
    mallory = mail_server.signup(email=victim, name="Mallory")
    invite(owner, ws["id"], victim)
    token = mailed_token(mailbox, victim, INVITE_LINK_RE)

    r = mallory.post(f"/v1/invitations/{token}/accept", json={})
    assert_problem(r, 403, "email_not_verified")
    assert victim in r.json()["detail"]
    assert_problem(mallory.get(f"/v1/workspaces/{ws['id']}"), 404, "not_found")
    members = owner.get(f"/v1/workspaces/{ws['id']}/members").json()
    assert [m["email"] for m in members["data"]] == [owner.email]
    # Victor cannot create the account (it exists), so he resets its password from his mail.
    assert_problem(mail_server.client().post(f"/v1/invitations/{token}/accept",
                                             json={"name": "Victor", "password": PASSWORD}),
                   401, "sign_in_required")
    request_reset(mail_server, victim)
    reset = mailed_token(mailbox, victim, RESET_LINK_RE)
    r = mail_server.client().post("/v1/auth/password-reset/confirm",
                                  json={"token": reset, "new_password": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    assert_problem(mallory.get("/v1/me"), 401, "unauthenticated")
    victor = mail_server.login(victim, NEW_PASSWORD)
    assert me(victor)["email_verified"] is True  # the reset link proved the address
    r = victor.post(f"/v1/invitations/{token}/accept", json={})
    assert r.status_code == 200, r.text
    assert victor.get(f"/v1/workspaces/{ws['id']}").status_code == 200


def test_accepting_with_a_new_account_verifies_its_address(backend_server):
    owner = verify_email(backend_server, backend_server.signup())
    ws = owner.create_workspace("Verified By Invitation")
    address = unique_email("newcomer")
    invite(owner, ws["id"], address)
    _, token = link_from_mail_list(backend_server, address)
    newcomer = accept_as_new(backend_server, token)
    assert me(newcomer)["email_verified"] is True
    # No verification mail: the invitation was the proof.
    with pytest.raises(AssertionError):
        link_from_mail_list(backend_server, address, VERIFY_LINK_RE)


# --- password reset -----------------------------------------------------------------------

def test_password_reset_end_to_end(mail_server, mailbox):
    c = mail_server.signup(name="Rita Reset")
    elsewhere = mail_server.login(c.email)
    r = request_reset(mail_server, c.email)
    assert r.json()["message"].startswith("If an account exists")
    msg = mailbox.wait_for(c.email, count=2)  # after the verification mail
    assert msg["Subject"] == "Reset your Gatehouse password"
    text, html = mail_parts(msg)
    token = mailed_token(mailbox, c.email, RESET_LINK_RE)
    link = f"{mail_server.url}/reset-password?token={token}"
    assert link in text and link in html
    assert "1 hour" in text and "127.0.0.1" in text

    anon = mail_server.client()
    confirm = "/v1/auth/password-reset/confirm"
    assert_problem(anon.post(confirm, json={"token": token, "new_password": "short"}), 422,
                   "invalid_password", "new_password")
    assert_problem(anon.post(confirm, json={"token": token}), 422, "required", "new_password")
    r = anon.post(confirm, json={"token": token, "new_password": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["email"] == c.email and body["revoked_sessions"] == 2
    assert "Set-Cookie" not in r.headers  # the new password signs in, not the link
    # Every session ended; the old password is refused, the new one works.
    for s in (c, elsewhere):
        assert_problem(s.get("/v1/me"), 401, "unauthenticated")
    assert_problem(mail_server.client().post("/v1/auth/login",
                                             json={"email": c.email, "password": PASSWORD}),
                   401, "invalid_credentials")
    again = mail_server.login(c.email, NEW_PASSWORD)
    assert me(again)["email_verified"] is True
    # Single use.
    assert_problem(anon.post(confirm, json={"token": token, "new_password": "yet another passphrase"}),
                   410, "token_used", "token")
    # The user is told by mail, and the account's log has it.
    notice = mailbox.wait_for(c.email, count=3)
    assert notice["Subject"] == "Your password was changed"
    assert "2 sessions were signed out" in mail_parts(notice)[0]
    assert actions_about(mail_server, c.user["id"])[-3:] == [
        "user.password_reset_requested", "user.password_reset", "session.created"]
    assert token not in mail_server.logs()


def test_a_newer_reset_link_retires_none_but_using_one_retires_all(backend_server):
    c = backend_server.signup()
    request_reset(backend_server, c.email)
    first = reset_token(backend_server, c.email)
    request_reset(backend_server, c.email)
    _, second = wait_for_stored_link(backend_server, c.email, RESET_LINK_RE, count=1)
    while second == first:  # the job may not have written the second yet
        time.sleep(0.1)
        _, second = wait_for_stored_link(backend_server, c.email, RESET_LINK_RE, count=1)
    confirm = "/v1/auth/password-reset/confirm"
    r = backend_server.client().post(confirm, json={"token": first, "new_password": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    assert_problem(backend_server.client().post(confirm, json={"token": second,
                                                               "new_password": PASSWORD}),
                   410, "token_used")
    backend_server.login(c.email, NEW_PASSWORD)


def test_an_expired_reset_link_is_gone(server):
    c = server.signup()
    request_reset(server, c.email)
    token = reset_token(server, c.email)
    server.sql("UPDATE account_tokens SET created_at = created_at - 3600, expires_at = "
               f"expires_at - 3600 WHERE user_id = '{c.user['id']}'")
    assert_problem(server.client().post("/v1/auth/password-reset/confirm",
                                        json={"token": token, "new_password": NEW_PASSWORD}),
                   410, "token_expired", "token")
    server.login(c.email)  # the password is unchanged


def test_reset_answers_the_same_whether_or_not_the_address_is_registered(mail_server, mailbox):
    registered = mail_server.signup().email
    unknown = unique_email("nobody")
    anon = mail_server.client()

    def ask(address):
        r = anon.post("/v1/auth/password-reset", json={"email": address})
        headers = {k: v for k, v in r.headers.items() if k not in ("Date", "X-Request-Id")}
        return r.status_code, headers, r.content

    assert ask(registered) == ask(unknown)
    assert ask(registered.upper()) == ask(unknown.upper())
    # The same time too: the request only queues; the look-up happens off the request path.
    times = {registered: [], unknown: []}
    for i in range(30):
        # Alternately first: the first request of a pair is the slower one, whatever it asks.
        for address in (registered, unknown) if i % 2 else (unknown, registered):
            t0 = time.perf_counter()
            anon.post("/v1/auth/password-reset", json={"email": address})
            times[address].append(time.perf_counter() - t0)
    medians = {a: statistics.median(t) for a, t in times.items()}
    assert abs(medians[registered] - medians[unknown]) < 0.003, medians
    # Requests are handled in order: once a later one's mail is here, the unknown address's
    # have been handled, and none was mailed.
    marker = mail_server.signup().email
    request_reset(mail_server, marker)
    mailed_token(mailbox, marker, RESET_LINK_RE)
    assert mailbox.to(unknown) == []
    assert_problem(anon.post("/v1/auth/password-reset", json={"email": "not an address"}), 422,
                   "invalid_email", "email")


def test_two_confirmations_at_once_set_one_password(backend_server):
    c = backend_server.signup()
    request_reset(backend_server, c.email)
    token = reset_token(backend_server, c.email)
    passwords = [f"racing passphrase number {i}" for i in range(4)]
    results = [None] * len(passwords)
    start = threading.Barrier(len(passwords))

    def confirm(i):
        client = backend_server.client()
        start.wait()
        results[i] = client.post("/v1/auth/password-reset/confirm",
                                 json={"token": token, "new_password": passwords[i]})

    threads = [threading.Thread(target=confirm, args=(i,)) for i in range(len(passwords))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 410, 410, 410], [r.text for r in results]
    for r in results:
        if r.status_code == 410:
            assert r.json()["code"] == "token_used"
    winner = passwords[[r.status_code for r in results].index(200)]
    backend_server.login(c.email, winner)
    for p in passwords:
        if p != winner:
            r = backend_server.client().post("/v1/auth/login", json={"email": c.email, "password": p})
            assert_problem(r, 401, "invalid_credentials")


# --- limits -------------------------------------------------------------------------------

def test_signups_are_limited_per_ip(start_server, tmp_path):
    srv = limits_server(start_server, tmp_path, {"signups_per_ip_per_hour": 3},
                        ["--trusted-proxies", "127.0.0.1"])
    anon = srv.client()
    def body(email=None):
        return {"email": email or unique_email(), "password": PASSWORD, "name": "Many"}

    first = body()
    assert anon.post("/v1/auth/signup", json=first).status_code == 201
    # Refused attempts count too: an email_taken answer tells registered addresses apart.
    assert_problem(anon.post("/v1/auth/signup", json=first), 409, "email_taken")
    assert anon.post("/v1/auth/signup", json=body()).status_code == 201
    r = anon.post("/v1/auth/signup", json=body())
    assert_problem(r, 429, "rate_limited")
    assert 1 <= int(r.headers["Retry-After"]) <= 3600
    # Another address is counted apart; an IPv6 client is counted by its /64.
    other = {"X-Forwarded-For": "198.51.100.7"}
    assert anon.post("/v1/auth/signup", json=body(), headers=other).status_code == 201
    for i in range(3):
        r = anon.post("/v1/auth/signup", json=body(),
                      headers={"X-Forwarded-For": f"2001:db8:1:2::{i + 1}"})
        assert r.status_code == 201, r.text
    r = anon.post("/v1/auth/signup", json=body(), headers={"X-Forwarded-For": "2001:db8:1:2::ff"})
    assert_problem(r, 429, "rate_limited")


def test_reset_limits_refuse_silently(start_server, tmp_path):
    srv = limits_server(start_server, tmp_path, {"password_resets_per_ip_per_hour": 3,
                                                 "password_resets_per_account_per_hour": 2},
                        ["--trusted-proxies", "127.0.0.1"])
    a, b = srv.signup().email, srv.signup().email
    x = {"X-Forwarded-For": "198.51.100.1"}
    for _ in range(3):  # the third is over A's allowance
        request_reset(srv, a, headers=x)
    request_reset(srv, b, headers=x)  # over the address's allowance: refused, B not counted
    # From another address B is asked for once; requests are handled in order, so once its
    # mail is stored every earlier one has been handled.
    request_reset(srv, b, headers={"X-Forwarded-For": "198.51.100.2"})
    wait_for_stored_link(srv, b, RESET_LINK_RE)
    time.sleep(0.3)
    resets = lambda address: srv.mail_list().count(f"To: {address}\nSubject: Reset")  # noqa: E731
    assert resets(a) == 2
    assert resets(b) == 1
