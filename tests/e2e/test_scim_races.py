"""Directory sync under concurrency, on both stores: what the SCIM server decides is read and
written in one transaction under the workspace lock, so racing requests cannot break it.

- Racing creates of one userName provision one user (one 201, the rest 409 uniqueness), one
  account and one membership.
- A deactivation racing key verifications and the member's own requests: once the PATCH has
  answered, no verification says VALID and no request of theirs gets through.
- Racing group PATCHes that add and remove the same people leave each person's role equal to
  what their final groups map to.
"""
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from ghtest import Server, start_with_public_url, verify_email

SCIM = "application/scim+json"
ROUNDS = 10


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def srv(request, tmp_path_factory):
    db = None
    if request.param == "postgres":
        db = os.environ.get("GATEHOUSE_TEST_PG")
        if not db:
            pytest.skip("GATEHOUSE_TEST_PG is not set")

    def start(db=None, extra_args=(), listen="127.0.0.1:0"):
        d = tmp_path_factory.mktemp("gatehouse-scim-races")
        return Server(db or f"sqlite:{d}/g.db", d, extra_args, listen=listen).start()

    server = start_with_public_url(start, db=db)
    yield server
    server.stop()


class Directory:
    def __init__(self, srv, owner, ws):
        r = owner.post(f"/v1/workspaces/{ws}/scim/tokens", json={"name": "race"})
        assert r.status_code == 201, r.text
        self.base = r.json()["base_url"]
        self.headers = {"Authorization": "Bearer " + r.json()["token"], "Content-Type": SCIM}

    def call(self, method, path, session=None, headers=None, **kw):
        return (session or requests).request(method, self.base + path,
                                             headers={**self.headers, **(headers or {})},
                                             timeout=30, **kw)

    def create(self, email, session=None):
        return self.call("POST", "/Users", session, json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": email,
            "name": {"givenName": "Ra", "familyName": "Ce"}, "active": True})


def setup_workspace(srv, name):
    owner = srv.signup(name="Owner")
    ws = owner.create_workspace(name)["id"]
    return owner, ws, Directory(srv, owner, ws)


def test_racing_creates_of_one_user_name_provision_one_user(srv):
    owner, ws, d = setup_workspace(srv, "Create race")
    for i in range(ROUNDS):
        email = f"dup-{i}-{uuid.uuid4().hex[:6]}@race.test"
        # Case variants of one userName: the same person.
        variants = [email, email.upper(), email.capitalize(), email] * 2
        barrier = threading.Barrier(len(variants))

        def go(v):
            s = requests.Session()
            barrier.wait()
            return d.create(v, s)

        with ThreadPoolExecutor(len(variants)) as pool:
            answers = list(pool.map(go, variants))
        codes = sorted(a.status_code for a in answers)
        assert codes.count(201) == 1, [(a.status_code, a.text[:200]) for a in answers]
        for a in answers:
            if a.status_code != 201:
                assert a.status_code == 409 and a.json()["scimType"] == "uniqueness", a.text
        r = d.call("GET", "/Users", params={"filter": f'userName eq "{email}"'})
        assert r.json()["totalResults"] == 1
        members = owner.get(f"/v1/workspaces/{ws}/members", params={"limit": 100}).json()["data"]
        assert sum(1 for m in members if m["email"] == email) == 1


def test_a_deactivation_racing_verifications_leaves_nothing_valid_after_it_answers(srv):
    owner, ws, d = setup_workspace(srv, "Deactivation race")
    owner.put(f"/v1/workspaces/{ws}/scim/group-mappings", json=[{"group": "Devs", "role": "developer"}])
    person = srv.signup(name="Person")
    verify_email(srv, person)
    r = d.create(person.email)
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    g = d.call("POST", "/Groups", json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                        "displayName": "Devs", "members": [{"value": uid}]})
    assert g.status_code == 201, g.text
    key = person.post(f"/v1/workspaces/{ws}/api-keys", json={"name": "k"})
    assert key.status_code == 201, key.text
    secret = key.json()["key"]
    for i in range(ROUNDS):
        stop = threading.Event()
        after_answer = []  # verifications started after the PATCH answered
        answered = threading.Event()

        def verifier():
            s = requests.Session()
            while not stop.is_set():
                was_answered = answered.is_set()
                v = s.post(srv.url + "/v1/keys/verify", json={"key": secret, "endpoint": "/v1/x"})
                if was_answered:
                    after_answer.append(v.json()["code"])

        threads = [threading.Thread(target=verifier) for _ in range(3)]
        for t in threads:
            t.start()
        r = d.call("PATCH", f"/Users/{uid}", json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": False}}]})
        answered.set()
        assert r.status_code == 200, r.text
        blocked = person.get(f"/v1/workspaces/{ws}")
        deadline = time.monotonic() + 10  # a few verifications that started after the answer
        while len(after_answer) < 6 and time.monotonic() < deadline:
            time.sleep(0.01)
        stop.set()
        for t in threads:
            t.join()
        assert after_answer and set(after_answer) == {"REVOKED"}, after_answer
        assert blocked.status_code == 403 and blocked.json()["code"] == "member_deactivated"
        # Reactivation restores the key and the member, as the contract says.
        r = d.call("PATCH", f"/Users/{uid}", json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "active", "value": "True"}]})
        assert r.status_code == 200, r.text
        v = requests.post(srv.url + "/v1/keys/verify", json={"key": secret, "endpoint": "/v1/x"})
        assert v.json()["code"] == "VALID", (i, v.text)
        assert person.get(f"/v1/workspaces/{ws}").status_code == 200


def test_racing_group_changes_leave_roles_equal_to_the_final_groups(srv):
    owner, ws, d = setup_workspace(srv, "Group race")
    owner.put(f"/v1/workspaces/{ws}/scim/group-mappings",
              json=[{"group": "Admins", "role": "admin"}, {"group": "Devs", "role": "developer"}])
    ids = [d.create(f"g{i}-{uuid.uuid4().hex[:6]}@race.test").json()["id"] for i in range(6)]
    groups = {}
    for name in ("Admins", "Devs"):
        r = d.call("POST", "/Groups", json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                            "displayName": name})
        groups[name] = r.json()["id"]

    def op(kind, gid, uid):
        body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "add", "path": "members", "value": [{"value": uid}]} if kind == "add" else
            {"op": "remove", "path": f'members[value eq "{uid}"]'}]}
        r = d.call("PATCH", f"/Groups/{gid}", requests.Session(), json=body)
        assert r.status_code == 200, r.text

    for i in range(ROUNDS):
        work = []
        for uid in ids:
            for name, gid in groups.items():
                work.append(("add" if (hash((i, uid, name)) % 2) else "remove", gid, uid))
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda w: op(*w), work))
        members = {m["user_id"]: m for m in owner.get(f"/v1/workspaces/{ws}/members",
                                                      params={"limit": 100}).json()["data"]}
        for uid in ids:
            final = {name for name, gid in groups.items()
                     if any(m["value"] == uid for m in d.call("GET", f"/Groups/{gid}").json().get("members", []))}
            want = "admin" if "Admins" in final else "developer" if "Devs" in final else "viewer"
            assert members[uid]["role"] == want, (i, uid, final, members[uid]["role"])


def test_a_deactivated_member_inherits_neither_ownership_nor_keys(srv):
    """Nothing is handed to someone the directory shut out (outside the races above, but the
    same invariant: no credential alive without an active member behind it)."""
    owner, ws, d = setup_workspace(srv, "Heirs")
    heir = srv.signup(name="Heir")
    verify_email(srv, heir)
    uid = d.create(heir.email).json()["id"]
    leaver = srv.signup(name="Leaver")
    verify_email(srv, leaver)
    leaver_id = d.create(leaver.email).json()["id"]
    r = d.call("PATCH", f"/Users/{uid}", json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})
    assert r.status_code == 200 and r.json()["active"] is False, r.text
    r = owner.post(f"/v1/workspaces/{ws}/transfer-ownership", json={"user_id": uid})
    assert r.status_code == 422 and r.json()["code"] == "member_deactivated", r.text
    r = owner.delete(f"/v1/workspaces/{ws}/members/{leaver_id}",
                     params={"revoke_keys": "false", "transfer_to": uid})
    assert r.status_code == 422 and r.json()["code"] == "invalid_transfer_to", r.text
    members = {m["user_id"]: m for m in owner.get(f"/v1/workspaces/{ws}/members").json()["data"]}
    assert members[uid]["status"] == "deactivated" and members[uid]["directory_managed"] is True
    assert members[leaver_id]["status"] == "active"
    assert members[owner.user["id"]]["role"] == "owner"


def test_if_match_refuses_a_write_on_a_stale_version(srv):
    owner, ws, d = setup_workspace(srv, "ETags")
    r = d.create(f"etag-{uuid.uuid4().hex[:6]}@race.test")
    uid, etag = r.json()["id"], r.headers["ETag"]
    assert etag == r.json()["meta"]["version"] == 'W/"1"'
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "name.givenName", "value": "Second"}]}
    r = d.call("PATCH", f"/Users/{uid}", json=body, headers={"If-Match": etag})
    assert r.status_code == 200 and r.headers["ETag"] == 'W/"2"', r.text
    body["Operations"][0]["value"] = "Lost update"
    r = d.call("PATCH", f"/Users/{uid}", json=body, headers={"If-Match": etag})
    assert r.status_code == 412 and r.json()["status"] == "412", r.text
    assert d.call("GET", f"/Users/{uid}").json()["name"]["givenName"] == "Second"


def test_a_token_is_worth_what_its_creator_still_may_do(srv):
    """A SCIM token made by someone who has since lost directory.configure stops working:
    here the owner who made it hands ownership over and becomes an admin."""
    owner, ws, d = setup_workspace(srv, "Creator")
    heir = srv.signup(name="Heir")
    verify_email(srv, heir)
    assert d.create(heir.email).status_code == 201
    assert d.call("GET", "/Users").status_code == 200
    r = owner.post(f"/v1/workspaces/{ws}/transfer-ownership", json={"user_id": heir.user["id"]})
    assert r.status_code == 200, r.text
    r = d.call("GET", "/Users")
    assert r.status_code == 401 and r.json()["status"] == "401", r.text
