"""What one hostile client, one low-privilege member or one sloppy gateway can make the server
do (issue 15), each attack reproduced first, on SQLite and (when GATEHOUSE_TEST_PG is set)
PostgreSQL:

- publishable keys: rate-limited by default, and their first uses from new addresses are not
  written into the tenant's audit log; a secret key records a bounded number per day;
- endpoint rules hold for every spelling of a path (dot segments, escapes, `//`, case, a
  trailing slash, query, fragment, `;`), and a method-restricted key needs the method;
- the audit log records who really called, whatever the host claims;
- roles cannot act on members above them; second factors are throttled like passwords;
- host events need their own permission and are rate-limited per workspace;
- invitation mail is bounded per workspace and per invitation; workspaces per account.
"""
import subprocess
import time

import pytest
import requests

from ghtest import assert_problem, join

POLL_SECONDS = 10


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def srv(request):
    if request.param == "sqlite":
        return request.getfixturevalue("server")
    return request.getfixturevalue("pg_server")


def keys_path(ws_id):
    return f"/v1/workspaces/{ws_id}/api-keys"


def create_key(client, ws_id, name="Test key", **fields):
    r = client.post(keys_path(ws_id), json={"name": name, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def verify(srv, key, endpoint="/v1/chat", session=None, **fields):
    r = (session or requests).post(srv.url + "/v1/keys/verify",
                                   json={"key": key, "endpoint": endpoint, **fields}, timeout=15)
    assert r.status_code == 200, r.text
    return r.json()


def events(client, ws_id, action):
    out, cursor = [], None
    while True:
        params = {"limit": 200, "action": action}
        if cursor:
            params["cursor"] = cursor
        r = client.get(f"/v1/workspaces/{ws_id}/audit-logs", params=params)
        assert r.status_code == 200, r.text
        out += r.json()["data"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return out


def publishable_key(client, ws_id):
    r = client.get(keys_path(ws_id))
    assert r.status_code == 200, r.text
    return next(k for k in r.json()["data"] if k["type"] == "publishable")


# --- 1. publishable keys and new addresses ----------------------------------------------------

def test_a_publishable_key_cannot_write_into_the_audit_log_or_verify_without_bound(srv):
    owner = srv.signup(name="Pat Publisher")
    ws = owner.create_workspace("Public Co")
    pk = publishable_key(owner, ws["id"])
    session = requests.Session()
    # The attack: every verification from a fresh IPv6 address.
    for i in range(300):
        v = verify(srv, pk["key"], ip=f"2001:db8:{i:x}::{i + 1:x}", session=session)
        assert v["code"] == "VALID", v
        assert v["ratelimit"]["limit"] == 600  # the default for publishable keys
    # A secret key in the same workspace, as a control: its first uses are recorded.
    sk = create_key(owner, ws["id"], "Backend")
    verify(srv, sk["key"], ip="203.0.113.9")
    deadline = time.monotonic() + POLL_SECONDS
    while not events(owner, ws["id"], "api_key.new_ip") and time.monotonic() < deadline:
        time.sleep(0.2)
    recorded = events(owner, ws["id"], "api_key.new_ip")
    assert [e["target"]["id"] for e in recorded] == [sk["id"]]
    # The rate limit stops the flood: a burst of 600, refilling at 10 a second.
    codes = [verify(srv, pk["key"], session=session)["code"] for _ in range(900)]
    assert codes.count("RATE_LIMITED") >= 100 and codes[-1] == "RATE_LIMITED"


def test_a_secret_key_records_at_most_its_daily_budget_of_new_addresses(srv):
    owner = srv.signup(name="Sam Secret")
    ws = owner.create_workspace("Cycling Co")
    k = create_key(owner, ws["id"], "Cycled")
    session = requests.Session()
    for i in range(60):  # an attacker cycling through one /64
        assert verify(srv, k["key"], ip=f"2001:db8:1:2::{i + 1:x}", session=session)["valid"]
    # Different spellings of one address are one address.
    for spelling in ("2001:db8:1:2::1", "2001:DB8:1:2:0::1", "2001:0db8:0001:0002::0001"):
        assert verify(srv, k["key"], ip=spelling, session=session)["valid"]
    deadline = time.monotonic() + POLL_SECONDS
    while len(events(owner, ws["id"], "api_key.new_ip")) < 20 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2.5)  # two more flushes: nothing beyond the budget arrives late
    recorded = events(owner, ws["id"], "api_key.new_ip")
    assert len(recorded) == 20
    assert len({e["details"]["ip"] for e in recorded}) == 20
    # Past the budget the key still obeys its allowlist.
    r = owner.patch(f"{keys_path(ws['id'])}/{k['id']}", json={"ip_allowlist": ["2001:db8:1:2::/64"]})
    assert r.status_code == 200, r.text
    assert verify(srv, k["key"], ip="2001:db8:1:2::ffff")["valid"]
    assert verify(srv, k["key"], ip="2001:db8:1:3::1")["code"] == "IP_NOT_ALLOWED"


# --- 3. endpoint rules on canonical paths -------------------------------------------------------

ATTACKS_ON_ALLOW = [
    "/v1/metrics/../admin/users", "/v1/metrics/%2e%2e/admin/users",
    "/v1/metrics/%2E%2E/admin/users", "/v1/metrics/.%2e/admin/users",
    "/v1/metrics/%252e%252e/admin/users", "/v1/metrics/..%2fadmin/users",
    "/v1/metrics/..;/admin/users", "/v1/metrics\\..\\admin",
]
ATTACKS_ON_DENY = [
    "//v1/admin/users", "/v1//admin/users", "/V1/ADMIN/users", "/v1/%61dmin/users",
    "/v1/./admin/users", "/v1/x/../admin/users", "/v1/admin", "/v1/admin/", "/v1/admin?x=1",
    "/v1/admin#frag", "/v1/admin;a=b", "/v1/admin%2fusers", "/v1/%2561dmin/users",
]


def test_endpoint_rules_hold_for_every_spelling_of_a_path(srv):
    owner = srv.signup(name="Gail Gateway")
    ws = owner.create_workspace("Paths Co")
    allow = create_key(owner, ws["id"], "Metrics only", permissions={"allow": ["/v1/metrics/*"]})
    deny = create_key(owner, ws["id"], "No admin", permissions={"deny": ["/v1/admin/*"]})
    for endpoint in ATTACKS_ON_ALLOW:
        assert verify(srv, allow["key"], endpoint)["code"] == "FORBIDDEN_ENDPOINT", endpoint
    for endpoint in ATTACKS_ON_DENY:
        assert verify(srv, deny["key"], endpoint)["code"] == "FORBIDDEN_ENDPOINT", endpoint
    # What an origin server resolves inside the rule is still let through.
    for endpoint in ["/v1/metrics/cpu", "/v1/metrics//cpu", "/v1/metrics/./cpu?x=1",
                     "/v1/%6detrics/cpu", "/v1/metrics/", "/v1/metrics"]:
        assert verify(srv, allow["key"], endpoint)["code"] == "VALID", endpoint
    for endpoint in ["/v1/chat", "/v1/administrators", "/v1/chat?next=/v1/admin/users"]:
        assert verify(srv, deny["key"], endpoint)["code"] == "VALID", endpoint
    # Patterns are stored canonical: a pattern that could never match a canonical path is
    # refused when it is written, not silently ineffective.
    for pattern in ["/v1//admin", "/v1/../admin", "/v1/%61dmin", "/v1/admin;x", "/v1/admin?x"]:
        r = owner.post(keys_path(ws["id"]), json={"name": "p", "permissions": {"deny": [pattern]}})
        assert_problem(r, 422, "invalid_permissions", "permissions.deny")


def test_a_method_restricted_key_needs_the_method(srv):
    owner = srv.signup(name="Mo Method")
    ws = owner.create_workspace("Methods Co")
    k = create_key(owner, ws["id"], "Read only", permissions={"methods": ["GET"]})
    assert verify(srv, k["key"], method="GET")["code"] == "VALID"
    assert verify(srv, k["key"], method="get")["code"] == "VALID"
    assert verify(srv, k["key"], method="POST")["code"] == "FORBIDDEN_ENDPOINT"
    # The attack: leave the method out. It fails closed, as a missing ip does.
    assert verify(srv, k["key"])["code"] == "FORBIDDEN_ENDPOINT"
    assert verify(srv, k["key"], method="")["code"] == "FORBIDDEN_ENDPOINT"
    free = create_key(owner, ws["id"], "Any method")
    assert verify(srv, free["key"])["code"] == "VALID"


# --- 5. no acting on members above you -------------------------------------------------------

VIEWER_PERMS = ["workspace.view", "members.view", "analytics.view", "logs.view", "reports.export"]


def create_role(client, ws_id, name, permissions):
    r = client.post(f"/v1/workspaces/{ws_id}/roles", json={"name": name, "permissions": permissions})
    assert r.status_code == 201, r.text
    return r.json()


def test_a_narrow_role_cannot_demote_or_remove_a_member_above_it(srv):
    owner = srv.signup(name="Olga Owner")
    ws = owner.create_workspace("Ranks Co")
    ws_id = ws["id"]
    changer_role = create_role(owner, ws_id, "Role changer", VIEWER_PERMS + ["members.manage_roles"])
    remover_role = create_role(owner, ws_id, "Remover", VIEWER_PERMS + ["members.remove"])
    reader_role = create_role(owner, ws_id, "Reader", ["workspace.view", "members.view"])
    admin = join(srv, owner, ws_id, role="admin", name="Ada Admin")
    changer = join(srv, owner, ws_id, role="viewer", name="Cy Changer")
    remover = join(srv, owner, ws_id, role="viewer", name="Rex Remover")
    viewer = join(srv, owner, ws_id, role="viewer", name="Vi Viewer")
    member = f"/v1/workspaces/{ws_id}/members"
    for c, role in ((changer, changer_role), (remover, remover_role)):
        r = owner.patch(f"{member}/{c.user['id']}", json={"role": role["id"]})
        assert r.status_code == 200, r.text
    # The attacks.
    assert_problem(changer.patch(f"{member}/{admin.user['id']}", json={"role": reader_role["id"]}),
                   403, "member_outranks_you")
    assert_problem(remover.delete(f"{member}/{admin.user['id']}"), 403, "member_outranks_you")
    roles = {m["user_id"]: m["role"] for m in owner.get(member).json()["data"]}
    assert roles[admin.user["id"]] == "admin"
    # Members they fully cover remain theirs to manage.
    r = changer.patch(f"{member}/{viewer.user['id']}", json={"role": reader_role["id"]})
    assert r.status_code == 200, r.text
    r = remover.delete(f"{member}/{viewer.user['id']}")
    assert r.status_code == 204, r.text
    # An admin still manages another admin (equal, not above).
    other_admin = join(srv, owner, ws_id, role="admin", name="Bo Admin")
    r = admin.patch(f"{member}/{other_admin.user['id']}", json={"role": "developer"})
    assert r.status_code == 200, r.text


def test_check_does_not_reveal_projects_the_caller_cannot_see(srv):
    owner = srv.signup(name="Pia Owner")
    ws_id = owner.create_workspace("Hidden Projects Co")["id"]
    dev = join(srv, owner, ws_id, role="developer", name="Dev Outsider")
    insider = join(srv, owner, ws_id, role="developer", name="Ina Insider")
    r = owner.post(f"/v1/workspaces/{ws_id}/projects", json={"name": "Secret merger"})
    assert r.status_code == 201, r.text
    hidden = r.json()["id"]
    r = owner.put(f"/v1/workspaces/{ws_id}/projects/{hidden}/members/{insider.user['id']}",
                  json={"role": "admin"})
    assert r.status_code == 200, r.text

    def ask(client, project):
        return client.post("/v1/check", json={
            "workspace_id": ws_id, "project_id": project, "permission": "members.invite",
            "subject": {"type": "user", "id": insider.user["id"]}})
    # The outsider gets exactly the answer of a project that does not exist ...
    unknown = ask(dev, "prj_" + "0" * 20)
    assert_problem(unknown, 422, "invalid_project", "project_id")
    hidden_answer = ask(dev, hidden)
    assert_problem(hidden_answer, 422, "invalid_project", "project_id")
    assert hidden_answer.json()["detail"] == unknown.json()["detail"]
    # ... while the owner, who sees every project, learns the insider's role there.
    r = ask(owner, hidden)
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "admin" and r.json()["allowed"] is True, r.json()


# --- 6. second factors and passwords share one throttle --------------------------------------

def test_wrong_totp_codes_from_a_stolen_session_are_throttled_like_passwords(start_server):
    # The throttle is in memory (no store involved): one dedicated server, whose address
    # counters start empty.
    srv = start_server()
    user = srv.signup(name="Tim Totp")
    r = user.post("/v1/me/mfa/totp")
    assert r.status_code == 200, r.text
    secret = r.json()["secret"]

    def now_code():
        return subprocess.run(["oathtool", "--totp", "-b", secret], capture_output=True,
                              text=True, check=True).stdout.strip()

    r = user.post("/v1/me/mfa/totp/verify", json={"code": now_code()})
    assert r.status_code == 200, r.text
    answers = [user.delete("/v1/me/mfa/totp", json={"code": f"{n:06d}"}) for n in range(8)]
    statuses = [a.status_code for a in answers]
    assert statuses[:5] == [422] * 5, statuses
    assert statuses[5:] == [429] * 3, statuses
    assert_problem(answers[-1], 429, "too_many_attempts")
    assert int(answers[-1].headers["Retry-After"]) > 0
    # Even the right code waits now, and so does a password guess on the account.
    assert user.delete("/v1/me/mfa/totp", json={"code": now_code()}).status_code == 429
    r = requests.post(srv.url + "/v1/auth/login", timeout=15,
                      json={"email": user.email, "password": "not the password at all"})
    assert_problem(r, 429, "too_many_attempts")
    assert user.get("/v1/me").json()["mfa_enabled"] is True


def test_a_burst_of_concurrent_guesses_gets_no_more_than_the_allowed_failures(start_server):
    from concurrent.futures import ThreadPoolExecutor
    srv = start_server()
    victim = srv.signup(name="Vic Victim")

    def guess(n):
        return requests.post(srv.url + "/v1/auth/login", timeout=30,
                             json={"email": victim.email, "password": f"guess number {n}"}).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(guess, range(16)))
    assert statuses.count(401) == 5, statuses  # [login] max_failures_per_account
    assert statuses.count(429) == 11, statuses


# --- 4 and 9. host events: their own permission, a rate, and the real caller ------------------

def test_a_key_cannot_make_the_log_say_the_owner_did_it(srv):
    owner = srv.signup(name="Oona Owner")
    ws = owner.create_workspace("Forgery Co")
    dev = join(srv, owner, ws["id"], role="developer", name="Dee Developer")
    key = create_key(dev, ws["id"], "Dev's key")
    r = requests.post(srv.url + f"/v1/workspaces/{ws['id']}/audit-logs", timeout=15,
                      headers={"Authorization": f"Bearer {key['key']}"},
                      json={"action": "billing.card_removed", "actor": owner.user["id"]})
    assert r.status_code == 201, r.text
    stored = events(owner, ws["id"], "billing.card_removed")
    assert len(stored) == 1
    e = stored[0]
    assert e["actor"]["type"] == "api_key" and e["actor"]["id"] == key["id"]
    assert e["actor"]["email"] == dev.email  # the key's owner, not the Owner
    assert e["details"]["on_behalf_of"]["id"] == owner.user["id"]


def test_posting_host_events_needs_its_permission(srv):
    owner = srv.signup(name="Hal Host")
    ws = owner.create_workspace("Events Co")
    viewer = join(srv, owner, ws["id"], role="viewer", name="Val Viewer")
    path = f"/v1/workspaces/{ws['id']}/audit-logs"
    assert_problem(viewer.post(path, json={"action": "logs.viewed", "details": {"x": "y" * 16000}}),
                   403, "forbidden")
    assert owner.post(path, json={"action": "logs.viewed"}).status_code == 201


def test_host_events_are_rate_limited_per_workspace(start_server):
    dedicated = start_server(extra_args=["--config", str(limits_file(host_events_per_workspace_per_minute=5))])
    o = dedicated.signup(name="Rae Rate")
    w1, w2 = o.create_workspace("One"), o.create_workspace("Two")
    statuses = [o.post(f"/v1/workspaces/{w1['id']}/audit-logs", json={"action": "logs.viewed"}).status_code
                for _ in range(7)]
    assert statuses == [201] * 5 + [429] * 2, statuses
    r = o.post(f"/v1/workspaces/{w1['id']}/audit-logs", json={"action": "logs.viewed"})
    assert_problem(r, 429, "rate_limited")
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    # Another workspace has its own budget.
    assert o.post(f"/v1/workspaces/{w2['id']}/audit-logs", json={"action": "logs.viewed"}).status_code == 201


def limits_file(**limits):
    """A configuration file holding a `[limits]` table (removed with the temp dir)."""
    import os
    import tempfile
    fd, path = tempfile.mkstemp(prefix="gatehouse-limits-", suffix=".toml")
    with os.fdopen(fd, "w") as f:
        f.write("[limits]\n")
        for k, v in limits.items():
            f.write(f"{k} = {v}\n")
    return path


# --- 8. mail as a weapon ------------------------------------------------------------------------

def test_invitation_resends_and_mails_are_bounded(start_server):
    dedicated = start_server(extra_args=["--config", str(limits_file(
        invitation_mails_per_workspace_per_hour=4, invitation_resends_per_invitation_per_day=2,
        invitation_resend_cooldown_seconds=2))])
    owner = dedicated.signup(name="Ivy Inviter")
    ws = owner.create_workspace("Mailer Co")
    inv_path = f"/v1/workspaces/{ws['id']}/invitations"
    r = owner.post(inv_path, json={"email": "target@example.com"})
    assert r.status_code == 201, r.text
    inv = r.json()
    resend = f"{inv_path}/{inv['id']}/resend"
    # The attack: resend again and again to one address.
    assert owner.post(resend).status_code == 200
    r = owner.post(resend)
    assert_problem(r, 429, "too_many_invitations")  # the cooldown
    time.sleep(2.1)
    assert owner.post(resend).status_code == 200
    time.sleep(2.1)
    assert_problem(owner.post(resend), 429, "too_many_invitations")  # two a day
    # Four mails an hour for the workspace: one more invitation, then 429.
    assert owner.post(inv_path, json={"email": "second@example.com"}).status_code == 201
    r = owner.post(inv_path, json={"email": "third@example.com"})
    assert_problem(r, 429, "too_many_invitations")
    assert int(r.headers["Retry-After"]) > 0
    listed = owner.get(inv_path).json()["data"]
    assert sorted(i["email"] for i in listed) == ["second@example.com", "target@example.com"]


def test_workspaces_per_account_are_capped(start_server):
    dedicated = start_server(extra_args=["--config", str(limits_file(workspaces_per_account=3))])
    owner = dedicated.signup(name="Wes Workspaces")
    from concurrent.futures import ThreadPoolExecutor

    def create(n):
        return owner.post("/v1/workspaces", json={"name": f"Space {n}"})

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(create, range(6)))
    assert sorted(a.status_code for a in answers) == [201] * 3 + [429] * 3
    assert_problem(next(a for a in answers if a.status_code == 429), 429, "too_many_workspaces")
    assert len(owner.get("/v1/workspaces").json()["data"]) == 3


# --- 10. stored Idempotency-Key answers per account -------------------------------------------

def test_new_idempotency_keys_per_account_are_bounded(start_server):
    dedicated = start_server(extra_args=[
        "--config", str(limits_file(idempotency_keys_per_account_per_hour=3))])
    a, b = dedicated.signup(name="Ida Idem"), dedicated.signup(name="Bo Other")
    ws = a.create_workspace("Idem Co")
    path = f"/v1/workspaces/{ws['id']}/projects"

    def create(client, key, name):
        return client.post(path, json={"name": name}, headers={"Idempotency-Key": key})
    first = create(a, "k-0", "P0")
    assert first.status_code == 201, first.text
    for i in (1, 2):
        assert create(a, f"k-{i}", f"P{i}").status_code == 201
    # A repeat of a stored key is replayed and costs nothing ...
    again = create(a, "k-0", "P0")
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    # ... a fourth new key is refused before anything is stored or done ...
    r = create(a, "k-3", "P3")
    assert_problem(r, 429, "rate_limited")
    assert 1 <= int(r.headers["Retry-After"]) <= 3600
    names = sorted(p["name"] for p in a.get(path).json()["data"])
    assert names == ["P0", "P1", "P2"], names
    # ... while requests without a key, and other accounts, go on.
    assert a.post(path, json={"name": "P4"}).status_code == 201
    ws_b = b.create_workspace("Other Idem Co")
    r = b.post(f"/v1/workspaces/{ws_b['id']}/projects", json={"name": "Q"},
               headers={"Idempotency-Key": "k-0"})
    assert r.status_code == 201, r.text
