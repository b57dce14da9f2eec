"""Sessions and account controls: where sign-ins come from (device, browser, IP, country),
new-device / new-location notices, password change, account deletion, sign-out everywhere.

Most tests run on both stores (`backend_server`: SQLite always, PostgreSQL when
GATEHOUSE_TEST_PG is set); mail is read with `gatehouse mail list` there, and over real SMTP
on `mail_server`. The shared server sees every client as 127.0.0.1, a private address: its
location is null. The last test starts servers behind a trusted proxy (`--trusted-proxies`),
so that X-Forwarded-For gives public addresses that Debian's GeoIP database places; the lookup
is also unit-tested (tests/unit/geoip_test.cpp).
"""
import json
import os
import subprocess

import pytest
import requests

from ghtest import (CHROME_UA, FIREFOX_UA, PASSWORD, assert_problem, join, mail_parts,
                    unique_email)

NEW_PASSWORD = "a brand new passphrase"
FIREFOX_122_UA = FIREFOX_UA.replace("121.0", "122.0")


def query(srv, statement):
    """Rows of one SQL statement on the server's store (sqlite3 or psql)."""
    if srv.db.startswith("sqlite:"):
        out = srv.sql(statement)
    else:
        r = subprocess.run(["psql", srv.db, "-At", "-c", statement], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        out = r.stdout
    return [line for line in out.splitlines() if line.strip()]


def account_events(srv, user_id, action):
    """Details of the account-level events `action` about `user_id`, oldest first."""
    rows = query(srv, "SELECT details FROM audit_events WHERE workspace_id='' AND "
                      f"target_id='{user_id}' AND action='{action}' ORDER BY seq")
    return [json.loads(r) for r in rows]


def mails(srv, address, subject):
    """Bodies of the stored mail to `address` with `subject`, newest first."""
    out = []
    for block in srv.mail_list().split("--- ")[1:]:
        if f"\nTo: {address}\n" in block and f"\nSubject: {subject}\n" in block:
            out.append(block)
    return out


def current_session(client):
    return [s for s in client.get("/v1/me/sessions").json()["data"] if s["current"]][0]


# --- where sign-ins come from -------------------------------------------------------------

def test_session_list_shows_device_browser_ip_and_no_location_for_loopback(backend_server):
    c = backend_server.signup(ua=CHROME_UA)
    s = current_session(c)
    assert (s["device"], s["browser"], s["ip"]) == ("Windows PC", "Chrome 120", "127.0.0.1")
    assert s["location"] is None
    created = account_events(backend_server, c.user["id"], "user.signed_up")
    assert len(created) == 1
    d = created[0]
    assert (d["device"], d["browser"], d["ip"], d["country"]) == (
        "Windows PC", "Chrome 120", "127.0.0.1", None)
    assert d["session_id"] == s["id"]


def test_sign_in_from_a_new_device_is_flagged_and_mailed_once(backend_server):
    srv = backend_server
    c = srv.signup(ua=CHROME_UA)
    uid, email = c.user["id"], c.email
    subject = "New sign-in to your account"
    # The same device and browser from the same address: nothing new, no mail.
    srv.login(email, ua=CHROME_UA)
    events = account_events(srv, uid, "session.created")
    assert len(events) == 1
    assert (events[0]["new_device"], events[0]["new_location"]) == (False, False)
    assert mails(srv, email, subject) == []
    # Another browser on another system: a new device, from a known place.
    ff = srv.login(email, ua=FIREFOX_UA)
    events = account_events(srv, uid, "session.created")
    assert len(events) == 2
    d = events[1]
    assert (d["device"], d["browser"], d["ip"], d["country"]) == (
        "Linux PC", "Firefox 121", "127.0.0.1", None)
    assert (d["new_device"], d["new_location"]) == (True, False)
    assert d["session_id"] == current_session(ff)["id"]
    got = mails(srv, email, subject)
    assert len(got) == 1, got
    body = got[0]
    for line in ("Device: Linux PC", "Browser: Firefox 121", "IP address: 127.0.0.1",
                 "Location: Unknown", "If it was not you"):
        assert line in body, body
    # A browser update is not a new device.
    srv.login(email, ua=FIREFOX_122_UA)
    assert account_events(srv, uid, "session.created")[2]["new_device"] is False
    assert len(mails(srv, email, subject)) == 1


def test_new_device_mail_arrives_over_smtp_and_not_for_a_known_device(mail_server, mailbox):
    c = mail_server.signup(name="Nora Notice")
    assert mailbox.wait_for(c.email)["Subject"] == "Verify your email address"  # sent at sign-up
    mail_server.login(c.email, ua=CHROME_UA)
    msg = mailbox.wait_for(c.email, count=2)
    assert msg["Subject"] == "New sign-in to your account"
    text, html = mail_parts(msg)
    assert "Device: Windows PC" in text and "Browser: Chrome 120" in text
    assert "IP address: 127.0.0.1" in text and "Time: " in text
    assert "Chrome 120" in html
    # The same device again, then a password change: the mail worker delivers oldest first,
    # so once the password notice is in, a second sign-in notice would have been too.
    mail_server.login(c.email, ua=CHROME_UA)
    r = c.post("/v1/me/password", json={"current_password": PASSWORD,
                                         "new_password": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    second = mailbox.wait_for(c.email, count=3)
    assert second["Subject"] == "Your password was changed"
    assert [m["Subject"] for m in mailbox.to(c.email)] == [
        "Verify your email address", "New sign-in to your account", "Your password was changed"]


# --- password change ----------------------------------------------------------------------

def test_password_change_signs_out_other_sessions_and_keeps_this_one(backend_server):
    srv = backend_server
    c = srv.signup(name="Pat Password")
    other = srv.login(c.email)
    r = c.post("/v1/me/password", json={"current_password": PASSWORD,
                                         "new_password": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    assert r.json() == {"revoked_sessions": 1}
    assert_problem(other.get("/v1/me"), 401, "unauthenticated")
    assert c.get("/v1/me").status_code == 200
    assert [s["current"] for s in c.get("/v1/me/sessions").json()["data"]] == [True]
    old = srv.client().post("/v1/auth/login", json={"email": c.email, "password": PASSWORD})
    assert_problem(old, 401, "invalid_credentials")
    assert srv.login(c.email, password=NEW_PASSWORD).user["id"] == c.user["id"]
    assert account_events(srv, c.user["id"], "user.password_changed") == [{"revoked_sessions": 1}]
    got = mails(srv, c.email, "Your password was changed")
    assert len(got) == 1 and "1 other session was signed out." in got[0]


def test_password_change_validation(start_server):
    srv = start_server()  # its own process: failed attempts count towards throttling
    c = srv.signup()
    url = "/v1/me/password"
    assert_problem(c.post(url, json={"current_password": PASSWORD, "new_password": "short"}),
                   422, "invalid_password", "new_password")
    assert_problem(c.post(url, json={"current_password": PASSWORD}), 422, "required",
                   "new_password")
    assert_problem(c.post(url, json={"new_password": NEW_PASSWORD}), 422, "required",
                   "current_password")
    assert_problem(c.post(url, json={"current_password": "wrong password!",
                                     "new_password": NEW_PASSWORD}),
                   403, "invalid_current_password", "current_password")
    # Nothing changed.
    assert srv.login(c.email).user["id"] == c.user["id"]
    assert account_events(srv, c.user["id"], "user.password_changed") == []


def test_wrong_current_passwords_are_throttled_like_logins(start_server):
    srv = start_server()
    c = srv.signup()
    wrong = {"current_password": "wrong password!", "new_password": NEW_PASSWORD}
    for _ in range(5):
        assert_problem(c.post("/v1/me/password", json=wrong), 403, "invalid_current_password")
    r = c.post("/v1/me/password", json=wrong)
    assert_problem(r, 429, "too_many_attempts")
    assert int(r.headers["Retry-After"]) > 0
    # Even the right password waits now: the account is throttled.
    r = c.post("/v1/me/password", json={"current_password": PASSWORD,
                                         "new_password": NEW_PASSWORD})
    assert_problem(r, 429, "too_many_attempts")


def test_api_keys_cannot_change_password_or_delete_the_account(server):
    owner = server.signup()
    ws = owner.create_workspace("Key Co")
    key = owner.post(f"/v1/workspaces/{ws['id']}/api-keys", json={"name": "k"}).json()["key"]
    h = {"Authorization": "Bearer " + key}
    r = requests.post(server.url + "/v1/me/password", headers=h, timeout=15,
                      json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status_code == 403, r.text
    r = requests.delete(server.url + "/v1/me", headers=h, timeout=15,
                        json={"password": PASSWORD, "confirm": "DELETE"})
    assert r.status_code == 403, r.text
    assert server.login(owner.email).user["id"] == owner.user["id"]


# --- account deletion ---------------------------------------------------------------------

def test_account_deletion_is_refused_for_a_workspace_owner(backend_server):
    owner = backend_server.signup(name="Olga Owner")
    ws = owner.create_workspace("Owned Co")
    r = owner.delete("/v1/me", json={"password": PASSWORD, "confirm": "DELETE"})
    body = assert_problem(r, 409, "owns_workspaces")
    assert body["workspaces"] == [{"id": ws["id"], "name": "Owned Co"}]
    assert "Owned Co" in body["detail"]
    assert owner.get("/v1/me").status_code == 200
    assert account_events(backend_server, owner.user["id"], "user.deleted") == []


def test_account_deletion_needs_confirmation_and_the_password(start_server):
    srv = start_server()
    c = srv.signup()
    assert_problem(c.delete("/v1/me", json={"password": PASSWORD}), 422,
                   "confirmation_required", "confirm")
    assert_problem(c.delete("/v1/me", json={"password": PASSWORD, "confirm": "delete"}), 422,
                   "confirmation_required", "confirm")
    assert_problem(c.delete("/v1/me", json={"confirm": "DELETE"}), 422, "required", "password")
    assert_problem(c.delete("/v1/me", json={"password": "not my password", "confirm": "DELETE"}),
                   403, "invalid_current_password", "password")
    assert c.get("/v1/me").status_code == 200


def test_account_deletion_of_a_member(backend_server):
    srv = backend_server
    owner = srv.signup(name="Olive Owner")
    ws = owner.create_workspace("Leaving Co")
    base = f"/v1/workspaces/{ws['id']}"
    member = join(srv, owner, ws["id"], role="admin", name="Dee Parting")
    uid, email = member.user["id"], member.email
    key = member.post(base + "/api-keys", json={"name": "Dee's key"})
    assert key.status_code == 201, key.text
    secret = key.json()["key"]
    verify = lambda: requests.post(srv.url + "/v1/keys/verify", timeout=15,  # noqa: E731
                                   json={"key": secret, "endpoint": "/v1/x"}).json()["code"]
    assert verify() == "VALID"
    other_session = srv.login(email)

    r = member.delete("/v1/me", json={"password": PASSWORD, "confirm": "DELETE"})
    assert r.status_code == 204, r.text
    assert "gh_session=;" in r.headers["Set-Cookie"]
    # Signed out everywhere, key revoked, gone from the team, cannot sign in.
    assert_problem(member.get("/v1/me"), 401, "unauthenticated")
    assert_problem(other_session.get("/v1/me"), 401, "unauthenticated")
    assert verify() == "REVOKED"
    members = owner.get(base + "/members").json()["data"]
    assert uid not in [m["user_id"] for m in members]
    assert_problem(srv.client().post("/v1/auth/login", json={"email": email, "password": PASSWORD}),
                   401, "invalid_credentials")
    # The workspace's log says why the member left; the account log keeps the deletion.
    removed = owner.get(base + "/audit-logs", params={"action": "member.removed"}).json()["data"]
    assert len(removed) == 1
    assert removed[0]["target"]["id"] == uid
    assert removed[0]["actor"]["id"] == uid
    assert removed[0]["details"]["reason"] == "account_deleted"
    assert removed[0]["details"]["revoked_keys"] == 1
    deleted = account_events(srv, uid, "user.deleted")
    assert deleted == [{"workspaces_left": [ws["id"]], "revoked_keys": 1, "revoked_sessions": 2}]
    assert len(mails(srv, email, "Your account was deleted")) == 1
    # The email is free: a new, different account.
    again = srv.signup(email=email, name="Dee Again")
    assert again.user["id"] != uid
    assert again.get("/v1/me").json()["memberships"] == []


# --- sign out everywhere ------------------------------------------------------------------

def test_revoke_all_is_audited_and_takes_effect_on_the_next_request(backend_server):
    srv = backend_server
    c = srv.signup()
    others = [srv.login(c.email, ua=ua) for ua in (CHROME_UA, FIREFOX_UA)]
    for o in others:
        assert o.get("/v1/me").status_code == 200  # cached as live
    r = c.post("/v1/me/sessions/revoke-all")
    assert r.status_code == 200 and r.json()["revoked"] == 2
    for o in others:
        assert_problem(o.get("/v1/me"), 401, "unauthenticated")
    assert account_events(srv, c.user["id"], "session.revoked_all") == [{"revoked": 2}]


# --- the GeoIP database setting -----------------------------------------------------------

def test_geoip_database_is_found_at_the_debian_path_or_set_by_flag(start_server, tmp_path):
    default = start_server()
    if all(os.path.exists(f"/usr/share/GeoIP/{f}") for f in ("GeoIP.dat", "GeoIPv6.dat")):
        assert "geoip: IPv4 + IPv6 from /usr/share/GeoIP" in default.stderr()
    off = start_server(extra_args=["--geoip-db", "off"])
    assert "geoip: off" in off.stderr()
    # A missing database is no error: locations are unknown and sign-ins work.
    missing = start_server(extra_args=["--geoip-db", str(tmp_path / "nothing-here")])
    assert "no GeoIP country database" in missing.stderr()
    c = missing.signup(ua=CHROME_UA)
    assert current_session(c)["location"] is None


def test_location_is_the_country_and_a_new_country_is_a_new_location(server):
    """The server only ever sees 127.0.0.1 here, so the country GeoIP gave an earlier session
    is written into the store directly: the list shows it, and a sign-in from an address of
    no known country (or another one) counts as a new location."""
    c = server.signup(ua=CHROME_UA)
    sid = current_session(c)["id"]
    server.sql(f"UPDATE sessions SET country='RO' WHERE id='{sid}'")
    assert current_session(c)["location"] == {"country": "RO", "country_name": "Romania"}
    server.login(c.email, ua=CHROME_UA)
    d = account_events(server, c.user["id"], "session.created")[0]
    assert (d["new_device"], d["new_location"], d["country"]) == (False, True, None)
    body = mails(server, c.email, "New sign-in to your account")
    assert len(body) == 1 and "Location: Unknown" in body[0]


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_sign_ins_behind_a_trusted_proxy_get_their_country_from_debians_geoip(
        start_server, store):
    """End to end through the real lookup: behind a trusted proxy (X-Forwarded-For) the client
    address is a public one, so the session shows its country, and a sign-in from another
    country is a new location, mailed with that country's name."""
    if not os.path.exists("/usr/share/GeoIP/GeoIP.dat"):
        pytest.skip("Debian's geoip-database is not installed")
    db = None
    if store == "postgres":
        db = os.environ.get("GATEHOUSE_TEST_PG") or pytest.skip("GATEHOUSE_TEST_PG is not set")
    srv = start_server(db=db, extra_args=["--trusted-proxies", "127.0.0.1"])

    def client_from(address):
        c = srv.client(ua=CHROME_UA)
        c.s.headers["X-Forwarded-For"] = address
        return c

    home = client_from("193.231.20.1")  # Romania in the Debian database
    email = unique_email()
    r = home.post("/v1/auth/signup", json={"email": email, "password": PASSWORD, "name": "Ro"})
    assert r.status_code == 201, r.text
    home.csrf = r.json()["csrf_token"]
    user_id = r.json()["user"]["id"]
    s = current_session(home)
    assert (s["ip"], s["location"]) == ("193.231.20.1",
                                        {"country": "RO", "country_name": "Romania"})

    away = client_from("8.8.8.8")  # United States
    r = away.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    away.csrf = r.json()["csrf_token"]
    assert current_session(away)["location"]["country"] == "US"
    d = account_events(srv, user_id, "session.created")[-1]
    assert (d["country"], d["new_location"], d["new_device"]) == ("US", True, False)
    body = mails(srv, email, "New sign-in to your account")
    assert len(body) == 1 and "United States" in body[0] and "8.8.8.8" in body[0]

    # Back home: Romania is known, so no new location and no second mail.
    again = client_from("193.231.20.1")
    r = again.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    d = account_events(srv, user_id, "session.created")[-1]
    assert (d["country"], d["new_location"]) == ("RO", False)
    assert len(mails(srv, email, "New sign-in to your account")) == 1
