"""Directory sync (SCIM 2.0) end to end, on SQLite and PostgreSQL: the request sequences that
Okta, Microsoft Entra ID and Entra ID with the aadOptscim062020 flag really send (replayed from
tests/e2e/scim/*.json, sources named in each file), with checks through the normal API after the
steps that matter: who is a member, with which role, status and projects; a linked account's API
key verifying VALID, REVOKED while deactivated, VALID again, REVOKED for good after DELETE; the
member refused in the workspace with member_deactivated while their session keeps working for
their own workspace; the audit events. Also: the owner cannot be deactivated, deleted or
re-roled by the directory."""
import pytest

import scim_replay as replay
from ghtest import verify_email
from scim_gatehouse import HOOKS, Directory, scim_server

CLIENTS = ["okta", "entra", "entra_aadopt"]
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def srv(request, tmp_path_factory):
    server = scim_server(request, tmp_path_factory, "gatehouse-scim")
    yield server
    server.stop()


# ---- the sequence files themselves (no server needed) -------------------------------------------

@pytest.mark.parametrize("client", CLIENTS)
def test_sequence_file_is_well_formed_and_covers_the_lifecycle(client):
    seq = replay.load(client)
    replay.validate(seq, HOOKS)
    assert seq["client"] == client
    requests_ = [s for s in seq["steps"] if "check" not in s]
    calls = [(s["method"], s["path"].split("/{")[0]) for s in requests_]
    # The connection test comes first.
    assert requests_[0]["method"] == "GET" and requests_[0]["path"] == "/Users"
    # Every user create is preceded by a lookup of that userName (the clients look before they create).
    for i, s in enumerate(requests_):
        if (s["method"], s["path"]) == ("POST", "/Users") and s["expect_status"] == 201:
            name = s["body"]["userName"]
            assert any(p["method"] == "GET" and p["path"] == "/Users" and name in str(p.get("query"))
                       for p in requests_[:i]), f"{s['name']} without a lookup before it"
    for needed in [("POST", "/Users"), ("GET", "/Users"), ("POST", "/Groups"), ("PATCH", "/Groups"),
                   ("DELETE", "/Groups"), ("PATCH", "/Users")]:
        assert needed in calls, needed
    if client == "okta":
        assert ("DELETE", "/Users") not in calls, "Okta never deletes users"
        assert ("PUT", "/Users") in calls
        assert seq["query_encoding"] == "percent"
    else:
        assert ("DELETE", "/Users") in calls
        ops = {op["op"] for s in requests_ if s["method"] == "PATCH" for op in s["body"]["Operations"]}
        assert ops == ({"add", "remove", "replace"} if client == "entra_aadopt" else {"Add", "Remove", "Replace"})
    # Sources are named in the file.
    assert all(src.startswith(("Okta", "Microsoft")) and "http" in src for src in seq["sources"])


# ---- the replays --------------------------------------------------------------------------------

@pytest.mark.parametrize("client", CLIENTS)
def test_replay(srv, client):
    seq = replay.load(client)
    d = Directory(srv, f"{client} Co")
    linked = d.linked_account()
    r = replay.Replay.for_sequence(seq, d.base_url, d.token, hooks=HOOKS,
                                   variables=d.variables(linked), context={"dir": d})
    r.run(seq)
    # The directory never touched the owner.
    owner = d.member(d.owner.email)
    assert owner["role"] == "owner" and owner.get("status") == "active", owner
    assert not owner.get("directory_managed"), owner
    # Everything it did is in the tamper-evident chain.
    v = d.owner.get(f"/v1/workspaces/{d.ws}/audit-logs/verify")
    assert v.status_code == 200 and v.json()["valid"] is True, v.text


# ---- the owner is out of the directory's reach ----------------------------------------------------

def test_owner_cannot_be_deactivated_deleted_or_reroled_by_the_directory(srv):
    d = Directory(srv, "Owner Guard Co")
    verify_email(srv, d.owner)
    r = replay.Replay(d.base_url, d.token, hooks=HOOKS, context={"dir": d},
                      variables={"owner_email": d.owner.email})
    # Okta assigns the app to everyone, its admin included: lookup, then create (which links the
    # owner's verified account to the membership it already has).
    found = r.request({"name": "owner: lookup", "method": "GET", "path": "/Users",
                       "query": {"filter": 'userName eq "{owner_email}"'}, "expect_status": 200})
    if found.json()["totalResults"] == 1:
        r.vars["owner_id"] = found.json()["Resources"][0]["id"]
    else:
        r.request({"name": "owner: provision", "method": "POST", "path": "/Users", "expect_status": 201,
                   "body": {"schemas": [USER_URN], "userName": "{owner_email}", "active": True,
                            "name": {"givenName": "Owner", "familyName": "Person"}},
                   "capture": {"owner_id": "/id"}})
    mutability = {"/scimType": "mutability"}
    r.run([
        {"name": "owner: Okta deactivation is refused", "method": "PATCH", "path": "/Users/{owner_id}",
         "body": {"schemas": [replay.PATCH_URN], "Operations": [{"op": "replace", "value": {"active": False}}]},
         "expect_status": 400, "expect": mutability},
        {"name": "owner: Entra deactivation is refused", "method": "PATCH", "path": "/Users/{owner_id}",
         "body": {"schemas": [replay.PATCH_URN],
                  "Operations": [{"op": "Replace", "path": "active", "value": "False"}]},
         "expect_status": 400, "expect": mutability},
        {"name": "owner: deactivation by PUT is refused", "method": "PUT", "path": "/Users/{owner_id}",
         "body": {"schemas": [USER_URN], "id": "{owner_id}", "userName": "{owner_email}", "active": False,
                  "name": {"givenName": "Owner", "familyName": "Person"}},
         "expect_status": 400, "expect": mutability},
        {"name": "owner: DELETE is refused", "method": "DELETE", "path": "/Users/{owner_id}",
         "expect_status": 400, "expect": mutability},
        {"name": "owner: still active", "method": "GET", "path": "/Users/{owner_id}", "expect_status": 200,
         "expect": {"/active": True}},
        {"name": "group Admins: create", "method": "POST", "path": "/Groups", "expect_status": 201,
         "body": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Admins", "members": []},
         "capture": {"adm_id": "/id"}},
        {"name": "group Admins: add the owner", "method": "PATCH", "path": "/Groups/{adm_id}",
         "body": {"schemas": [replay.PATCH_URN],
                  "Operations": [{"op": "add", "path": "members", "value": [{"value": "{owner_id}"}]}]},
         "expect_status": [200, 204]},
        {"name": "owner keeps the owner role", "check": "member",
         "args": {"email": "{owner_email}", "role": "owner", "status": "active"}},
        {"name": "group Admins: remove the owner", "method": "PATCH", "path": "/Groups/{adm_id}",
         "body": {"schemas": [replay.PATCH_URN],
                  "Operations": [{"op": "remove", "path": 'members[value eq "{owner_id}"]'}]},
         "expect_status": [200, 204]},
        {"name": "owner still keeps the owner role", "check": "member",
         "args": {"email": "{owner_email}", "role": "owner", "status": "active"}},
    ])
    assert d.owner.get(f"/v1/workspaces/{d.ws}").status_code == 200
    usr = d.owner.user["id"]
    assert not [e for e in d.events("member.role_changed") if (e.get("target") or {}).get("id") == usr]
    assert d.events("directory.user_deactivated") == [] and d.events("directory.user_deleted") == []
