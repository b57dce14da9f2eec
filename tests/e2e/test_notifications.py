"""Notifications end to end, on both stores: the types and their default rules, rules per
type that decide channels (email over real SMTP, Slack to a sink that judges messages as
hooks.slack.com does, signed webhooks, the in-app inbox), recipients (roles, the person who
did it, the member it is about, named members) and frequency (immediate or the daily digest,
sent by `gatehouse notifications send-digests`); per-person mail preferences; the inbox's
read marks and its workspace scoping; notifications the host raises; rate_limit.exceeded
raised once per key and hour; Slack's refusals handled as permanent, retryable or fatal.
"""
import concurrent.futures
import json
import os
import re
import subprocess
import time
import uuid

import pytest

from ghtest import (INVITE_LINK_RE, TEST_CONFIG, Server, SmtpSink, assert_problem, binary,
                    free_port, invite, join, mail_parts, mailed_token, unique_email)
from webhook_receiver import WebhookReceiver

# Loopback is a trusted proxy here, so that a test can sign in "from" another address.
CONFIG = 'trusted_proxies = ["127.0.0.1"]\n' + TEST_CONFIG + """notification_events_per_workspace_per_hour = 5

[webhooks]
retry_seconds = [1, 1]
allow_private_networks = true
"""

TYPES = {
    "member.invited": "invite_access", "member.joined": "invite_access",
    "member.role_changed": "invite_access", "project.access_granted": "invite_access",
    "session.new_device": "security", "session.new_location": "security",
    "api_key.created": "security", "api_key.revoked": "security",
    "anomaly.detected": "security", "budget.threshold_reached": "system",
    "rate_limit.exceeded": "system", "quality.degraded": "system",
}


def own_database(url):
    """A database of its own: every server on one database is a node that dispatches."""
    name = "notifications_" + uuid.uuid4().hex[:12]
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qc", f"CREATE DATABASE {name}"],
                   check=True, capture_output=True)
    return url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="module")
def sink():
    s = SmtpSink().start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def receiver():
    r = WebhookReceiver()
    yield r
    r.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def srv(request, tmp_path_factory, sink):
    db = None
    if request.param == "postgres":
        db = os.environ.get("GATEHOUSE_TEST_PG")
        if not db:
            pytest.skip("GATEHOUSE_TEST_PG is not set")
        db = own_database(db)
    d = tmp_path_factory.mktemp("gatehouse-notifications")
    path = os.path.join(str(d), "notifications.toml")
    with open(path, "w") as f:
        f.write(CONFIG)
    port = free_port()
    server = Server(db or f"sqlite:{d}/g.db", d,
                    ["--config", path, "--smtp", sink.url, "--public-url", f"http://127.0.0.1:{port}"],
                    listen=f"127.0.0.1:{port}").start()
    yield server
    server.stop()


def wait_until(fn, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def subjects(sink, address):
    return [m["subject"] for m in sink.to(address)]


def inbox(client, ws=None, **params):
    if ws:
        params["workspace"] = ws
    r = client.get("/v1/me/notifications", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def team(srv, sink, name):
    """A workspace with its owner, an admin and a developer (all with real mailboxes)."""
    owner = srv.signup(email=unique_email("owner"), name=f"{name} Owner")
    ws = owner.create_workspace(name)["id"]
    link_for = lambda a: (None, mailed_token(sink, a, INVITE_LINK_RE))  # noqa: E731
    admin = join(srv, owner, ws, role="admin", name=f"{name} Admin", link_for=link_for)
    dev = join(srv, owner, ws, role="developer", name=f"{name} Dev", link_for=link_for)
    # Their joining is mailed to the admins (member.joined): let it arrive before a test counts.
    joined = f"[{name}] {name} Dev joined the workspace"
    assert wait_until(lambda: joined in subjects(sink, owner.email)
                      and joined in subjects(sink, admin.email)), subjects(sink, owner.email)
    return owner, admin, dev, ws


def rule(owner, ws, type_):
    rules = owner.get(f"/v1/workspaces/{ws}/notification-rules").json()["data"]
    return next(r for r in rules if r["type"] == type_)


def test_types_and_the_documents_defaults(srv, sink):
    owner, admin, dev, ws = team(srv, sink, "Defaults Co")
    types = owner.get("/v1/notification-types").json()["data"]
    assert {t["id"]: t["category"] for t in types} == TYPES
    assert all(t["name"] for t in types)
    rules = owner.get(f"/v1/workspaces/{ws}/notification-rules").json()["data"]
    assert [r["type"] for r in rules] == list(TYPES)
    invited = rule(owner, ws, "member.invited")
    # "Member Invited: Email, Slack; Admins only; Immediate"
    assert invited["channels"] == ["email", "slack"]
    assert invited["recipients"] == {"roles": ["owner", "admin"], "actor": False,
                                     "subject": False, "users": []}
    assert invited["frequency"] == "immediate" and invited["is_default"] is True
    # "API Key Created: Email, Webhook; Admins + Creator; Immediate"
    created = rule(owner, ws, "api_key.created")
    assert created["channels"] == ["email", "webhook"]
    assert created["recipients"]["actor"] is True and created["frequency"] == "immediate"
    # Rules are the admins' business.
    assert_problem(dev.get(f"/v1/workspaces/{ws}/notification-rules"), 403, "forbidden")
    assert_problem(dev.put(f"/v1/workspaces/{ws}/notification-rules/member.invited",
                           json={"channels": []}), 403, "forbidden")


def test_rules_are_validated_and_reset(srv, sink):
    owner, admin, dev, ws = team(srv, sink, "Rules Co")
    base = f"/v1/workspaces/{ws}/notification-rules"
    assert_problem(owner.put(base + "/member.invited", json={"channels": ["pager"]}), 422,
                   "invalid_channels", "channels")
    assert_problem(owner.put(base + "/member.invited", json={"frequency": "hourly"}), 422,
                   "invalid_frequency", "frequency")
    assert_problem(owner.put(base + "/member.invited", json={"recipients": {"roles": ["janitor"]}}),
                   422, "invalid_recipients", "recipients.roles")
    stranger = srv.signup(name="Not A Member")
    assert_problem(owner.put(base + "/member.invited",
                             json={"recipients": {"users": [stranger.user["id"]]}}),
                   422, "invalid_recipients", "recipients.users")
    # Gatehouse's own actions that are no notification type have no rule.
    assert owner.put(base + "/member.removed", json={"channels": ["email"]}).status_code == 404
    r = owner.put(base + "/member.invited", json={
        "channels": ["in_app", "email", "in_app"], "frequency": "daily_digest",
        "recipients": {"roles": ["admin"], "actor": True, "users": [dev.user["id"]]}})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["channels"] == ["in_app", "email"] and got["is_default"] is False
    assert got["recipients"] == {"roles": ["admin"], "actor": True, "subject": False,
                                 "users": [dev.user["id"]]}
    assert rule(owner, ws, "member.invited") == got
    # A type of the host's own gets a rule too, listed after the catalogue's.
    r = owner.put(base + "/deploy.failed", json={"channels": ["email"]})
    assert r.status_code == 200, r.text
    rules = owner.get(base).json()["data"]
    assert rules[-1]["type"] == "deploy.failed" and rules[-1]["category"] == "system"
    assert owner.delete(base + "/member.invited").status_code == 204
    assert rule(owner, ws, "member.invited")["is_default"] is True
    assert owner.delete(base + "/deploy.failed").status_code == 204
    assert owner.delete(base + "/deploy.failed").status_code == 404


def test_member_invited_reaches_admins_by_mail_and_slack_but_not_webhooks(srv, sink, receiver):
    owner, admin, dev, ws = team(srv, sink, "Invite Co")
    r = owner.put(f"/v1/workspaces/{ws}/slack",
                  json={"webhook_url": receiver.url(f"/slack/{ws}/T0/B0/secretpart"),
                        "channel": "#team"})
    assert r.status_code == 200, r.text
    slack = r.json()
    assert slack["connected"] is True and slack["channel"] == "#team"
    assert "secretpart" not in slack["webhook_url"] and slack["webhook_url"].endswith("/••••")
    hook = owner.post(f"/v1/workspaces/{ws}/webhooks", json={"url": receiver.url(f"/{ws}/hook")})
    assert hook.status_code == 201, hook.text
    receiver.secrets([hook.json()["secret"]])
    before_owner, before_dev = len(sink.to(owner.email)), len(sink.to(dev.email))
    newcomer = unique_email("newcomer")
    invite(owner, ws, newcomer, role="viewer")
    subject = f"[Invite Co] Invite Co Owner invited {newcomer}"
    assert wait_until(lambda: subject in subjects(sink, admin.email)), subjects(sink, admin.email)
    text, html = mail_parts(next(m for m in sink.to(admin.email) if m["subject"] == subject))
    assert "Role: Viewer" in text and "Workspace: Invite Co" in text
    assert f"/w/{ws}/settings/team" in text and "<p>" in html
    posted = receiver.wait_for(f"/slack/{ws}/T0/B0/secretpart", 1)
    msg = json.loads(posted[0]["body"])
    assert posted[0]["slack_valid"] is True and posted[0]["answered"] == 200
    assert newcomer in msg["text"] and msg["channel"] == "#team"
    assert msg["blocks"][0]["type"] == "section" and "Invite Co Owner invited" in \
        msg["blocks"][0]["text"]["text"]
    # The owner did it (not included: actor is false), the developer holds no listed role.
    r = owner.patch(f"/v1/workspaces/{ws}", json={"timezone": "Europe/Paris"})  # webhooks get it
    assert r.status_code == 200, r.text
    assert wait_until(lambda: any(json.loads(a["body"])["type"] == "workspace.updated"
                                  for a in receiver.attempts(f"/{ws}/hook")))
    time.sleep(0.5)
    assert len(sink.to(owner.email)) == before_owner
    assert len(sink.to(dev.email)) == before_dev
    # member.invited's rule names no webhook: the endpoint never got it.
    types = [json.loads(a["body"])["type"] for a in receiver.attempts(f"/{ws}/hook")]
    assert "member.invited" not in types, types
    # An endpoint that names the type itself asked for it, whatever the rule says.
    named = owner.post(f"/v1/workspaces/{ws}/webhooks",
                       json={"url": receiver.url(f"/{ws}/named"), "event_types": ["member.invited"]})
    assert named.status_code == 201, named.text
    receiver.secrets([hook.json()["secret"], named.json()["secret"]])
    invite(owner, ws, unique_email("named"), role="viewer")
    got = receiver.wait_for(f"/{ws}/named", 1)
    assert json.loads(got[0]["body"])["type"] == "member.invited" and got[0]["verified"]
    time.sleep(0.5)
    types = [json.loads(a["body"])["type"] for a in receiver.attempts(f"/{ws}/hook")]
    assert "member.invited" not in types, types
    # Naming it in the rule sends the next one to every endpoint, signed.
    r = owner.put(f"/v1/workspaces/{ws}/notification-rules/member.invited",
                  json={"channels": ["webhook"]})
    assert r.status_code == 200, r.text
    invite(owner, ws, unique_email("second"), role="viewer")
    assert wait_until(lambda: [a for a in receiver.attempts(f"/{ws}/hook")
                               if json.loads(a["body"])["type"] == "member.invited"
                               and a["verified"]])
    deliveries = owner.get(f"/v1/workspaces/{ws}/slack/deliveries").json()["data"]
    assert [d["status"] for d in deliveries] == ["succeeded", "succeeded"]  # two invitations


def test_api_key_created_mails_the_admins_and_its_creator(srv, sink):
    owner, admin, dev, ws = team(srv, sink, "Keys Co")
    r = dev.post(f"/v1/workspaces/{ws}/api-keys", json={"name": "dev-ci"})
    assert r.status_code == 201, r.text
    subject = "[Keys Co] Keys Co Dev created the API key dev-ci"
    for person in (owner, admin, dev):
        assert wait_until(lambda: subject in subjects(sink, person.email)), \
            (person.email, subjects(sink, person.email))
    # Email and webhook only: nothing in the inbox.
    assert not [n for n in inbox(owner, ws)["data"] if n["type"] == "api_key.created"]


def test_inbox_marks_and_workspace_scoping(srv, sink):
    owner, admin, dev, ws = team(srv, sink, "Inbox Co")
    # member.joined reached both admins' inboxes (the owner's twice: admin and dev joined).
    got = wait_until(lambda: len(inbox(owner, ws)["data"]) >= 2 and inbox(owner, ws))
    assert got, inbox(owner, ws)
    assert got["unread_count"] == 2 and got["next_cursor"] is None
    first = got["data"][0]
    assert first["id"].startswith("ntf_") and first["type"] == "member.joined"
    assert first["workspace_id"] == ws and first["read_at"] is None
    assert first["category"] == "invite_access" and "joined the workspace" in first["title"]
    assert first["link"] == f"/w/{ws}/settings/team" and first["body"] == "Role: Developer"
    page = inbox(owner, ws, limit=1)
    assert len(page["data"]) == 1 and page["next_cursor"] == page["data"][0]["id"]
    rest = inbox(owner, ws, limit=1, cursor=page["next_cursor"])
    assert rest["data"][0]["id"] == got["data"][1]["id"]
    # Someone else cannot read (or even see) it.
    assert dev.post(f"/v1/me/notifications/{first['id']}/read").status_code == 404
    r = owner.post(f"/v1/me/notifications/{first['id']}/read")
    assert r.status_code == 200 and r.json()["read_at"], r.text
    assert inbox(owner, ws)["unread_count"] == 1
    assert [n["id"] for n in inbox(owner, ws, unread="true")["data"]] == [got["data"][1]["id"]]
    r = owner.post("/v1/me/notifications/read-all", json={"workspace_id": ws})
    assert r.status_code == 200 and r.json() == {"updated": 1}, r.text
    assert inbox(owner, ws)["unread_count"] == 0
    # The admin had the dev's joining; removed from the workspace, they no longer see it.
    assert wait_until(lambda: inbox(admin, ws)["data"])
    assert owner.delete(f"/v1/workspaces/{ws}/members/{admin.user['id']}").status_code == 204
    assert inbox(admin)["data"] == [] and inbox(admin)["unread_count"] == 0
    assert inbox(admin, ws)["data"] == []
    assert_problem(admin.post("/v1/me/notifications/read-all", json={"workspace_id": ws}), 404,
                   "not_found")


def test_role_change_tells_the_member_it_is_about(srv, sink):
    owner, admin, dev, ws = team(srv, sink, "Roles Co")
    r = owner.patch(f"/v1/workspaces/{ws}/members/{dev.user['id']}", json={"role": "viewer"})
    assert r.status_code == 200, r.text
    subject = "[Roles Co] Roles Co Owner changed the role of Roles Co Dev"
    assert wait_until(lambda: subject in subjects(sink, dev.email)), subjects(sink, dev.email)
    assert wait_until(lambda: subject in subjects(sink, admin.email))
    assert [n["type"] for n in inbox(dev, ws)["data"]] == ["member.role_changed"]


def test_preferences_mute_or_move_mail_to_the_digest(srv, sink):
    owner, admin, dev, ws = team(srv, sink, "Digest Co")
    prefs = admin.get("/v1/me/notification-preferences").json()
    assert prefs == {"email": {"invite_access": "immediate", "security": "immediate",
                               "system": "immediate"}}
    assert_problem(admin.put("/v1/me/notification-preferences",
                             json={"email": {"security": "weekly"}}), 422, "invalid_preference",
                   "email.security")
    r = admin.put("/v1/me/notification-preferences",
                  json={"email": {"invite_access": "off", "security": "daily_digest"}})
    assert r.status_code == 200, r.text
    assert r.json()["email"] == {"invite_access": "off", "security": "daily_digest",
                                 "system": "immediate"}
    before = len(sink.to(admin.email))
    invite(owner, ws, unique_email("muted"), role="viewer")
    assert owner.post(f"/v1/workspaces/{ws}/api-keys", json={"name": "k1"}).status_code == 201
    assert owner.post(f"/v1/workspaces/{ws}/api-keys", json={"name": "k2"}).status_code == 201
    owner_subject = "[Digest Co] Digest Co Owner created the API key k2"
    assert wait_until(lambda: owner_subject in subjects(sink, owner.email))
    time.sleep(0.5)
    assert len(sink.to(admin.email)) == before  # muted and digested: nothing yet
    out = subprocess.run([binary(), "notifications", "send-digests", "--db", srv.db, "--smtp", sink.url],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert re.search(r"^queued [1-9][0-9]* digests?$", out.stdout, re.M), out.stdout
    digest = "[Digest Co] Your daily digest: 2 events"
    assert wait_until(lambda: digest in subjects(sink, admin.email)), subjects(sink, admin.email)
    text, _ = mail_parts(next(m for m in sink.to(admin.email) if m["subject"] == digest))
    assert "Security (2)" in text and "created the API key k1" in text and "k2" in text
    assert "Invite & access" not in text  # muted, not digested
    # Each line is sent once: two runs at the same time (two nodes) send one digest between
    # them, and a run after them finds nothing.
    assert owner.post(f"/v1/workspaces/{ws}/api-keys", json={"name": "k3"}).status_code == 201
    assert wait_until(lambda: "[Digest Co] Digest Co Owner created the API key k3"
                      in subjects(sink, owner.email))
    time.sleep(0.5)  # the admin's digest line is written in the same transaction
    runs = [subprocess.Popen([binary(), "notifications", "send-digests", "--db", srv.db, "--smtp", sink.url],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    assert all(p.wait(timeout=60) == 0 for p in runs)
    one = "[Digest Co] Your daily digest: 1 event"
    assert wait_until(lambda: one in subjects(sink, admin.email))
    subprocess.run([binary(), "notifications", "send-digests", "--db", srv.db, "--smtp", sink.url], check=True,
                   capture_output=True, timeout=60)
    time.sleep(1.5)
    assert subjects(sink, admin.email).count(digest) == 1
    assert subjects(sink, admin.email).count(one) == 1


def test_the_host_raises_its_own_notifications(srv, sink):
    owner, admin, dev, ws = team(srv, sink, "Host Co")
    key = owner.post(f"/v1/workspaces/{ws}/api-keys", json={"name": "backend"}).json()["key"]
    import requests
    url = srv.url + f"/v1/workspaces/{ws}/notification-events"
    auth = {"Authorization": f"Bearer {key}"}
    r = requests.post(url, headers=auth, timeout=10, json={
        "type": "budget.threshold_reached", "title": "80 % of the monthly budget used",
        "body": "$800 of $1,000", "details": {"percent": 80}})
    assert r.status_code == 202, r.text
    assert r.json()["id"].startswith("evt_") and r.json()["status"] == "accepted"
    subject = "[Host Co] 80 % of the monthly budget used"
    assert wait_until(lambda: subject in subjects(sink, admin.email))
    got = wait_until(lambda: [n for n in inbox(admin, ws)["data"]
                              if n["type"] == "budget.threshold_reached"])
    assert got and got[0]["body"] == "$800 of $1,000" and got[0]["category"] == "system"
    assert_problem(requests.post(url, headers=auth, timeout=10,
                                 json={"type": "member.removed", "title": "x"}),
                   422, "invalid_notification_type", "type")
    assert_problem(requests.post(url, headers=auth, timeout=10,
                                 json={"type": "rate_limit.exceeded", "title": "x"}),
                   422, "invalid_notification_type", "type")
    assert_problem(requests.post(url, headers=auth, timeout=10,
                                 json={"type": "deploy.failed", "title": ""}),
                   422, "invalid_title", "title")
    # A developer may not raise them; the limit (5 an hour here) holds.
    assert_problem(dev.post(f"/v1/workspaces/{ws}/notification-events",
                            json={"type": "quality.degraded", "title": "x"}), 403, "forbidden")
    # 2,000 characters of three bytes each: stored whole, never cut inside a character.
    codes = [requests.post(url, headers=auth, timeout=10,
                           json={"type": "deploy.failed", "title": f"Deploy {i} failed",
                                 "body": "€" * 2000}).status_code
             for i in range(5)]
    assert codes == [202, 202, 202, 202, 429], codes
    long = wait_until(lambda: [n for n in inbox(admin, ws, limit=200)["data"]
                               if n["type"] == "deploy.failed"])
    assert long and long[0]["body"] == "€" * 2000
    # The owner whose key the backend used is an admin like the others: told too.
    assert wait_until(lambda: [n for n in inbox(owner, ws, limit=200)["data"]
                               if n["type"] == "budget.threshold_reached"])


def test_rate_limit_exceeded_once_per_key_and_hour(srv, sink):
    import requests
    owner, admin, dev, ws = team(srv, sink, "Limit Co")
    r = owner.post(f"/v1/workspaces/{ws}/api-keys",
                   json={"name": "tight", "rate_limit": {"per_minute": 1}})
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    codes = [requests.post(srv.url + "/v1/keys/verify", json={"key": key, "endpoint": "/v1/x"},
                           timeout=10).json()["code"] for _ in range(4)]
    assert codes[0] == "VALID" and codes[1:] == ["RATE_LIMITED"] * 3, codes
    got = wait_until(lambda: [n for n in inbox(admin, ws)["data"]
                              if n["type"] == "rate_limit.exceeded"])
    assert got and "tight" in got[0]["title"] and "per minute" in got[0]["title"]
    for _ in range(3):
        requests.post(srv.url + "/v1/keys/verify", json={"key": key, "endpoint": "/v1/x"},
                      timeout=10)
    time.sleep(2.5)  # two bookkeeping flushes
    assert len([n for n in inbox(admin, ws)["data"] if n["type"] == "rate_limit.exceeded"]) == 1
    # The default rule digests its mail: none went out at once.
    assert not [s for s in subjects(sink, admin.email) if "went over" in s]


def test_a_sign_in_from_a_new_device_reaches_the_admins_inbox(srv, sink):
    owner, admin, dev, ws = team(srv, sink, "Device Co")
    srv.login(dev.email, ua="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) "
                            "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 "
                            "Safari/604.1")
    got = wait_until(lambda: [n for n in inbox(owner, ws)["data"]
                              if n["type"] == "session.new_device"])
    assert got and "Device Co Dev signed in from a new device" == got[0]["title"], \
        inbox(owner, ws)["data"]


def test_slack_refusals(srv, sink, receiver):
    owner, admin, dev, ws = team(srv, sink, "Slack Co")
    path = f"/slack/{ws}/T1/B1/x"
    base = f"/v1/workspaces/{ws}"
    assert owner.get(base + "/slack").json() == {"connected": False}
    assert owner.put(base + "/slack", json={"webhook_url": receiver.url(path)}).status_code == 200
    receiver.plan(path, [{"status": 404, "body": "channel_not_found"}])
    r = owner.post(base + "/slack/test")
    assert_problem(r, 502, "slack_test_failed")
    assert "channel_not_found" in r.json()["detail"]
    assert owner.post(base + "/slack/test").status_code == 200
    # invalid_payload is permanent: failed after one attempt, never retried.
    receiver.plan(path, [{"status": 400, "body": "invalid_payload"}])
    invite(owner, ws, unique_email("one"), role="viewer")
    failed = wait_until(lambda: [d for d in owner.get(base + "/slack/deliveries").json()["data"]
                                 if d["status"] == "failed"])
    assert failed and failed[0]["attempts"] == 1 and "invalid_payload" in failed[0]["last_error"]
    # 503 is retried (the schedule here is 1 s, 1 s).
    receiver.plan(path, [503])
    invite(owner, ws, unique_email("two"), role="viewer")
    ok = wait_until(lambda: [d for d in owner.get(base + "/slack/deliveries").json()["data"]
                             if d["status"] == "succeeded" and d["attempts"] == 2])
    assert ok
    # channel_is_archived (410): the connection is disabled until someone reconnects it.
    receiver.plan(path, [{"status": 410, "body": "channel_is_archived"}])
    invite(owner, ws, unique_email("three"), role="viewer")
    state = wait_until(lambda: (lambda s: s if not s["enabled"] else None)(
        owner.get(base + "/slack").json()))
    assert state and "channel_is_archived" in state["disabled_reason"]
    assert owner.put(base + "/slack", json={"webhook_url": receiver.url(path)}).json()["enabled"]
    assert owner.delete(base + "/slack").status_code == 204
    assert owner.get(base + "/slack").json() == {"connected": False}
    assert owner.delete(base + "/slack").status_code == 404


def test_two_nodes_dispatch_each_event_once(srv, sink, tmp_path):
    """A second `gatehouse serve` on the same store dispatches the same bus: each revocation
    reaches each admin's inbox exactly once, whichever node took it."""
    owner, admin, dev, ws = team(srv, sink, "Nodes Co")
    path = os.path.join(str(tmp_path), "node2.toml")
    with open(path, "w") as f:
        f.write(CONFIG)
    node2 = Server(srv.db, tmp_path, ["--config", path]).start()
    try:
        keys = []
        for i in range(12):
            r = owner.post(f"/v1/workspaces/{ws}/api-keys", json={"name": f"node-key-{i}"})
            assert r.status_code == 201, r.text
            keys.append(r.json()["id"])
        # Revocations through both nodes at once.
        other = node2.login(owner.email)
        clients = [owner, other]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            codes = list(pool.map(
                lambda ik: clients[ik[0] % 2].delete(
                    f"/v1/workspaces/{ws}/api-keys/{ik[1]}").status_code,
                enumerate(keys)))
        assert set(codes) <= {200, 204} and len(codes) == 12, codes

        def revoked(c):
            return [n for n in inbox(c, ws, limit=200)["data"] if n["type"] == "api_key.revoked"]

        assert wait_until(lambda: len(revoked(admin)) >= 12), len(revoked(admin))
        time.sleep(1)
        titles = [n["title"] for n in revoked(admin)]
        assert len(titles) == 12 and len(set(titles)) == 12, titles
        # The owner did it and is included (api_key.revoked names the actor): once each too.
        assert len(revoked(owner)) == 12
    finally:
        node2.stop()


def test_every_type_reaches_every_channel_its_rule_names(srv, sink, receiver):
    """Every type Gatehouse or the host can raise today, with its rule set to all four channels
    for the admins: the admin has the mail and the in-app notification, Slack has the message
    and the webhook endpoint the signed event (anomaly.detected comes with the anomaly
    detector, issue 19)."""
    import requests
    owner, admin, dev, ws = team(srv, sink, "Matrix Co")
    base = f"/v1/workspaces/{ws}"
    slack_path = f"/slack/{ws}/T9/B9/all"
    assert owner.put(base + "/slack", json={"webhook_url": receiver.url(slack_path)}).status_code == 200
    hook = owner.post(base + "/webhooks", json={"url": receiver.url(f"/{ws}/all")}).json()
    receiver.secrets([hook["secret"]])
    raised = [t for t in TYPES if t != "anomaly.detected"]
    for t in raised:
        r = owner.put(base + f"/notification-rules/{t}", json={
            "channels": ["email", "slack", "webhook", "in_app"], "frequency": "immediate",
            "recipients": {"roles": ["admin"], "actor": False, "subject": False, "users": []}})
        assert r.status_code == 200, r.text
    assert admin.put("/v1/me/notification-preferences", json={"email": {
        "invite_access": "immediate", "security": "immediate", "system": "immediate"}}).status_code == 200
    # What the owner had so far (the team's joining) is read; nothing new may arrive.
    assert owner.post("/v1/me/notifications/read-all", json={"workspace_id": ws}).status_code == 200
    # Raise each one.
    invite(owner, ws, unique_email("matrix"), role="viewer")                         # member.invited
    joiner = join(srv, owner, ws, role="viewer", name="Matrix Joiner",              # member.joined
                  link_for=lambda a: (None, mailed_token(sink, a, INVITE_LINK_RE)))
    assert owner.patch(base + f"/members/{joiner.user['id']}",                       # role_changed
                       json={"role": "developer"}).status_code == 200
    prj = owner.post(base + "/projects", json={"name": "Matrix project"}).json()["id"]
    assert owner.put(base + f"/projects/{prj}/members/{joiner.user['id']}",          # access_granted
                     json={"role": "viewer"}).status_code in (200, 201)
    c = srv.client(ua="Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0")
    assert c.post("/v1/auth/login", json={"email": dev.email, "password": dev.password}   # new_device
                  ).status_code == 200
    c = srv.client()
    assert c.post("/v1/auth/login", json={"email": dev.email, "password": dev.password},  # new_location
                  headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 200
    key = owner.post(base + "/api-keys", json={"name": "matrix-key",                  # api_key.created
                                               "rate_limit": {"per_minute": 1}}).json()
    for _ in range(3):                                                                # rate_limit.exceeded
        requests.post(srv.url + "/v1/keys/verify", json={"key": key["key"], "endpoint": "/x"}, timeout=10)
    for t in ("budget.threshold_reached", "quality.degraded"):                        # the host's
        assert owner.post(base + "/notification-events",
                          json={"type": t, "title": f"Host says {t}"}).status_code == 202
    assert owner.delete(base + f"/api-keys/{key['id']}").status_code in (200, 204)   # api_key.revoked

    def in_app():
        return {n["type"]: n for n in inbox(admin, ws, limit=200)["data"]}

    assert wait_until(lambda: set(raised) <= set(in_app()), timeout=20), sorted(in_app())
    notes = in_app()
    for t in raised:
        subject = f"[Matrix Co] {notes[t]['title']}"
        assert wait_until(lambda: subject in subjects(sink, admin.email)), (t, subjects(sink, admin.email))

    def slack_types():
        return {d["event_type"] for d in owner.get(base + "/slack/deliveries", params={"limit": 200})
                .json()["data"] if d["status"] == "succeeded"}

    assert wait_until(lambda: set(raised) <= slack_types()), sorted(slack_types())
    # Webhooks carry the event under its own name: an audit action (project.member_added
    # raises project.access_granted) or the notification type.
    expect = (set(raised) - {"project.access_granted"}) | {"project.member_added"}

    def hook_types():
        return {json.loads(a["body"])["type"] for a in receiver.attempts(f"/{ws}/all") if a["verified"]}

    assert wait_until(lambda: expect <= hook_types()), sorted(expect - hook_types())
    body = next(json.loads(a["body"]) for a in receiver.attempts(f"/{ws}/all")
                if json.loads(a["body"])["type"] == "session.new_location")
    assert body["data"]["workspace_id"] == ws and "new location" in body["data"]["title"]
    assert body["data"]["details"]["ip"] == "203.0.113.7"
    # Nobody else was told: the rules named only the admins.
    assert inbox(owner, ws, unread="true")["data"] == []
