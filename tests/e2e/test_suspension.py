"""Suspending a member, on both stores: from the next request on, the member is refused in the
workspace (403 member_suspended) and nowhere else, their keys there verify SUSPENDED and the
host's check answers no; member lists say "suspended"; unsuspending restores all of it. Who may
suspend whom, and two admins suspending each other at once (exactly one wins, every time).
"""
import concurrent.futures
import time

import requests

from ghtest import assert_problem, join


def verify(srv, key):
    r = requests.post(srv.url + "/v1/keys/verify", json={"key": key, "endpoint": "/v1/x"},
                      timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["code"]


def status_of(owner, ws, user_id):
    members = owner.get(f"/v1/workspaces/{ws}/members").json()["data"]
    return next(m["status"] for m in members if m["user_id"] == user_id)


def eventually(fn, timeout=5.0):
    """Other processes' caches follow within 2 s; this process's at once."""
    deadline = time.monotonic() + timeout
    while not fn() and time.monotonic() < deadline:
        time.sleep(0.1)
    return fn()


def test_suspension_refuses_the_member_and_their_keys_until_lifted(backend_server):
    srv = backend_server
    owner = srv.signup(name="Sus Owner")
    ws = owner.create_workspace("Suspension Co")["id"]
    dev = join(srv, owner, ws, role="developer", name="Sus Dev")
    own_ws = dev.create_workspace("Dev's own")["id"]
    key = dev.post(f"/v1/workspaces/{ws}/api-keys", json={"name": "dev key"})
    assert key.status_code == 201, key.text
    key = key.json()
    assert verify(srv, key["key"]) == "VALID"
    uid = dev.user["id"]

    r = owner.post(f"/v1/workspaces/{ws}/members/{uid}/suspend",
                   json={"reason": "Unusual export volume"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "suspended"
    assert status_of(owner, ws, uid) == "suspended"
    assert_problem(dev.get(f"/v1/workspaces/{ws}"), 403, "member_suspended")
    assert_problem(dev.post(f"/v1/workspaces/{ws}/api-keys", json={"name": "x"}), 403,
                   "member_suspended")
    assert dev.get(f"/v1/workspaces/{own_ws}").status_code == 200  # elsewhere untouched
    me = dev.get("/v1/me").json()
    assert {m["workspace_id"]: m["status"] for m in me["memberships"]}[ws] == "suspended"
    assert eventually(lambda: verify(srv, key["key"]) == "SUSPENDED")
    check = owner.post("/v1/check", json={"workspace_id": ws, "permission": "logs.view",
                                          "subject": {"type": "api_key", "id": key["id"]}}).json()
    assert check["allowed"] is False and "suspended" in check["reason"]
    check = owner.post("/v1/check", json={"workspace_id": ws, "permission": "logs.view",
                                          "subject": {"type": "user", "id": uid}}).json()
    assert check["allowed"] is False and "suspended" in check["reason"]
    shown = owner.get(f"/v1/workspaces/{ws}/api-keys/{key['id']}").json()
    assert shown["owner_hold"] == "suspended" and shown["revoked_at"] is None
    events = owner.get(f"/v1/workspaces/{ws}/audit-logs", params={"action": "member.suspended"})
    event = events.json()["data"][0]
    assert event["target"]["id"] == uid and event["details"]["reason"] == "Unusual export volume"
    assert event["details"]["keys"] == 1

    r = owner.post(f"/v1/workspaces/{ws}/members/{uid}/unsuspend")
    assert r.status_code == 200 and r.json()["status"] == "active", r.text
    assert dev.get(f"/v1/workspaces/{ws}").status_code == 200
    assert eventually(lambda: verify(srv, key["key"]) == "VALID")
    assert owner.get(f"/v1/workspaces/{ws}/api-keys/{key['id']}").json()["owner_hold"] is None
    assert owner.get(f"/v1/workspaces/{ws}/audit-logs",
                     params={"action": "member.unsuspended"}).json()["data"]


def test_who_may_suspend_whom(backend_server):
    srv = backend_server
    owner = srv.signup(name="Rank Owner")
    ws = owner.create_workspace("Rank Co")["id"]
    admin = join(srv, owner, ws, role="admin", name="Rank Admin")
    dev = join(srv, owner, ws, role="developer", name="Rank Dev")
    base = f"/v1/workspaces/{ws}/members"
    assert_problem(owner.post(f"{base}/{owner.user['id']}/suspend"), 422, "cannot_suspend_self")
    assert_problem(admin.post(f"{base}/{owner.user['id']}/suspend"), 409, "owner_protected")
    assert_problem(dev.post(f"{base}/{admin.user['id']}/suspend"), 403, "forbidden")
    assert_problem(owner.post(f"{base}/usr_doesnotexist000000000/suspend"), 404, "not_found")
    assert_problem(owner.post(f"{base}/{dev.user['id']}/unsuspend"), 409, "not_suspended")
    assert_problem(owner.post(f"{base}/{dev.user['id']}/suspend", json={"reason": "a\nb"}), 422,
                   "invalid_reason", "reason")
    assert admin.post(f"{base}/{dev.user['id']}/suspend").status_code == 200
    assert_problem(admin.post(f"{base}/{dev.user['id']}/suspend"), 409, "already_suspended")
    # Someone else's member is not found from another workspace.
    stranger = srv.signup(name="Stranger")
    other = stranger.create_workspace("Elsewhere")["id"]
    assert stranger.post(f"/v1/workspaces/{other}/members/{dev.user['id']}/unsuspend"
                         ).status_code == 404
    # A suspended member cannot be handed keys or the workspace.
    assert_problem(owner.post(f"/v1/workspaces/{ws}/transfer-ownership",
                              json={"user_id": dev.user["id"]}), 422, "member_suspended")


def test_two_admins_suspending_each_other_leaves_one(backend_server):
    srv = backend_server
    for round_ in range(5):
        owner = srv.signup(name="Race Owner")
        ws = owner.create_workspace(f"Race {round_}")["id"]
        a = join(srv, owner, ws, role="admin", name="Admin A")
        b = join(srv, owner, ws, role="admin", name="Admin B")
        base = f"/v1/workspaces/{ws}/members"
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            ra, rb = pool.map(lambda pair: pair[0].post(f"{base}/{pair[1].user['id']}/suspend"),
                              [(a, b), (b, a)])
        codes = sorted([ra.status_code, rb.status_code])
        assert codes == [200, 403], (ra.text, rb.text)
        loser = ra if ra.status_code == 403 else rb
        assert loser.json()["code"] == "member_suspended"
        statuses = {status_of(owner, ws, a.user["id"]), status_of(owner, ws, b.user["id"])}
        assert statuses == {"active", "suspended"}


def test_without_an_owner_the_last_active_admin_stays(start_server):
    """Admin-member preset (no owner): a suspended admin does not count as the spare one, so
    the only active admin can neither leave nor step down."""
    srv = start_server(extra_args=["--preset", "admin-member"])
    a = srv.signup(name="Admin A")
    ws = a.create_workspace("No Owner Co")["id"]
    b = join(srv, a, ws, name="Admin B")  # invitations join as Member
    assert a.patch(f"/v1/workspaces/{ws}/members/{b.user['id']}",
                   json={"role": "admin"}).status_code == 200
    assert a.post(f"/v1/workspaces/{ws}/members/{b.user['id']}/suspend").status_code == 200
    assert_problem(a.patch(f"/v1/workspaces/{ws}/members/{a.user['id']}", json={"role": "member"}),
                   409, "last_admin")
    assert_problem(a.delete(f"/v1/workspaces/{ws}/members/{a.user['id']}"), 409, "last_admin")
    # With B back, A may step down.
    assert a.post(f"/v1/workspaces/{ws}/members/{b.user['id']}/unsuspend").status_code == 200
    assert a.patch(f"/v1/workspaces/{ws}/members/{a.user['id']}",
                   json={"role": "member"}).status_code == 200
