"""Invitations end to end: email through a real SMTP server (aiosmtpd), the public accept
flow, revocation, expiry, re-sending, the seat limit, bulk CSV, and the mail outbox without
SMTP (`gatehouse mail list`)."""
import calendar
import itertools
import os
import signal
import time
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from ghtest import (INVITE_LINK_RE, INVITE_MESSAGE, PASSWORD, RFC3339_UTC, accept_as_new,
                    assert_problem, invite, join, link_from_mail_list, link_in, mail_parts,
                    start_with_public_url, unique_email, verify_email, Server)


def epoch(rfc3339):
    return calendar.timegm(datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ").timetuple())


def assert_secret_nowhere(token, server, *responses):
    """The token appears in none of these responses and nowhere in the server's logs."""
    for r in responses:
        assert token not in r.text, f"{r.request.method} {r.request.url} shows the token"
        assert token not in str(r.headers), r.headers
    assert token not in server.logs(), "the token leaked into the server's stdout/stderr"


@pytest.fixture
def owner(mail_server):
    return mail_server.signup(name="Grace Hopper")


@pytest.fixture
def ws(owner):
    return owner.create_workspace("Harbor Labs")


def mailed_link(mailbox, address, count=1):
    """The accept link of the `count`-th invitation mailed to `address` (other mail to it,
    such as the verification sent at sign-up, is skipped)."""
    seen = 0
    for n in itertools.count(1):
        text, _ = mail_parts(mailbox.wait_for(address, count=n))
        if INVITE_LINK_RE.search(text):
            seen += 1
            if seen == count:
                return link_in(text)


# --- the whole flow through SMTP ------------------------------------------------------------

def test_invitation_email_link_accept_with_new_account(mail_server, mailbox, owner, ws):
    address = unique_email("invitee")
    r = owner.post(f"/v1/workspaces/{ws['id']}/invitations",
                   json={"email": address, "role": "developer"})
    assert r.status_code == 201, r.text
    inv = r.json()
    assert inv["id"].startswith("inv_")
    assert inv["email"] == address
    assert inv["role"] == "developer"
    assert inv["projects"] == []
    assert inv["status"] == "pending"
    assert inv["invited_by"]["user_id"] == owner.user["id"]
    assert RFC3339_UTC.match(inv["created_at"]) and RFC3339_UTC.match(inv["expires_at"])
    assert epoch(inv["expires_at"]) - epoch(inv["created_at"]) == 7 * 86400
    assert inv["message"] == f"Invitation sent to {address}. You can change their role after they join."
    assert inv["message"] == INVITE_MESSAGE.format(address)

    msg = mailbox.wait_for(address)
    assert msg.envelope_to == [address]
    assert address in msg["To"]
    assert "Harbor Labs" in msg["Subject"] and "Grace Hopper" in msg["Subject"]
    assert msg["From"] and msg["Message-ID"] and msg["Date"]
    text, html = mail_parts(msg)
    link, token = link_in(text)
    assert link == f"{mail_server.url}/accept-invite?token={token}"
    assert len(token) >= 22  # at least 128 random bits
    assert link in html
    assert "Grace Hopper" in text and "Harbor Labs" in text and "Developer" in text
    assert "7 days" in text

    anon = mail_server.client()
    looked = anon.get(f"/v1/invitations/{token}")
    assert looked.status_code == 200, looked.text
    info = looked.json()
    assert info["workspace_name"] == "Harbor Labs"
    assert info["invited_by"]["name"] == "Grace Hopper"
    assert info["email"] == address
    assert info["role"] == "developer"
    assert info["status"] == "pending"
    assert info["expires_at"] == inv["expires_at"]

    accepted = anon.post(f"/v1/invitations/{token}/accept",
                         json={"name": "Ivy Invitee", "password": PASSWORD})
    assert accepted.status_code == 201, accepted.text
    body = accepted.json()
    assert body["workspace_id"] == ws["id"]
    assert body["role"] == "developer"
    assert body["user"]["email"] == address and body["user"]["name"] == "Ivy Invitee"
    cookie = accepted.headers["Set-Cookie"]
    assert cookie.startswith("gh_session=") and "HttpOnly" in cookie
    anon.csrf = body["csrf_token"]

    # The new member is signed in and sees the workspace at once.
    mine = anon.get("/v1/workspaces").json()["data"]
    assert [(w["id"], w["role"]) for w in mine] == [(ws["id"], "developer")]
    me = anon.get("/v1/me").json()
    assert me["email"] == address
    assert [(m["workspace_id"], m["role"]) for m in me["memberships"]] == [(ws["id"], "developer")]
    assert anon.get(f"/v1/workspaces/{ws['id']}").status_code == 200
    # ...and can sign in again with the password chosen on the accept page.
    assert mail_server.login(address).user["id"] == body["user"]["id"]
    members = owner.get(f"/v1/workspaces/{ws['id']}/members").json()
    assert members["total"] == 2
    assert {m["email"]: m["role"] for m in members["data"]}[address] == "developer"

    # Single use.
    assert anon.get(f"/v1/invitations/{token}").json()["status"] == "accepted"
    again = mail_server.client().post(f"/v1/invitations/{token}/accept",
                                      json={"name": "Ivy Again", "password": PASSWORD})
    assert_problem(again, 410, "invitation_used")
    assert_problem(anon.post(f"/v1/invitations/{token}/accept", json={}), 410, "invitation_used")
    pending = owner.get(f"/v1/workspaces/{ws['id']}/invitations")
    assert pending.json()["data"] == []
    everything = owner.get(f"/v1/workspaces/{ws['id']}/invitations", params={"status": "all"})
    assert [(i["id"], i["status"]) for i in everything.json()["data"]] == [(inv["id"], "accepted")]

    assert_secret_nowhere(token, mail_server, r, looked, accepted, again, pending, everything)


def test_accept_signed_in_as_the_invited_email(mail_server, mailbox, owner, ws):
    invitee = verify_email(mail_server, mail_server.signup(name="Already Here"), mailbox)
    invite(owner, ws["id"], invitee.email.upper(), role="viewer")  # addresses are case-insensitive
    _, token = mailed_link(mailbox, invitee.email)
    r = invitee.post(f"/v1/invitations/{token}/accept", json={})
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "viewer"
    assert r.json()["user"]["id"] == invitee.user["id"]
    assert "Set-Cookie" not in r.headers
    assert invitee.get(f"/v1/workspaces/{ws['id']}").json()["role"] == "viewer"
    assert_secret_nowhere(token, mail_server, r)


def test_accept_signed_in_as_another_email_is_403(mail_server, mailbox, owner, ws):
    address = unique_email("meant-for")
    invite(owner, ws["id"], address)
    _, token = mailed_link(mailbox, address)
    stranger = mail_server.signup(name="Someone Else")
    r = stranger.post(f"/v1/invitations/{token}/accept", json={})
    assert_problem(r, 403, "invitation_email_mismatch")
    assert_problem(stranger.get(f"/v1/workspaces/{ws['id']}"), 404, "not_found")
    # The invitation is still usable by its addressee.
    assert mail_server.client().get(f"/v1/invitations/{token}").json()["status"] == "pending"
    accept_as_new(mail_server, token, name="Right Person")


def test_existing_account_must_sign_in_to_accept(mail_server, mailbox, owner, ws):
    existing = verify_email(mail_server, mail_server.signup(name="Has Account"), mailbox)
    invite(owner, ws["id"], existing.email)
    _, token = mailed_link(mailbox, existing.email)
    anon = mail_server.client()
    r = anon.post(f"/v1/invitations/{token}/accept",
                  json={"name": "Impostor", "password": "another password entirely"})
    assert_problem(r, 401, "sign_in_required")
    assert anon.get(f"/v1/invitations/{token}").json()["status"] == "pending"
    signed_in = mail_server.login(existing.email)
    r = signed_in.post(f"/v1/invitations/{token}/accept", json={})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["name"] == "Has Account"


def test_accept_needs_name_and_password_for_a_new_account(mail_server, mailbox, owner, ws):
    address = unique_email("new")
    invite(owner, ws["id"], address)
    _, token = mailed_link(mailbox, address)
    anon = mail_server.client()
    assert_problem(anon.post(f"/v1/invitations/{token}/accept", json={"name": "No Password"}),
                   422, "required", "password")
    r = anon.post(f"/v1/invitations/{token}/accept", json={"name": "Short", "password": "short"})
    assert r.status_code == 422, r.text
    assert anon.get(f"/v1/invitations/{token}").json()["status"] == "pending"
    accept_as_new(mail_server, token)


def test_revoked_invitation_is_gone(mail_server, mailbox, owner, ws):
    address = unique_email("revoked")
    inv = invite(owner, ws["id"], address)
    _, token = mailed_link(mailbox, address)
    r = owner.delete(f"/v1/workspaces/{ws['id']}/invitations/{inv['id']}")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "revoked"
    anon = mail_server.client()
    assert anon.get(f"/v1/invitations/{token}").json()["status"] == "revoked"
    gone = anon.post(f"/v1/invitations/{token}/accept", json={"name": "Too Late", "password": PASSWORD})
    assert_problem(gone, 410, "invitation_revoked")
    assert_problem(owner.delete(f"/v1/workspaces/{ws['id']}/invitations/{inv['id']}"),
                   409, "invitation_not_pending")
    assert owner.get(f"/v1/workspaces/{ws['id']}/invitations").json()["data"] == []
    every = owner.get(f"/v1/workspaces/{ws['id']}/invitations?status=all").json()["data"]
    assert [(i["id"], i["status"]) for i in every] == [(inv["id"], "revoked")]
    # Revoking frees the address for a new invitation.
    invite(owner, ws["id"], address)
    assert_secret_nowhere(token, mail_server, r, gone)


def test_expired_invitation_is_gone(mail_server, mailbox, owner, ws):
    address = unique_email("expired")
    inv = invite(owner, ws["id"], address)
    _, token = mailed_link(mailbox, address)
    mail_server.sql(f"UPDATE invitations SET expires_at = {int(time.time()) - 60} "
                    f"WHERE id = '{inv['id']}'")
    anon = mail_server.client()
    assert anon.get(f"/v1/invitations/{token}").json()["status"] == "expired"
    gone = anon.post(f"/v1/invitations/{token}/accept", json={"name": "Too Late", "password": PASSWORD})
    assert_problem(gone, 410, "invitation_expired")
    assert owner.get(f"/v1/workspaces/{ws['id']}/invitations").json()["data"] == []
    every = owner.get(f"/v1/workspaces/{ws['id']}/invitations?status=all").json()["data"]
    assert [(i["id"], i["status"]) for i in every] == [(inv["id"], "expired")]
    # An expired invitation does not block a new one.
    invite(owner, ws["id"], address)


def test_resend_gives_a_new_link_and_the_old_one_stops_working(mail_server, mailbox, owner, ws):
    address = unique_email("resend")
    inv = invite(owner, ws["id"], address, role="viewer")
    _, old = mailed_link(mailbox, address)
    r = owner.post(f"/v1/workspaces/{ws['id']}/invitations/{inv['id']}/resend")
    assert r.status_code == 200, r.text
    assert r.json()["id"] == inv["id"] and r.json()["status"] == "pending"
    _, new = mailed_link(mailbox, address, count=2)
    assert new != old
    anon = mail_server.client()
    assert_problem(anon.get(f"/v1/invitations/{old}"), 404, "not_found")
    assert_problem(anon.post(f"/v1/invitations/{old}/accept",
                             json={"name": "Old Link", "password": PASSWORD}), 404, "not_found")
    assert anon.get(f"/v1/invitations/{new}").json()["status"] == "pending"
    member = accept_as_new(mail_server, new)
    assert member.get(f"/v1/workspaces/{ws['id']}").json()["role"] == "viewer"
    assert_problem(owner.post(f"/v1/workspaces/{ws['id']}/invitations/{inv['id']}/resend"),
                   409, "invitation_not_pending")
    assert_secret_nowhere(old, mail_server, r)
    assert_secret_nowhere(new, mail_server, r)


@pytest.mark.parametrize("redirect", ["/welcome?step=2&from=mail", "PUBLIC/onboarding/start"])
def test_redirect_url_is_carried_in_the_link(mail_server, mailbox, owner, ws, redirect):
    redirect = redirect.replace("PUBLIC", mail_server.url)
    address = unique_email("redirect")
    inv = invite(owner, ws["id"], address, redirect_url=redirect)
    assert inv["redirect_url"] == redirect
    text, html = mail_parts(mailbox.wait_for(address))
    link, token = link_in(text)
    assert link.startswith(f"{mail_server.url}/accept-invite?token={token}&")
    assert parse_qs(urlsplit(link).query) == {"token": [token], "redirect_url": [redirect]}
    assert link.replace("&", "&amp;") in html
    r = mail_server.client().post(f"/v1/invitations/{token}/accept",
                                  json={"name": "Redirected", "password": PASSWORD})
    assert r.status_code == 201, r.text
    assert r.json()["redirect_url"] == redirect


@pytest.mark.parametrize("redirect", [
    "https://evil.example/welcome",
    "//evil.example/welcome",
    "/\\evil.example",
    "javascript:alert(1)",
    "http://127.0.0.1:1/welcome",
    "ftp://127.0.0.1/x",
])
def test_foreign_redirect_url_is_refused(mail_server, owner, ws, redirect):
    address = unique_email("evil")
    r = owner.post(f"/v1/workspaces/{ws['id']}/invitations",
                   json={"email": address, "redirect_url": redirect})
    assert_problem(r, 422, "invalid_redirect_url", "redirect_url")
    assert owner.get(f"/v1/workspaces/{ws['id']}/invitations").json()["data"] == []


def test_unknown_tokens_are_404(mail_server):
    anon = mail_server.client()
    for token in ["nope", "A" * 43, "x" * 300]:
        assert_problem(anon.get(f"/v1/invitations/{token}"), 404, "not_found")
        assert_problem(anon.post(f"/v1/invitations/{token}/accept",
                                 json={"name": "Nobody", "password": PASSWORD}), 404, "not_found")


def test_errors_on_the_token_routes_never_echo_the_token(server, user, other_user):
    """Problems name the route template in `instance`, never the path with the secret in it,
    whichever layer answers: the handler, the CSRF check, the router or the body limit."""
    ws = user.create_workspace("Echo Co")
    address = unique_email("echo")
    invite(user, ws["id"], address)
    _, token = link_from_mail_list(server, address)
    anon = server.client()
    path = f"/v1/invitations/{token}/accept"
    answers = [
        anon.post(path, data="{", headers={"Content-Type": "application/json"}),          # 400
        anon.post(path, json={"name": "No Password"}),                                     # 422
        other_user.post(path, json={}),                                                    # 403 mismatch
        other_user.post(path, json={}, headers={"X-CSRF-Token": "wrong"}),                 # 403 CSRF
        anon.put(path, json={}),                                                           # 405
        anon.delete(f"/v1/invitations/{token}"),                                           # 405
        anon.post(path, data=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                  headers={"Content-Type": "application/json"}),                           # 413
    ]
    assert [r.status_code for r in answers] == [400, 422, 403, 403, 405, 405, 413]
    for r in answers:
        assert token not in r.text, f"{r.status_code} {r.json().get('code')} echoes the token"
    assert_secret_nowhere(token, server, *answers)
    assert anon.get(f"/v1/invitations/{token}").json()["status"] == "pending"


# --- validation ----------------------------------------------------------------------------

@pytest.mark.parametrize("address", ["not-an-email", "a@", "@example.com", "a b@example.com",
                                     "a@b", "two@@example.com", "", "   "])
def test_invalid_email_is_422(server, user, address):
    ws = user.create_workspace("Validation Co")
    r = user.post(f"/v1/workspaces/{ws['id']}/invitations", json={"email": address})
    assert_problem(r, 422, "invalid_email", "email")


def test_already_member_and_already_invited_are_409(server, user):
    ws = user.create_workspace("Conflicts Co")
    path = f"/v1/workspaces/{ws['id']}/invitations"
    assert_problem(user.post(path, json={"email": user.email}), 409, "already_member", "email")
    member = join(server, user, ws["id"])
    assert_problem(user.post(path, json={"email": member.email.upper()}), 409, "already_member",
                   "email")
    address = unique_email("twice")
    invite(user, ws["id"], address)
    assert_problem(user.post(path, json={"email": address}), 409, "already_invited", "email")
    assert_problem(user.post(path, json={"email": "  " + address.upper() + " "}), 409,
                   "already_invited", "email")
    assert len(user.get(path).json()["data"]) == 1


@pytest.mark.parametrize("role,code", [("owner", "role_not_invitable"), ("superuser", "invalid_role")])
def test_invitation_role_must_be_invitable(user, role, code):
    ws = user.create_workspace("Roles Co")
    r = user.post(f"/v1/workspaces/{ws['id']}/invitations",
                  json={"email": unique_email(), "role": role})
    assert_problem(r, 422, code, "role")


def test_default_invitation_role_is_the_presets(server, user):
    ws = user.create_workspace("Default Role Co")
    inv = invite(user, ws["id"], unique_email())
    assert inv["role"] == "developer"


@pytest.fixture
def tiny_plan_server(start_server, tmp_path):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text('default_plan = "tiny"\n\n[[plans]]\nid = "tiny"\nname = "Tiny"\nmember_limit = 2\n')
    return start_server(extra_args=["--config", str(cfg)])


def test_member_limit_counts_pending_invitations(tiny_plan_server):
    srv = tiny_plan_server
    owner = srv.signup(name="Tiny Owner")
    ws = owner.create_workspace("Tiny Co")
    assert (ws["plan"], ws["member_limit"], ws["member_count"]) == ("tiny", 2, 1)
    path = f"/v1/workspaces/{ws['id']}/invitations"
    first = invite(owner, ws["id"], unique_email("first"))
    # One member and one pending invitation fill the two seats.
    assert_problem(owner.post(path, json={"email": unique_email("second")}), 402,
                   "member_limit_reached")
    bulk = owner.post(path + "/bulk", data=f"email\n{unique_email('third')}\n",
                      headers={"Content-Type": "text/csv"})
    assert bulk.status_code == 200, bulk.text
    assert [(x["status"], x.get("code")) for x in bulk.json()["results"]] == \
        [("error", "member_limit_reached")]
    # Revoking frees the seat; the one who joins takes it for good.
    assert owner.delete(f"{path}/{first['id']}").status_code == 200
    second = unique_email("second")
    invite(owner, ws["id"], second)
    _, token = link_from_mail_list(srv, second)
    accept_as_new(srv, token)
    assert owner.get(f"/v1/workspaces/{ws['id']}").json()["member_count"] == 2
    assert_problem(owner.post(path, json={"email": unique_email("third")}), 402,
                   "member_limit_reached")


# --- mail without SMTP ---------------------------------------------------------------------

def test_without_smtp_mail_is_kept_and_listed(server, user):
    ws = user.create_workspace("Stored Mail Co")
    address = unique_email("stored")
    r = user.post(f"/v1/workspaces/{ws['id']}/invitations", json={"email": address})
    assert r.status_code == 201
    out = server.mail_list()
    block = next(b for b in out.split("\n--- ") if f"\nTo: {address}\n" in b)
    assert "Subject: Ada Lovelace invited you to join Stored Mail Co" in block
    assert "[stored]" in block.splitlines()[0]
    link, token = link_in(block)
    assert urlsplit(link).path == "/accept-invite"
    # The log announces the stored mail, but never its content.
    deadline = time.monotonic() + 10
    while address not in server.logs() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert address in server.logs()
    member = accept_as_new(server, token)
    assert member.get(f"/v1/workspaces/{ws['id']}").status_code == 200
    assert_secret_nowhere(token, server, r)


def test_mail_list_shows_the_newest_mail_first(server, user):
    ws = user.create_workspace("Resent Mail Co")
    address = unique_email("resent")
    inv = invite(user, ws["id"], address)
    for _ in range(4):
        r = user.post(f"/v1/workspaces/{ws['id']}/invitations/{inv['id']}/resend")
        assert r.status_code == 200, r.text
    blocks = [b for b in server.mail_list().split("\n--- ") if f"\nTo: {address}\n" in b]
    assert len(blocks) == 5
    tokens = [link_in(b)[1] for b in blocks]
    anon = server.client()
    live = [t for t in tokens if anon.get(f"/v1/invitations/{t}").status_code == 200]
    assert len(live) == 1
    assert tokens[0] == live[0], "`gatehouse mail list` must show the newest message first"


def test_mail_list_with_an_empty_store(start_server):
    srv = start_server()
    assert srv.mail_list().strip() == "no mail"


# --- delivery is durable -------------------------------------------------------------------

def test_mail_queued_while_smtp_is_down_is_delivered_later_and_survives_a_restart(
        start_server, smtp_sink):
    # Two servers whose SMTP servers are down: A keeps running, B is restarted meanwhile.
    sink_a, sink_b = smtp_sink(start=False), smtp_sink(start=False)
    a = start_with_public_url(start_server, sink_a.url)
    b = start_with_public_url(start_server, sink_b.url)
    to_a, to_b = unique_email("queued-a"), unique_email("queued-b")
    for srv, address in ((a, to_a), (b, to_b)):
        owner = srv.signup(name="Queue Owner")
        ws = owner.create_workspace("Queue Co")
        invite(owner, ws["id"], address)
    for srv in (a, b):  # both tried and failed
        deadline = time.monotonic() + 10
        while "mail delivery failed" not in srv.stderr() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "mail delivery failed" in srv.stderr()
    assert b.stop(signal.SIGTERM) == 0
    sink_a.start()
    sink_b.start()
    b2 = start_with_public_url(start_server, sink_b.url, db=b.db)
    # The worker retries with backoff (15 s after the first failure), so allow for it.
    text_a, _ = mail_parts(sink_a.wait_for(to_a, timeout=45))
    text_b, _ = mail_parts(sink_b.wait_for(to_b, timeout=45))
    _, token_a = link_in(text_a)
    link_b, token_b = link_in(text_b)
    assert link_b.startswith(b.url + "/accept-invite?token=")  # written when it was queued
    assert a.client().get(f"/v1/invitations/{token_a}").json()["status"] == "pending"
    accept_as_new(b2, token_b)
    assert len(sink_a.to(to_a)) == 1 and len(sink_b.to(to_b)) == 1
    for srv, token in ((a, token_a), (b, token_b), (b2, token_b)):
        assert token not in srv.logs()


# --- bulk CSV ------------------------------------------------------------------------------

def bulk(client, ws_id, csv, ctype="text/csv"):
    data = csv.encode("utf-8") if isinstance(csv, str) else csv
    return client.post(f"/v1/workspaces/{ws_id}/invitations/bulk", data=data,
                       headers={"Content-Type": ctype})


def test_bulk_csv_rfc4180_bom_crlf_blank_lines_and_per_row_results(server, user):
    ws = user.create_workspace("Bulk Co")
    dev, view, adm, lf, quoted = (unique_email(t) for t in ("dev", "view", "adm", "lf", "quoted"))
    taken = unique_email("taken")
    invite(user, ws["id"], taken)
    csv = ("\ufeffemail,role,projects\r\n"
           f"{dev},Developer,all\r\n"
           "\r\n"
           f'"{view}","viewer",""\r\n'
           "not-an-email,Viewer,all\r\n"
           f"{adm},ADMIN,ALL\n"
           "\n"
           f"{unique_email('owner')},Owner,all\r\n"
           f"{unique_email('ghost')},Ghost,all\r\n"
           f"{taken},viewer,all\r\n"
           f"{user.email},viewer,all\r\n"
           f'"{quoted}",Viewer,"all"\r\n'
           f"{lf},,\n"
           f'"bad""quote@example.com",Viewer,all\r\n'
           "\r\n")
    r = bulk(user, ws["id"], csv)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    got = [(x["email"], x["status"], x.get("code")) for x in results]
    assert got == [
        (dev, "invited", None),
        (view, "invited", None),
        ("not-an-email", "error", "invalid_email"),
        (adm, "invited", None),
        (got[4][0], "error", "role_not_invitable"),
        (got[5][0], "error", "invalid_role"),
        (taken, "error", "already_invited"),
        (user.email, "error", "already_member"),
        (quoted, "invited", None),
        (lf, "invited", None),
        ('bad"quote@example.com', "error", "invalid_email"),
    ]
    rows = [x["row"] for x in results]
    assert rows == sorted(rows) and len(set(rows)) == len(rows)
    assert all(x["detail"] for x in results if x["status"] == "error")
    pending = {i["email"]: i["role"] for i in
               user.get(f"/v1/workspaces/{ws['id']}/invitations").json()["data"]}
    assert pending == {dev: "developer", view: "viewer", adm: "admin", quoted: "viewer",
                       lf: "developer", taken: "developer"}
    # Each invited row got its own email.
    _, token = link_from_mail_list(server, adm)
    assert server.client().get(f"/v1/invitations/{token}").json()["role"] == "admin"


def test_bulk_role_by_custom_role_name_and_unknown_projects(user):
    ws = user.create_workspace("Bulk Custom Co")
    role = user.post(f"/v1/workspaces/{ws['id']}/roles",
                     json={"name": "Finance Team", "permissions": ["workspace.view", "billing.view"]})
    assert role.status_code == 201, role.text
    a, b = unique_email("fin"), unique_email("prj")
    r = bulk(user, ws["id"], f"email,role,projects\n{a},finance team,all\n{b},viewer,production\n")
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert (results[0]["status"], results[1]["status"]) == ("invited", "error")
    pending = {i["email"]: i["role"] for i in
               user.get(f"/v1/workspaces/{ws['id']}/invitations").json()["data"]}
    assert pending == {a: role.json()["id"]}


def test_bulk_over_1000_rows_is_413(user):
    ws = user.create_workspace("Huge Co")
    rows = "".join(f"bulk-{i}-{unique_email()}\n" for i in range(1001))
    assert_problem(bulk(user, ws["id"], "email,role,projects\n" + rows), 413, "too_many_rows")
    assert user.get(f"/v1/workspaces/{ws['id']}/invitations").json()["data"] == []


def test_bulk_of_exactly_1000_rows_answers_every_row(user):
    ws = user.create_workspace("Thousand Co")
    r = bulk(user, ws["id"], "email\n" + "".join(f"{unique_email('k')}\n" for _ in range(1000)))
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert len(results) == 1000
    limit = ws["member_limit"]
    invited = [x for x in results if x["status"] == "invited"]
    assert len(invited) == limit - 1  # the owner holds a seat
    assert {x.get("code") for x in results if x["status"] == "error"} == {"member_limit_reached"}


@pytest.mark.parametrize("ctype", ["application/json", "text/plain", "multipart/form-data; boundary=x"])
def test_bulk_needs_text_csv(user, ctype):
    ws = user.create_workspace("Typed Co")
    r = bulk(user, ws["id"], f"email\n{unique_email()}\n", ctype=ctype)
    assert r.status_code == 415, r.text
    assert r.json()["code"] == "unsupported_media_type"
    assert user.get(f"/v1/workspaces/{ws['id']}/invitations").json()["data"] == []


def test_bulk_accepts_csv_with_charset(user):
    ws = user.create_workspace("Charset Co")
    r = bulk(user, ws["id"], f"email\n{unique_email()}\n", ctype="text/csv; charset=utf-8")
    assert r.status_code == 200 and r.json()["results"][0]["status"] == "invited", r.text


@pytest.mark.parametrize("csv,status,code", [
    ('email\n"unterminated@example.com\n', 400, "malformed_csv"),
    ("name,role\nx,viewer\n", 422, "invalid_csv_header"),
    ("", 422, "empty_csv"),
])
def test_bulk_bad_files(user, csv, status, code):
    ws = user.create_workspace("Bad CSV Co")
    assert_problem(bulk(user, ws["id"], csv), status, code)


# --- the same flow on PostgreSQL ------------------------------------------------------------

@pytest.fixture(scope="module")
def pg_mail_server(tmp_path_factory, mailbox):
    url = os.environ.get("GATEHOUSE_TEST_PG")
    if not url:
        pytest.skip("GATEHOUSE_TEST_PG is not set")

    def start(db=None, extra_args=(), listen="127.0.0.1:0"):
        d = tmp_path_factory.mktemp("gatehouse-pg-smtp")
        return Server(url, d, extra_args, listen=listen).start()

    srv = start_with_public_url(start, mailbox.url)
    yield srv
    srv.proc.send_signal(signal.SIGTERM)
    assert srv.proc.wait(timeout=10) == 0


def test_invitation_through_smtp_on_postgres(pg_mail_server, mailbox):
    owner = pg_mail_server.signup(name="Pat Postgres")
    ws = owner.create_workspace("Postgres Labs")
    address = unique_email("pg-invitee")
    r = owner.post(f"/v1/workspaces/{ws['id']}/invitations",
                   json={"email": address, "role": "viewer"})
    assert r.status_code == 201, r.text
    text, html = mail_parts(mailbox.wait_for(address))
    link, token = link_in(text)
    assert link == f"{pg_mail_server.url}/accept-invite?token={token}"
    anon = pg_mail_server.client()
    assert anon.get(f"/v1/invitations/{token}").json()["workspace_name"] == "Postgres Labs"
    accepted = anon.post(f"/v1/invitations/{token}/accept",
                         json={"name": "Quinn Invitee", "password": PASSWORD})
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["workspace_id"] == ws["id"]
    assert accepted.json()["role"] == "viewer"
    again = pg_mail_server.client()  # the first client is signed in now
    assert_problem(again.post(f"/v1/invitations/{token}/accept",
                              json={"name": "Quinn Invitee", "password": PASSWORD}),
                   410, "invitation_used")
    members = owner.get(f"/v1/workspaces/{ws['id']}/members").json()
    assert address in [m["email"] for m in members["data"]]
