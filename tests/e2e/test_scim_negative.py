"""Directory sync (SCIM 2.0): what is refused, on SQLite and PostgreSQL.

- Tokens: one workspace's token on another workspace, a revoked token, no token, a session
  cookie, an API key, a malformed header: 401 in SCIM's error shape. Only the owner manages
  tokens and mappings (an admin gets 403).
- Filters that do not parse, name an unknown attribute or run to 5 KB: 400 invalidFilter.
- Paging: count above 1,000 is clamped (not an error), startIndex below 1 counts as 1, pages are
  stable and disjoint.
- PATCH: an unknown op (invalidSyntax), an unknown core path (invalidPath), a non-boolean
  active (invalidValue); nothing changes.
- Bodies: over 1 MiB is 413; a 1,000-member add in one PATCH works.
- Another workspace's user as a group member is never added (here or there), nor readable.
- A userName that is an unverified account's email: 409, nothing linked.
"""
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from ghtest import assert_problem, join, unique_email
from scim_gatehouse import Directory, scim_server
from scim_replay import PATCH_URN, assert_scim_error

GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def srv(request, tmp_path_factory):
    server = scim_server(request, tmp_path_factory, "gatehouse-scim-neg")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def dir_a(srv):
    return Directory(srv, "Workspace A")


@pytest.fixture(scope="module")
def dir_b(srv):
    return Directory(srv, "Workspace B")


def patch(*ops):
    return {"schemas": [PATCH_URN], "Operations": list(ops)}


def provisioned(d, tag="neg"):
    r = d.create_user(unique_email(tag))
    assert r.status_code == 201, r.text
    return r.json()


# ---- authentication ------------------------------------------------------------------------------

def test_tokens_work_for_their_own_workspace_only(dir_a, dir_b):
    assert dir_a.call("GET", "/Users").status_code == 200
    for path in ("/Users", "/Groups"):
        r = requests.get(dir_b.base_url + path, headers={"Authorization": "Bearer " + dir_a.token}, timeout=15)
        assert_scim_error(r, 401)


def test_no_token_cookie_api_key_or_malformed_header_is_401(srv, dir_a):
    assert_scim_error(dir_a.call("GET", "/Users", token=None), 401)
    # The owner's session cookie (with its CSRF token) is not a SCIM credential.
    r = dir_a.owner.get(dir_a.base_url[len(srv.url):] + "/Users")
    assert_scim_error(r, 401)
    # Nor is a management API key of the owner.
    key = dir_a.owner.post(f"/v1/workspaces/{dir_a.ws}/api-keys", json={"name": "mgmt"})
    assert key.status_code == 201, key.text
    assert_scim_error(dir_a.call("GET", "/Users", token=key.json()["key"]), 401)
    r = requests.get(dir_a.base_url + "/Users", timeout=15,
                     headers={"Authorization": "Basic " + dir_a.token})
    assert_scim_error(r, 401)
    assert_scim_error(dir_a.call("GET", "/Users", token=dir_a.token[:-2]), 401)


def test_revoked_token_is_401_for_good(srv):
    d = Directory(srv, "Revoking Co", mappings=False)
    assert d.call("GET", "/Users").status_code == 200
    r = d.owner.delete(f"/v1/workspaces/{d.ws}/scim/tokens/{d.token_id}")
    assert r.status_code == 204, r.text
    assert_scim_error(d.call("GET", "/Users"), 401)
    assert_scim_error(d.create_user(unique_email("after-revoke")), 401)
    listed = d.owner.get(f"/v1/workspaces/{d.ws}/scim/tokens")
    assert listed.status_code == 200 and d.token not in listed.text


def test_only_the_owner_manages_tokens_and_mappings(srv, dir_a):
    admin = join(srv, dir_a.owner, dir_a.ws, role="admin", name="Admin Person")
    r = admin.post(f"/v1/workspaces/{dir_a.ws}/scim/tokens", json={"name": "mine"})
    assert_problem(r, 403, "forbidden")
    r = admin.put(f"/v1/workspaces/{dir_a.ws}/scim/group-mappings", json=[{"group": "X", "role": "owner"}])
    assert_problem(r, 403, "forbidden")
    r = admin.delete(f"/v1/workspaces/{dir_a.ws}/scim/tokens/{dir_a.token_id}")
    assert r.status_code in (403, 404), r.text
    assert dir_a.call("GET", "/Users").status_code == 200


# ---- filters ---------------------------------------------------------------------------------------

LONG_FILTER = " or ".join(f'userName eq "someone-{i:05d}@example.com"' for i in range(140))


@pytest.mark.parametrize("flt", ['userName eq', 'userName eq "x', '(userName eq "x"', 'foo eq "x"',
                                 'userName eq "x" and', 'userName xx "x"', LONG_FILTER],
                         ids=["no-value", "open-quote", "open-paren", "unknown-attribute", "dangling-and",
                              "unknown-operator", "5kb"])
def test_malformed_filter_is_400_invalid_filter(dir_a, flt):
    if flt is LONG_FILTER:
        assert len(flt) > 5000
    r = dir_a.call("GET", "/Users", params={"filter": flt})
    assert_scim_error(r, 400, "invalidFilter")


def test_group_filter_is_checked_too(dir_a):
    r = dir_a.call("GET", "/Groups", params={"excludedAttributes": "members", "filter": 'displayName eq "x'})
    assert_scim_error(r, 400, "invalidFilter")


# ---- PATCH errors ------------------------------------------------------------------------------------

@pytest.mark.parametrize("op,scim_type", [
    ({"op": "frobnicate", "path": "active", "value": False}, "invalidSyntax"),
    ({"op": "replace", "path": "notAnAttribute", "value": "x"}, "invalidPath"),
    ({"op": "Replace", "path": "active", "value": "maybe"}, "invalidValue"),
    ({"op": "replace", "value": {"active": "maybe"}}, "invalidValue"),
], ids=["unknown-op", "unknown-path", "active-maybe", "no-path-active-maybe"])
def test_bad_patch_is_refused_and_changes_nothing(dir_a, op, scim_type):
    user = provisioned(dir_a)
    r = dir_a.call("PATCH", f"/Users/{user['id']}",
                   json=patch({"op": "replace", "path": "name.givenName", "value": "Changed"}, op))
    assert_scim_error(r, 400, scim_type)
    got = dir_a.call("GET", f"/Users/{user['id']}")
    assert got.status_code == 200, got.text
    assert got.json()["active"] is True and got.json()["name"]["givenName"] == "Dir", got.json()
    assert dir_a.member(user["userName"]).get("status") == "active"


# ---- sizes, paging, a thousand members ----------------------------------------------------------------

def test_body_over_1_mib_is_413(dir_a):
    body = json.dumps({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                       "userName": unique_email("huge"), "displayName": "x" * (1024 * 1024 + 16)})
    r = dir_a.call("POST", "/Users", data=body.encode(), headers={"Content-Type": "application/scim+json"})
    assert r.status_code == 413, r.text[:500]
    # A large body under the limit (the general API's is 64 KiB) reaches SCIM.
    ops = [{"op": "add", "path": "members", "value": [{"value": f"nobody-{i:06d}"} for i in range(3000)]}]
    r = dir_a.call("PATCH", "/Groups/does-not-exist", json=patch(*ops))
    assert r.status_code != 413 and r.status_code in (400, 404), r.text[:500]
    assert dir_a.call("GET", "/Users").status_code == 200


def test_thousand_members_in_one_patch_paging_and_count_clamp(srv):
    d = Directory(srv, "Thousand Co", mappings=False)
    emails = [unique_email(f"bulk{i:04d}") for i in range(1001)]

    def create(chunk):
        s = requests.Session()
        out = []
        for e in chunk:
            r = d.create_user(e, session=s)
            assert r.status_code == 201, r.text
            out.append(r.json()["id"])
        return out

    chunks = [emails[i::8] for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        ids = [i for part in pool.map(create, chunks) for i in part]
    assert len(set(ids)) == 1001

    g = d.call("POST", "/Groups", json={"schemas": [GROUP_URN], "displayName": "Everyone", "members": []})
    assert g.status_code == 201, g.text
    gid = g.json()["id"]
    members = ids[:1000]
    r = d.call("PATCH", f"/Groups/{gid}", timeout=120,
               json=patch({"op": "add", "path": "members", "value": [{"value": i} for i in members]}))
    assert r.status_code in (200, 204), r.text[:500]
    got = d.call("GET", f"/Groups/{gid}", timeout=120)
    assert got.status_code == 200, got.text[:500]
    assert sorted(m["value"] for m in got.json()["members"]) == sorted(members)

    # count above 1,000 is clamped, not refused.
    r = d.call("GET", "/Users", params={"startIndex": 1, "count": 100000000}, timeout=120)
    assert r.status_code == 200, r.text[:500]
    body = r.json()
    assert body["totalResults"] >= 1001 and len(body["Resources"]) == 1000 == body["itemsPerPage"], \
        (body["totalResults"], len(body["Resources"]), body["itemsPerPage"])
    assert body["startIndex"] == 1

    # startIndex below 1 counts as 1.
    first = d.call("GET", "/Users", params={"startIndex": 1, "count": 3}).json()
    for bad in (0, -5):
        r = d.call("GET", "/Users", params={"startIndex": bad, "count": 3})
        assert r.status_code == 200, r.text
        assert r.json()["startIndex"] == 1, r.json()
        assert [x["id"] for x in r.json()["Resources"]] == [x["id"] for x in first["Resources"]]

    # Pages are stable and disjoint, and together hold everyone.
    seen = []
    start = 1
    while True:
        page = d.call("GET", "/Users", params={"startIndex": start, "count": 400}).json()
        assert page["startIndex"] == start and page["itemsPerPage"] == len(page["Resources"])
        seen += [x["id"] for x in page["Resources"]]
        if start + 400 > page["totalResults"]:
            break
        start += 400
    assert len(seen) == len(set(seen)) == body["totalResults"]
    assert set(ids) <= set(seen)


# ---- tenants -----------------------------------------------------------------------------------------

def test_another_workspaces_user_is_never_a_member_here(dir_a, dir_b):
    theirs = provisioned(dir_b, "theirs")
    g = dir_a.call("POST", "/Groups", json={"schemas": [GROUP_URN], "displayName": "Mixed", "members": []})
    assert g.status_code == 201, g.text
    gid = g.json()["id"]
    r = dir_a.call("PATCH", f"/Groups/{gid}",
                   json=patch({"op": "add", "path": "members", "value": [{"value": theirs["id"]}]}))
    if r.status_code >= 400:
        assert_scim_error(r, 400, "invalidValue")
    else:
        assert r.status_code in (200, 204), r.text
    got = dir_a.call("GET", f"/Groups/{gid}").json()
    assert theirs["id"] not in json.dumps(got.get("members") or []), got
    assert dir_a.member(theirs["userName"]) is None
    assert_scim_error(dir_a.call("GET", f"/Users/{theirs['id']}"), 404)
    assert_scim_error(dir_a.call("PATCH", f"/Users/{theirs['id']}",
                                 json=patch({"op": "replace", "value": {"active": False}})), 404)
    assert_scim_error(dir_a.call("DELETE", f"/Users/{theirs['id']}"), 404)
    listed = dir_a.call("GET", "/Users", params={"filter": f'userName eq "{theirs["userName"]}"'}).json()
    assert listed["totalResults"] == 0, listed
    # Still fine where it belongs.
    assert dir_b.member(theirs["userName"]).get("status") == "active"


def test_unverified_account_is_never_linked(srv, dir_a):
    unverified = srv.signup(email=unique_email("unverified"), name="Not Verified")
    r = dir_a.create_user(unverified.email)
    assert_scim_error(r, 409)
    assert dir_a.member(unverified.email) is None
    listed = dir_a.call("GET", "/Users", params={"filter": f'userName eq "{unverified.email}"'}).json()
    assert listed["totalResults"] == 0, listed
    me = unverified.get("/v1/me").json()
    assert dir_a.ws not in [m["workspace_id"] for m in me["memberships"]]
