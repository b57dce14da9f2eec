"""Each preset's roles walked through the API: for every ✅ / ❌ line of the spec documents
that maps to a route, the role is allowed or refused; the lines that belong to the host
product are checked in the caller's permission list (GET …/permissions)."""
import signal

import pytest

from ghtest import PNG, Server, assert_problem, invite, join, unique_email

ROLES = ["owner", "admin", "developer", "viewer"]


def expect(r, allowed, status, permission):
    """`allowed`: the answer is `status`; otherwise 403 forbidden naming `permission`."""
    if allowed:
        assert r.status_code == status, r.text
    else:
        body = assert_problem(r, 403, "forbidden")
        assert permission in body["detail"], body


# --- four-role (the first document) --------------------------------------------------------

@pytest.fixture(scope="module")
def four(server):
    owner = server.signup(name="Olive Owner")
    ws = owner.create_workspace("Matrix Co")
    clients = {"owner": owner}
    for role in ROLES[1:]:
        clients[role] = join(server, owner, ws["id"], role=role, name=f"{role.title()} Person")
    victim = join(server, owner, ws["id"], role="viewer", name="Victor Victim")
    return {"server": server, "ws": ws, "clients": clients, "victim": victim}


# Routes that map to a line of the first document: (line, method, path, body, status, permission,
# roles allowed). `path` and `body` may be callables of the fixture.
FOUR_ROLE_ROUTES = [
    ("View dashboard", "GET", "", None, 200, "workspace.view", {"owner", "admin", "developer", "viewer"}),
    ("Edit account settings", "PATCH", "", {"timezone": "UTC"}, 200, "workspace.edit",
     {"owner", "admin"}),
    ("Upload a logo (account settings)", "POST", "/logo", "logo", 200, "workspace.edit",
     {"owner", "admin"}),
    ("Invite team members", "POST", "/invitations", "invitation", 201, "members.invite",
     {"owner", "admin"}),
    ("View pending invitations", "GET", "/invitations", None, 200, "invitations.view",
     {"owner", "admin"}),
    ("View team", "GET", "/members", None, 200, "members.view",
     {"owner", "admin", "developer", "viewer"}),
    ("View roles", "GET", "/roles", None, 200, "members.view",
     {"owner", "admin", "developer", "viewer"}),
    ("Custom roles", "POST", "/roles", "role", 201, "roles.manage", {"owner", "admin"}),
    ("View audit logs", "GET", "/audit-logs", None, 200, "audit_log.view", {"owner", "admin"}),
    ("Create API keys", "POST", "/api-keys", "api_key", 201, "api_keys.create",
     {"owner", "admin", "developer"}),
    ("View API keys they created", "GET", "/api-keys", None, 200, "api_keys.view_own",
     {"owner", "admin", "developer"}),
]


def _body(kind):
    if kind == "invitation":
        return {"json": {"email": unique_email("matrix"), "role": "viewer"}}
    if kind == "role":
        return {"json": {"name": "Matrix " + unique_email("r")[:20], "permissions": ["workspace.view"]}}
    if kind == "api_key":
        return {"json": {"name": "Matrix key"}}
    if kind == "logo":
        return {"files": {"file": ("logo.png", PNG, "image/png")}}
    if kind is None:
        return {}
    return {"json": kind}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("line,method,path,body,status,permission,allowed", FOUR_ROLE_ROUTES,
                         ids=[r[0] for r in FOUR_ROLE_ROUTES])
def test_four_role_route(four, role, line, method, path, body, status, permission, allowed):
    c = four["clients"][role]
    r = c.request(method, f"/v1/workspaces/{four['ws']['id']}{path}", **_body(body))
    expect(r, role in allowed, status, permission)


@pytest.mark.parametrize("role", ["admin", "developer", "viewer"])
def test_four_role_only_the_owner_deletes_the_account(four, role):
    ws = four["ws"]
    r = four["clients"][role].delete(f"/v1/workspaces/{ws['id']}", json={"confirm": "DELETE"})
    expect(r, False, 204, "workspace.delete")
    assert four["clients"]["owner"].get(f"/v1/workspaces/{ws['id']}").status_code == 200


def test_four_role_owner_deletes_the_account(server):
    owner = server.signup(name="Deleting Owner")
    ws = owner.create_workspace("Doomed Co")
    admin = join(server, owner, ws["id"], role="admin")
    assert owner.delete(f"/v1/workspaces/{ws['id']}", json={"confirm": "DELETE"}).status_code == 204
    assert_problem(admin.get(f"/v1/workspaces/{ws['id']}"), 404, "not_found")


@pytest.mark.parametrize("role", ["admin", "developer", "viewer"])
def test_four_role_only_the_owner_transfers_ownership(four, role):
    ws, c = four["ws"], four["clients"][role]
    r = c.post(f"/v1/workspaces/{ws['id']}/transfer-ownership", json={"user_id": c.user["id"]})
    expect(r, False, 200, "workspace.transfer_ownership")
    roles = {m["user_id"]: m["role"] for m in
             four["clients"]["owner"].get(f"/v1/workspaces/{ws['id']}/members").json()["data"]}
    assert roles[four["clients"]["owner"].user["id"]] == "owner"


def test_four_role_owner_transfers_ownership(server):
    owner = server.signup(name="Handing Owner")
    ws = owner.create_workspace("Handover Co")
    heir = join(server, owner, ws["id"], role="viewer")
    r = owner.post(f"/v1/workspaces/{ws['id']}/transfer-ownership", json={"user_id": heir.user["id"]})
    assert r.status_code == 200, r.text
    assert heir.get(f"/v1/workspaces/{ws['id']}/permissions").json()["role"] == "owner"
    assert owner.get(f"/v1/workspaces/{ws['id']}/permissions").json()["role"] == "admin"


@pytest.mark.parametrize("role", ROLES)
def test_four_role_remove_members_except_the_owner(four, role):
    """✅ Invite/remove team members (except Owner) for Owner and Admin; ❌ for the others."""
    server, ws, c = four["server"], four["ws"], four["clients"][role]
    owner = four["clients"]["owner"]
    allowed = role in ("owner", "admin")
    victim = join(server, owner, ws["id"], role="viewer") if allowed else four["victim"]
    r = c.delete(f"/v1/workspaces/{ws['id']}/members/{victim.user['id']}")
    expect(r, allowed, 204, "members.remove")
    assert (victim.get(f"/v1/workspaces/{ws['id']}").status_code == 404) == allowed
    if role != "owner":
        r = c.delete(f"/v1/workspaces/{ws['id']}/members/{owner.user['id']}")
        if allowed:
            assert_problem(r, 409, "owner_protected")
        else:
            expect(r, False, 204, "members.remove")


@pytest.mark.parametrize("role", ROLES)
def test_four_role_change_roles(four, role):
    ws, c, victim = four["ws"], four["clients"][role], four["victim"]
    allowed = role in ("owner", "admin")
    r = c.patch(f"/v1/workspaces/{ws['id']}/members/{victim.user['id']}", json={"role": "developer"})
    expect(r, allowed, 200, "members.manage_roles")
    if allowed:
        back = c.patch(f"/v1/workspaces/{ws['id']}/members/{victim.user['id']}", json={"role": "viewer"})
        assert back.status_code == 200, back.text


# The capability lists of the first document, line by line, as permissions.
FOUR_ROLE_LINES = {
    "owner": [
        ("✅ Transfer ownership", ["workspace.transfer_ownership"], True),
        ("✅ Delete account", ["workspace.delete"], True),
        ("✅ Access billing and invoices", ["billing.view", "invoices.view", "billing.manage_payment"], True),
        ("✅ Manage team members", ["members.invite", "members.remove", "members.manage_roles"], True),
        ("✅ Configure SSO", ["sso.configure"], True),
        ("✅ Directory sync (Enterprise: your directory → automatic sync)", ["directory.configure"], True),
    ],
    "admin": [
        ("✅ Invite/remove team members", ["members.invite", "members.remove"], True),
        ("✅ Create/revoke API keys", ["api_keys.create", "api_keys.revoke_all"], True),
        ("✅ Configure routing rules", ["routing_rules.edit"], True),
        ("✅ View all analytics and logs", ["analytics.view", "logs.view"], True),
        ("✅ Edit account settings", ["workspace.edit"], True),
        ("✅ View billing", ["billing.view"], True),
        ("❌ Transfer ownership", ["workspace.transfer_ownership"], False),
        ("❌ Delete account", ["workspace.delete"], False),
        ("❌ Update payment methods", ["billing.manage_payment"], False),
    ],
    "developer": [
        ("✅ Create API keys", ["api_keys.create"], True),
        ("✅ View API keys they created", ["api_keys.view_own"], True),
        ("✅ View analytics and logs", ["analytics.view", "logs.view"], True),
        ("✅ View routing rules", ["routing_rules.view"], True),
        ("✅ Export data", ["data.export"], True),
        ("❌ Invite team members", ["members.invite"], False),
        ("❌ Revoke others' API keys", ["api_keys.revoke_all"], False),
        ("❌ Edit routing rules", ["routing_rules.edit"], False),
        ("❌ View billing", ["billing.view"], False),
        ("❌ Edit account settings", ["workspace.edit"], False),
    ],
    "viewer": [
        ("✅ View dashboard and analytics", ["workspace.view", "analytics.view"], True),
        ("✅ View logs (with PII redaction)", ["logs.view"], True),
        ("... with PII redaction", ["logs.view_pii"], False),
        ("✅ Export reports", ["reports.export"], True),
        ("❌ Create API keys", ["api_keys.create"], False),
        ("❌ View full API keys", ["api_keys.view_all"], False),
        ("❌ Edit any settings", ["workspace.edit", "routing_rules.edit", "sso.configure",
                                 "ip_allowlist.manage"], False),
        ("❌ View billing details", ["billing.view", "invoices.view"], False),
    ],
}


@pytest.mark.parametrize("role", ROLES)
def test_four_role_permissions_match_the_spec_lines(four, role):
    r = four["clients"][role].get(f"/v1/workspaces/{four['ws']['id']}/permissions")
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "private, max-age=300"
    body = r.json()
    assert body["role"] == role
    held = set(body["permissions"])
    for line, permissions, granted in FOUR_ROLE_LINES[role]:
        for p in permissions:
            assert (p in held) == granted, f"{role}: {line}: {p}"
    if role == "owner":  # ✅ All permissions below
        catalogue = four["server"].client().get("/v1/permissions").json()
        every = {p["id"] for c in catalogue["categories"] for p in c["permissions"]}
        assert every <= held
        for other in ROLES[1:]:
            got = four["clients"][other].get(f"/v1/workspaces/{four['ws']['id']}/permissions")
            assert set(got.json()["permissions"]) <= held


def test_four_role_catalogue(anon):
    r = anon.get("/v1/permissions")
    assert r.status_code == 200
    body = r.json()
    assert body["preset"] == "four-role"
    ids = [p["id"] for c in body["categories"] for p in c["permissions"]]
    # 37, then directory.configure, webhooks.manage, notifications.manage and notifications.send
    assert len(ids) == len(set(ids)) == 41
    assert len(body["categories"]) == 8
    for c in body["categories"]:
        assert c["id"] and c["name"]
        for p in c["permissions"]:
            assert p["id"] and p["name"] and p["description"]
    assert [r["id"] for r in body["roles"]] == ROLES
    assert {r["id"]: r["invitable"] for r in body["roles"]} == \
        {"owner": False, "admin": True, "developer": True, "viewer": True}
    assert body["owner_role"] == "owner" and body["default_invite_role"] == "developer"


# --- admin-member (the second document) ----------------------------------------------------

MEMBER_PERMISSIONS = {"workspace.view", "members.view", "billing.view", "invoices.view",
                      "destinations.view", "destinations.test", "sources.view", "events.view",
                      "events.export"}
CATEGORIES = {
    "Workspace Management": ["View Workspace", "Edit Workspace", "Delete Workspace"],
    "Team Management": ["View Team", "Invite Team Members", "Manage Team Roles",
                        "Remove Team Members"],
    "Billing & Subscription": ["View Billing", "Edit Billing", "Manage Subscription",
                               "View Invoices"],
    "Destinations (Connectors)": ["View Destinations", "Create Destinations", "Edit Destinations",
                                  "Delete Destinations", "Test Destinations"],
    "Sources (Shopify, WooCommerce)": ["View Sources", "Create Sources", "Edit Sources",
                                       "Delete Sources"],
    "Events & Analytics": ["View Events", "Export Events", "Delete Events"],
    "API Keys & Security": ["View API Keys", "Create API Keys", "Revoke API Keys",
                            "Manage API Keys"],
    "Webhooks": ["View Webhooks", "Create Webhooks", "Edit Webhooks", "Delete Webhooks",
                 "Test Webhooks", "Manage Webhooks"],
    "Settings": ["Edit General Settings", "Edit DNS Settings", "Edit Tracking Settings"],
    "Advanced Features": ["Manage Dead Letter Queue (DLQ)", "Manage Identity Resolution"],
}


@pytest.fixture(scope="module")
def am_server(tmp_path_factory):
    d = tmp_path_factory.mktemp("gatehouse-admin-member")
    srv = Server(f"sqlite:{d}/g.db", d, ["--preset", "admin-member"]).start()
    yield srv
    rc = srv.stop(signal.SIGTERM, timeout=8)
    assert rc == 0, f"gatehouse did not exit cleanly on SIGTERM (exit code {rc})\n{srv.stderr()}"


@pytest.fixture
def am(am_server):
    admin = am_server.signup(name="Ada Admin")
    ws = admin.create_workspace("Perspection Co")
    member = join(am_server, admin, ws["id"], name="Mo Member")
    return {"server": am_server, "ws": ws, "admin": admin, "member": member}


def test_admin_member_catalogue(am_server):
    r = am_server.client().get("/v1/permissions")
    assert r.status_code == 200
    body = r.json()
    assert body["preset"] == "admin-member"
    got = {c["name"]: [p["name"] for p in c["permissions"]] for c in body["categories"]}
    assert got == CATEGORIES
    assert len(body["categories"]) == 10
    assert sum(len(c["permissions"]) for c in body["categories"]) == 38
    assert [r["id"] for r in body["roles"]] == ["admin", "member"]
    assert body["owner_role"] is None and body["default_invite_role"] == "member"
    roles = {r["id"]: r for r in body["roles"]}
    assert set(roles["member"]["permissions"]) == MEMBER_PERMISSIONS
    assert len(roles["admin"]["permissions"]) == 38


def test_admin_member_creator_is_admin_with_every_permission(am):
    ws, admin = am["ws"], am["admin"]
    assert ws["role"] == "admin"
    r = admin.get(f"/v1/workspaces/{ws['id']}/permissions")
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "private, max-age=300"
    assert r.json()["role"] == "admin"
    catalogue = am["server"].client().get("/v1/permissions").json()
    every = {p["id"] for c in catalogue["categories"] for p in c["permissions"]}
    assert every <= set(r.json()["permissions"])
    assert "workspace.transfer_ownership" not in r.json()["permissions"]


def test_admin_member_member_permissions(am):
    r = am["member"].get(f"/v1/workspaces/{am['ws']['id']}/permissions")
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "private, max-age=300"
    assert r.json()["role"] == "member"
    assert set(r.json()["permissions"]) == MEMBER_PERMISSIONS
    # Members never see the API keys, pending invitations or the audit log.
    for hidden in ("api_keys.view", "api_keys.view_own", "invitations.view", "audit_log.view"):
        assert hidden not in r.json()["permissions"]


AM_ROUTES = [
    ("View Workspace (read-only)", "GET", "", None, 200, "workspace.view", True),
    ("Edit Workspace", "PATCH", "", {"timezone": "Asia/Singapore"}, 200, "workspace.edit", False),
    ("Logo upload", "POST", "/logo", "logo", 200, "workspace.edit", False),
    ("View Team", "GET", "/members", None, 200, "members.view", True),
    ("cannot see pending invitations", "GET", "/invitations", None, 200, "invitations.view", False),
    ("Invite Team Members", "POST", "/invitations", "invitation", 201, "members.invite", False),
    ("Manage Team Roles (custom roles)", "POST", "/roles", "role", 201, "roles.manage", False),
    ("audit log", "GET", "/audit-logs", None, 200, "audit_log.view", False),
    ("View API Keys", "GET", "/api-keys", None, 200, "api_keys.view", False),
    ("Create API Keys", "POST", "/api-keys", "api_key", 201, "api_keys.create", False),
]


@pytest.mark.parametrize("who", ["admin", "member"])
@pytest.mark.parametrize("line,method,path,body,status,permission,member_allowed", AM_ROUTES,
                         ids=[r[0] for r in AM_ROUTES])
def test_admin_member_route(am, who, line, method, path, body, status, permission, member_allowed):
    kw = _body(body)
    if body == "invitation":
        kw = {"json": {"email": unique_email("am")}}
    r = am[who].request(method, f"/v1/workspaces/{am['ws']['id']}{path}", **kw)
    if who == "admin" or member_allowed:
        assert r.status_code == status, r.text
    else:
        assert_problem(r, 403, "forbidden")


def test_admin_member_member_cannot_manage_the_team(am):
    ws, admin, member = am["ws"], am["admin"], am["member"]
    wid = ws["id"]
    assert_problem(member.patch(f"/v1/workspaces/{wid}/members/{admin.user['id']}",
                                json={"role": "member"}), 403, "forbidden")
    assert_problem(member.delete(f"/v1/workspaces/{wid}/members/{admin.user['id']}"), 403, "forbidden")
    assert_problem(member.delete(f"/v1/workspaces/{wid}", json={"confirm": "DELETE"}), 403, "forbidden")
    assert_problem(member.post(f"/v1/workspaces/{wid}/transfer-ownership",
                               json={"user_id": member.user["id"]}), 403, "forbidden")
    # Members see the active members, not the pending invitations.
    invite(admin, wid, unique_email("pending"))
    body = member.get(f"/v1/workspaces/{wid}/members").json()
    assert body["total"] == 2
    assert {m["role"] for m in body["data"]} == {"admin", "member"}


def test_admin_member_invitations_always_join_as_member(am):
    ws, admin = am["ws"], am["admin"]
    path = f"/v1/workspaces/{ws['id']}/invitations"
    assert invite(admin, ws["id"], unique_email("default"))["role"] == "member"
    assert invite(admin, ws["id"], unique_email("explicit"), role="member")["role"] == "member"
    r = admin.post(path, json={"email": unique_email("boss"), "role": "admin"})
    body = assert_problem(r, 422, "role_not_invitable", "role")
    assert "after they join" in body["detail"]
    custom = admin.post(f"/v1/workspaces/{ws['id']}/roles",
                        json={"name": "Destinations Tester",
                              "permissions": ["workspace.view", "destinations.test"]})
    assert custom.status_code == 201, custom.text
    r = admin.post(path, json={"email": unique_email("custom"), "role": custom.json()["id"]})
    assert_problem(r, 422, "role_not_invitable", "role")
    r = admin.post(path + "/bulk", data=f"email,role\n{unique_email('csv')},Admin\n",
                   headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["code"] == "role_not_invitable"


def test_admin_member_promotion_after_joining(am):
    ws, admin, member = am["ws"], am["admin"], am["member"]
    path = f"/v1/workspaces/{ws['id']}"
    assert_problem(member.patch(path, json={"name": "Member Rename"}), 403, "forbidden")
    r = admin.patch(f"{path}/members/{member.user['id']}", json={"role": "admin"})
    assert r.status_code == 200, r.text
    assert member.patch(path, json={"name": "Member Rename"}).status_code == 200
    assert member.get(f"{path}/invitations").status_code == 200


def test_admin_member_the_last_admin_stays(am):
    ws, admin, member = am["ws"], am["admin"], am["member"]
    path = f"/v1/workspaces/{ws['id']}/members"
    assert_problem(admin.patch(f"{path}/{admin.user['id']}", json={"role": "member"}), 409,
                   "last_admin")
    assert_problem(admin.delete(f"{path}/{admin.user['id']}"), 409, "last_admin")
    assert admin.get(f"/v1/workspaces/{ws['id']}").json()["role"] == "admin"
    # With a second admin either may step down or go, but never the last one.
    assert admin.patch(f"{path}/{member.user['id']}", json={"role": "admin"}).status_code == 200
    assert member.patch(f"{path}/{admin.user['id']}", json={"role": "member"}).status_code == 200
    assert_problem(member.patch(f"{path}/{member.user['id']}", json={"role": "member"}), 409,
                   "last_admin")
    assert_problem(member.delete(f"{path}/{member.user['id']}"), 409, "last_admin")
    assert member.delete(f"{path}/{admin.user['id']}").status_code == 204
    assert_problem(admin.get(f"/v1/workspaces/{ws['id']}"), 404, "not_found")
