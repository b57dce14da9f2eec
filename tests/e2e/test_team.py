"""Members and custom roles: the team list, role changes and removals that take effect on the
member's very next request, the owner's protections, ownership transfer, custom roles and
privilege escalation, and the audit events of all of it."""
import pytest

from ghtest import RFC3339_UTC, assert_problem, invite, join, unique_email

MISSING_USER = "usr_" + "0" * 22


@pytest.fixture
def team(server, user):
    """A four-role workspace: the owner (`user`), an admin, a developer and a viewer."""
    ws = user.create_workspace("Team Co")
    return {
        "ws": ws,
        "owner": user,
        "admin": join(server, user, ws["id"], role="admin", name="Alice Admin"),
        "developer": join(server, user, ws["id"], role="developer", name="Bob Developer"),
        "viewer": join(server, user, ws["id"], role="viewer", name="Carol Viewer"),
    }


def members_of(client, ws_id, **params):
    r = client.get(f"/v1/workspaces/{ws_id}/members", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def role_of(client, ws_id, user_id):
    return {m["user_id"]: m["role"] for m in members_of(client, ws_id)["data"]}.get(user_id)


def actions(client, ws_id, **params):
    r = client.get(f"/v1/workspaces/{ws_id}/audit-logs", params={"limit": 200, **params})
    assert r.status_code == 200, r.text
    return r.json()["data"]


def create_role(client, ws_id, name, permissions, **fields):
    r = client.post(f"/v1/workspaces/{ws_id}/roles",
                    json={"name": name, "permissions": permissions, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def set_role(client, ws_id, user_id, role):
    return client.patch(f"/v1/workspaces/{ws_id}/members/{user_id}", json={"role": role})


# --- the member list -----------------------------------------------------------------------

def test_member_list_has_every_field_and_a_total(team):
    ws, owner = team["ws"], team["owner"]
    body = members_of(team["viewer"], ws["id"])
    assert body["total"] == 4
    assert body["next_cursor"] is None
    data = body["data"]
    assert sorted((m["role"], m["name"]) for m in data) == [
        ("admin", "Alice Admin"), ("developer", "Bob Developer"), ("owner", "Ada Lovelace"),
        ("viewer", "Carol Viewer")]
    joined = [m["joined_at"] for m in data]
    assert joined == sorted(joined)  # oldest first
    for m in data:
        assert set(m) >= {"user_id", "name", "email", "role", "projects", "last_login_at",
                          "joined_at"}
        assert m["user_id"].startswith("usr_")
        assert m["projects"] == []
        assert RFC3339_UTC.match(m["joined_at"])
        assert m["last_login_at"] is None or RFC3339_UTC.match(m["last_login_at"])
    by_role = {m["role"]: m for m in data}
    assert by_role["owner"]["user_id"] == owner.user["id"]
    assert by_role["owner"]["email"] == owner.email
    assert by_role["admin"]["user_id"] == team["admin"].user["id"]
    assert by_role["admin"]["email"] == team["admin"].email
    assert owner.get(f"/v1/workspaces/{ws['id']}").json()["member_count"] == 4


def test_member_list_pages_keep_the_total(team):
    ws = team["ws"]
    first = members_of(team["owner"], ws["id"], limit=3)
    assert len(first["data"]) == 3 and first["total"] == 4 and first["next_cursor"]
    second = members_of(team["owner"], ws["id"], limit=3, cursor=first["next_cursor"])
    assert len(second["data"]) == 1 and second["total"] == 4 and second["next_cursor"] is None
    ids = [m["user_id"] for m in first["data"] + second["data"]]
    assert ids == [m["user_id"] for m in members_of(team["owner"], ws["id"])["data"]]


def test_pending_invitations_are_not_members(team):
    ws = team["ws"]
    invite(team["owner"], ws["id"], unique_email("pending"))
    assert members_of(team["owner"], ws["id"])["total"] == 4


# --- role changes --------------------------------------------------------------------------

def test_role_change_takes_effect_on_the_very_next_request(team):
    ws, owner, admin = team["ws"], team["owner"], team["admin"]
    path = f"/v1/workspaces/{ws['id']}"
    assert admin.patch(path, json={"name": "Renamed By Admin"}).status_code == 200
    r = set_role(owner, ws["id"], admin.user["id"], "viewer")
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "viewer" and r.json()["user_id"] == admin.user["id"]
    denied = admin.patch(path, json={"name": "Not Anymore"})
    body = assert_problem(denied, 403, "forbidden")
    assert "workspace.edit" in body["detail"]
    perms = admin.get(path + "/permissions").json()
    assert perms["role"] == "viewer" and "workspace.edit" not in perms["permissions"]
    assert admin.get(path).json()["role"] == "viewer"
    assert admin.get("/v1/me").json()["memberships"][0]["role"] == "viewer"
    assert role_of(owner, ws["id"], admin.user["id"]) == "viewer"
    # Promotion is as immediate.
    assert set_role(owner, ws["id"], admin.user["id"], "admin").status_code == 200
    assert admin.patch(path, json={"name": "Admin Again"}).status_code == 200


def test_role_change_validation(team):
    ws, owner, dev = team["ws"], team["owner"], team["developer"]
    assert_problem(set_role(owner, ws["id"], dev.user["id"], "owner"), 422,
                   "use_transfer_ownership", "role")
    assert_problem(set_role(owner, ws["id"], dev.user["id"], "superuser"), 422, "invalid_role",
                   "role")
    assert_problem(set_role(owner, ws["id"], MISSING_USER, "viewer"), 404, "not_found")
    assert_problem(owner.patch(f"/v1/workspaces/{ws['id']}/members/{dev.user['id']}", json={}),
                   422, "required", "role")
    assert role_of(owner, ws["id"], dev.user["id"]) == "developer"


def test_admins_manage_everyone_but_the_owner(team):
    ws, owner, admin = team["ws"], team["owner"], team["admin"]
    other_admin = team["developer"]
    assert set_role(owner, ws["id"], other_admin.user["id"], "admin").status_code == 200
    assert set_role(admin, ws["id"], other_admin.user["id"], "viewer").status_code == 200
    assert role_of(owner, ws["id"], other_admin.user["id"]) == "viewer"
    assert_problem(set_role(admin, ws["id"], owner.user["id"], "viewer"), 409, "owner_protected")
    assert_problem(admin.delete(f"/v1/workspaces/{ws['id']}/members/{owner.user['id']}"), 409,
                   "owner_protected")
    assert_problem(set_role(admin, ws["id"], owner.user["id"], "admin"), 409, "owner_protected")
    assert role_of(owner, ws["id"], owner.user["id"]) == "owner"


def test_the_owner_cannot_demote_or_remove_themselves(team):
    ws, owner = team["ws"], team["owner"]
    assert_problem(set_role(owner, ws["id"], owner.user["id"], "admin"), 409, "owner_protected")
    assert_problem(owner.delete(f"/v1/workspaces/{ws['id']}/members/{owner.user['id']}"), 409,
                   "owner_protected")
    assert owner.get(f"/v1/workspaces/{ws['id']}").json()["role"] == "owner"


# --- removal -------------------------------------------------------------------------------

def test_removal_ends_access_at_once(team):
    ws, owner, dev = team["ws"], team["owner"], team["developer"]
    path = f"/v1/workspaces/{ws['id']}"
    assert dev.get(path).status_code == 200
    r = owner.delete(f"{path}/members/{dev.user['id']}")
    assert r.status_code == 204, r.text
    assert_problem(dev.get(path), 404, "not_found")
    assert_problem(dev.get(path + "/members"), 404, "not_found")
    assert_problem(dev.get(path + "/permissions"), 404, "not_found")
    assert dev.get("/v1/workspaces").json()["data"] == []
    assert dev.get("/v1/me").json()["memberships"] == []
    body = members_of(owner, ws["id"])
    assert body["total"] == 3 and dev.user["id"] not in {m["user_id"] for m in body["data"]}
    assert_problem(owner.delete(f"{path}/members/{dev.user['id']}"), 404, "not_found")
    # The account itself still works, and may be invited back.
    invite(owner, ws["id"], dev.email)


def test_removal_with_revoke_keys(team):
    ws, owner = team["ws"], team["owner"]
    path = f"/v1/workspaces/{ws['id']}/members"
    assert_problem(owner.delete(f"{path}/{team['viewer'].user['id']}?revoke_keys=maybe"), 422,
                   "invalid_type", "revoke_keys")
    assert owner.delete(f"{path}/{team['viewer'].user['id']}?revoke_keys=true").status_code == 204
    assert_problem(team["viewer"].get(f"/v1/workspaces/{ws['id']}"), 404, "not_found")
    removed = [e for e in actions(owner, ws["id"]) if e["action"] == "member.removed"]
    assert removed[0]["target"]["id"] == team["viewer"].user["id"]
    assert removed[0]["details"]["revoke_keys"] is True


def test_admin_removes_a_member_but_a_viewer_cannot(team):
    ws, admin, viewer, dev = team["ws"], team["admin"], team["viewer"], team["developer"]
    body = assert_problem(viewer.delete(f"/v1/workspaces/{ws['id']}/members/{dev.user['id']}"),
                          403, "forbidden")
    assert "members.remove" in body["detail"]
    assert admin.delete(f"/v1/workspaces/{ws['id']}/members/{dev.user['id']}").status_code == 204
    assert_problem(dev.get(f"/v1/workspaces/{ws['id']}"), 404, "not_found")


# --- ownership -----------------------------------------------------------------------------

def test_transfer_ownership(team):
    ws, owner, admin, dev = team["ws"], team["owner"], team["admin"], team["developer"]
    path = f"/v1/workspaces/{ws['id']}/transfer-ownership"
    body = assert_problem(admin.post(path, json={"user_id": dev.user["id"]}), 403, "forbidden")
    assert "workspace.transfer_ownership" in body["detail"]
    assert_problem(dev.post(path, json={"user_id": dev.user["id"]}), 403, "forbidden")
    assert_problem(owner.post(path, json={"user_id": MISSING_USER}), 422, "not_a_member", "user_id")
    assert_problem(owner.post(path, json={"user_id": owner.user["id"]}), 422, "invalid_user",
                   "user_id")
    r = owner.post(path, json={"user_id": dev.user["id"]})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == ws["id"] and r.json()["role"] == "admin"
    roles = {m["user_id"]: m["role"] for m in members_of(owner, ws["id"])["data"]}
    assert roles[dev.user["id"]] == "owner" and roles[owner.user["id"]] == "admin"
    assert list(roles.values()).count("owner") == 1
    # Both feel it on their next request.
    assert dev.get(f"/v1/workspaces/{ws['id']}").json()["role"] == "owner"
    assert owner.get(f"/v1/workspaces/{ws['id']}").json()["role"] == "admin"
    assert_problem(owner.post(path, json={"user_id": owner.user["id"]}), 403, "forbidden")
    assert_problem(owner.delete(f"/v1/workspaces/{ws['id']}", json={"confirm": "DELETE"}), 403,
                   "forbidden")
    assert owner.patch(f"/v1/workspaces/{ws['id']}", json={"name": "Still Admin"}).status_code == 200
    assert_problem(owner.delete(f"/v1/workspaces/{ws['id']}/members/{dev.user['id']}"), 409,
                   "owner_protected")
    # The new owner can hand it back.
    assert dev.post(path, json={"user_id": owner.user["id"]}).status_code == 200
    assert owner.get(f"/v1/workspaces/{ws['id']}").json()["role"] == "owner"


# --- audit ---------------------------------------------------------------------------------

def test_team_changes_are_audited(server, team):
    ws, owner, dev, viewer = team["ws"], team["owner"], team["developer"], team["viewer"]
    wid = ws["id"]
    pending = invite(owner, wid, unique_email("to-revoke"))
    assert owner.delete(f"/v1/workspaces/{wid}/invitations/{pending['id']}").status_code == 200
    assert set_role(owner, wid, viewer.user["id"], "developer").status_code == 200
    assert owner.delete(f"/v1/workspaces/{wid}/members/{viewer.user['id']}").status_code == 204
    role = create_role(owner, wid, "Auditors", ["workspace.view", "audit_log.view"])
    assert owner.post(f"/v1/workspaces/{wid}/transfer-ownership",
                      json={"user_id": dev.user["id"]}).status_code == 200
    events = actions(dev, wid)
    by_action = {}
    for e in events:
        by_action.setdefault(e["action"], []).append(e)
    for action in ("member.invited", "member.joined", "member.role_changed", "member.removed",
                   "invitation.revoked", "workspace.ownership_transferred", "role.created"):
        assert action in by_action, (action, sorted(by_action))
    assert len(by_action["member.joined"]) == 3
    assert len(by_action["member.invited"]) == 4
    changed = by_action["member.role_changed"][0]
    assert changed["target"]["id"] == viewer.user["id"]
    assert changed["actor"]["id"] == owner.user["id"]
    assert (changed["details"]["from"], changed["details"]["to"]) == ("viewer", "developer")
    removed = by_action["member.removed"][0]
    assert removed["target"]["id"] == viewer.user["id"]
    joined = {e["actor"]["id"] for e in by_action["member.joined"]}
    assert joined == {team["admin"].user["id"], dev.user["id"], viewer.user["id"]}
    assert by_action["invitation.revoked"][0]["target"]["id"] == pending["id"]
    assert by_action["role.created"][0]["target"]["id"] == role["id"]
    transferred = by_action["workspace.ownership_transferred"][0]
    assert transferred["target"]["id"] == dev.user["id"]
    assert transferred["actor"]["id"] == owner.user["id"]


# --- custom roles --------------------------------------------------------------------------

FINANCE = ["analytics.view_costs", "billing.view", "reports.export_costs"]


def test_roles_list_built_in_and_custom(team):
    ws = team["ws"]
    r = team["viewer"].get(f"/v1/workspaces/{ws['id']}/roles")
    assert r.status_code == 200, r.text
    roles = r.json()["data"]
    assert [(x["id"], x["name"], x["builtin"]) for x in roles] == [
        ("owner", "Owner", True), ("admin", "Admin", True), ("developer", "Developer", True),
        ("viewer", "Viewer", True)]
    created = create_role(team["owner"], ws["id"], "Finance Team", FINANCE,
                          description="Costs and invoices")
    roles = team["viewer"].get(f"/v1/workspaces/{ws['id']}/roles").json()["data"]
    custom = [x for x in roles if not x["builtin"]]
    assert custom == [created]
    assert created["id"].startswith("role_")
    assert created["name"] == "Finance Team" and created["description"] == "Costs and invoices"
    assert sorted(created["permissions"]) == sorted(FINANCE)
    viewer = next(x for x in roles if x["id"] == "viewer")
    assert set(viewer["permissions"]) == {"workspace.view", "members.view", "analytics.view",
                                          "logs.view", "reports.export"}


def test_custom_role_create_update_delete(team):
    ws, owner = team["ws"], team["owner"]
    path = f"/v1/workspaces/{ws['id']}/roles"
    role = create_role(owner, ws["id"], "Data Scientist",
                       ["analytics.view", "data.export", "reports.create", "embeddings.access"])
    r = owner.patch(f"{path}/{role['id']}",
                    json={"name": "Data Science", "permissions": ["analytics.view", "data.export"]})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Data Science"
    assert sorted(r.json()["permissions"]) == ["analytics.view", "data.export"]
    listed = {x["id"]: x for x in owner.get(path).json()["data"]}
    assert listed[role["id"]]["name"] == "Data Science"
    assert owner.delete(f"{path}/{role['id']}").status_code == 204
    assert role["id"] not in {x["id"] for x in owner.get(path).json()["data"]}
    assert_problem(owner.delete(f"{path}/{role['id']}"), 404, "not_found")
    assert_problem(owner.patch(f"{path}/{role['id']}", json={"name": "Ghost"}), 404, "not_found")
    assert_problem(owner.patch(f"{path}/admin", json={"name": "Boss"}), 409, "builtin_role")
    assert_problem(owner.delete(f"{path}/viewer"), 409, "builtin_role")


@pytest.mark.parametrize("permissions", [["logs.view", "logs.fly"], ["*"], ["Workspace.View"], [""]])
def test_unknown_permission_is_422(team, permissions):
    ws, owner = team["ws"], team["owner"]
    r = owner.post(f"/v1/workspaces/{ws['id']}/roles", json={"name": "Odd", "permissions": permissions})
    assert_problem(r, 422, "unknown_permission", "permissions")
    role = create_role(owner, ws["id"], "Even", ["logs.view"])
    r = owner.patch(f"/v1/workspaces/{ws['id']}/roles/{role['id']}", json={"permissions": permissions})
    assert_problem(r, 422, "unknown_permission", "permissions")


@pytest.mark.parametrize("name", ["Finance Team", "finance team", "  Finance Team  ", "Admin",
                                  "VIEWER", "owner"])
def test_duplicate_role_name_is_409(team, name):
    ws, owner = team["ws"], team["owner"]
    create_role(owner, ws["id"], "Finance Team", FINANCE)
    r = owner.post(f"/v1/workspaces/{ws['id']}/roles", json={"name": name, "permissions": FINANCE})
    assert_problem(r, 409, "role_name_taken")
    other = create_role(owner, ws["id"], "Other Team", FINANCE)
    r = owner.patch(f"/v1/workspaces/{ws['id']}/roles/{other['id']}", json={"name": name})
    assert_problem(r, 409, "role_name_taken")
    names = [x["name"] for x in owner.get(f"/v1/workspaces/{ws['id']}/roles").json()["data"]]
    assert sorted(n.lower() for n in names) == sorted(
        ["owner", "admin", "developer", "viewer", "finance team", "other team"])


def test_role_in_use_cannot_be_deleted(team):
    ws, owner, dev = team["ws"], team["owner"], team["developer"]
    path = f"/v1/workspaces/{ws['id']}/roles"
    held = create_role(owner, ws["id"], "Held Role", ["workspace.view", "members.view"])
    invited = create_role(owner, ws["id"], "Invited Role", ["workspace.view"])
    assert set_role(owner, ws["id"], dev.user["id"], held["id"]).status_code == 200
    inv = invite(owner, ws["id"], unique_email("custom"), role=invited["id"])
    assert inv["role"] == invited["id"]
    assert_problem(owner.delete(f"{path}/{held['id']}"), 409, "role_in_use")
    assert_problem(owner.delete(f"{path}/{invited['id']}"), 409, "role_in_use")
    listed = {x["id"]: x for x in owner.get(path).json()["data"]}
    assert listed[held["id"]]["member_count"] == 1
    assert set_role(owner, ws["id"], dev.user["id"], "developer").status_code == 200
    assert owner.delete(f"/v1/workspaces/{ws['id']}/invitations/{inv['id']}").status_code == 200
    assert owner.delete(f"{path}/{held['id']}").status_code == 204
    assert owner.delete(f"{path}/{invited['id']}").status_code == 204


def test_custom_role_permissions_apply_at_once(team):
    ws, owner, dev = team["ws"], team["owner"], team["developer"]
    path = f"/v1/workspaces/{ws['id']}"
    finance = create_role(owner, ws["id"], "Finance Team", ["workspace.view", *FINANCE])
    r = set_role(owner, ws["id"], dev.user["id"], finance["id"])
    assert r.status_code == 200, r.text
    assert r.json()["role"] == finance["id"]
    perms = dev.get(path + "/permissions").json()
    assert perms["role"] == finance["id"]
    assert sorted(perms["permissions"]) == sorted(["workspace.view", *FINANCE])
    # The spec's ❌ lines for "Finance Team".
    for denied in ("logs.view", "technical_details.view", "api_keys.create"):
        assert denied not in perms["permissions"]
    assert dev.get(path).status_code == 200
    assert_problem(dev.get(path + "/members"), 403, "forbidden")
    assert_problem(dev.patch(path, json={"name": "Finance Rename"}), 403, "forbidden")
    # Editing the role reaches its holders on their next request.
    r = owner.patch(f"{path}/roles/{finance['id']}",
                    json={"permissions": ["workspace.view", "workspace.edit", "members.view"]})
    assert r.status_code == 200, r.text
    assert dev.patch(path, json={"name": "Finance Rename"}).status_code == 200
    assert dev.get(path + "/members").status_code == 200
    r = owner.patch(f"{path}/roles/{finance['id']}", json={"permissions": ["members.view"]})
    assert r.status_code == 200, r.text
    assert_problem(dev.get(path), 403, "forbidden")
    assert_problem(dev.patch(path, json={"name": "Nope"}), 403, "forbidden")
    assert dev.get(path + "/permissions").json()["permissions"] == ["members.view"]


def test_invited_with_a_custom_role(server, team):
    ws, owner = team["ws"], team["owner"]
    role = create_role(owner, ws["id"], "Support", ["workspace.view", "members.view"])
    member = join(server, owner, ws["id"], role=role["id"], name="Sam Support")
    perms = member.get(f"/v1/workspaces/{ws['id']}/permissions").json()
    assert perms["role"] == role["id"]
    assert sorted(perms["permissions"]) == ["members.view", "workspace.view"]


def test_admin_cannot_escalate_privileges(server, team):
    ws, owner, admin, dev = team["ws"], team["owner"], team["admin"], team["developer"]
    path = f"/v1/workspaces/{ws['id']}/roles"
    for perm in ("workspace.delete", "billing.manage_payment", "workspace.transfer_ownership"):
        r = admin.post(path, json={"name": f"Sneaky {perm}", "permissions": ["workspace.view", perm]})
        body = assert_problem(r, 403, "privilege_escalation")
        assert perm in body["detail"]
    assert {x["name"] for x in admin.get(path).json()["data"] if not x["builtin"]} == set()
    # What an admin holds, an admin may hand out.
    mine = create_role(admin, ws["id"], "Admin Made", ["workspace.view", "logs.view_pii"])
    assert set_role(admin, ws["id"], dev.user["id"], mine["id"]).status_code == 200
    # A role the owner made with more than an admin holds: the admin can neither assign it,
    # nor invite with it, nor edit it.
    strong = create_role(owner, ws["id"], "Deleter", ["workspace.view", "workspace.delete"])
    assert_problem(set_role(admin, ws["id"], dev.user["id"], strong["id"]), 403,
                   "privilege_escalation")
    assert role_of(owner, ws["id"], dev.user["id"]) == mine["id"]
    r = admin.post(f"/v1/workspaces/{ws['id']}/invitations",
                   json={"email": unique_email("strong"), "role": strong["id"]})
    assert_problem(r, 403, "privilege_escalation")
    assert_problem(admin.patch(f"{path}/{strong['id']}", json={"name": "Renamed Deleter"}), 403,
                   "privilege_escalation")
    assert_problem(admin.patch(f"{path}/{mine['id']}",
                               json={"permissions": ["workspace.view", "billing.manage_payment"]}),
                   403, "privilege_escalation")
    # The admin cannot make themselves more than an admin either.
    assert_problem(set_role(admin, ws["id"], admin.user["id"], strong["id"]), 403,
                   "privilege_escalation")
    # The owner may do all of it.
    assert set_role(owner, ws["id"], dev.user["id"], strong["id"]).status_code == 200
    r = dev.delete(f"/v1/workspaces/{ws['id']}", json={"confirm": "DELETE"})
    assert r.status_code == 204, r.text
