"""Projects end to end: create, list, get, update, delete and their validation; isolation
(members without `projects.view_all` see only the projects they hold a role in, and every
other project answers 404 on every project route); per-project roles that override the
workspace role inside one project (the spec's developer who may edit routing rules in
Staging only); the audit events; invitations that assign projects on acceptance, one at a time
and from CSV; and the removal of a member taking their project roles with them, on SQLite and
on PostgreSQL.

Per-project authority (documented in src/service/projects.h): creating a project needs
`projects.manage` from the workspace role; changing, deleting and staffing a project needs
`projects.manage` inside that project, i.e. from the member's project role when they have one
there, else from their workspace role.
"""
import pytest

from ghtest import (RFC3339_UTC, accept_as_new, assert_problem, invite, join, link_from_mail_list,
                    unique_email)

MISSING_PROJECT = "prj_" + "0" * 22
MISSING_USER = "usr_" + "0" * 22


def setup_team(server, owner):
    """A four-role workspace: `owner`, an admin, a developer and a viewer."""
    ws = owner.create_workspace("Project Co")
    return {
        "server": server,
        "ws": ws,
        "owner": owner,
        "admin": join(server, owner, ws["id"], role="admin", name="Alice Admin"),
        "developer": join(server, owner, ws["id"], role="developer", name="Bob Developer"),
        "viewer": join(server, owner, ws["id"], role="viewer", name="Carol Viewer"),
    }


@pytest.fixture
def team(server, user):
    return setup_team(server, user)


def base(ws_id):
    return f"/v1/workspaces/{ws_id}/projects"


def create(client, ws_id, name, **fields):
    r = client.post(base(ws_id), json={"name": name, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def names(client, ws_id):
    r = client.get(base(ws_id))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(body["data"])
    return [p["name"] for p in body["data"]]


def put_member(client, ws_id, prj_id, user_id, role):
    return client.put(f"{base(ws_id)}/{prj_id}/members/{user_id}", json={"role": role})


def assign(client, ws_id, prj_id, user_id, role):
    r = put_member(client, ws_id, prj_id, user_id, role)
    assert r.status_code == 200, r.text
    return r.json()


def uid(client):
    return client.user["id"]


def audit_events(client, ws_id):
    r = client.get(f"/v1/workspaces/{ws_id}/audit-logs", params={"limit": 200})
    assert r.status_code == 200, r.text
    return r.json()["data"]


def my_permissions(client, ws_id):
    r = client.get(f"/v1/workspaces/{ws_id}/permissions")
    assert r.status_code == 200, r.text
    return r.json()


def member_projects(client, ws_id, user_id):
    r = client.get(f"/v1/workspaces/{ws_id}/members")
    assert r.status_code == 200, r.text
    return {m["user_id"]: m["projects"] for m in r.json()["data"]}[user_id]


# --- CRUD and validation --------------------------------------------------------------------

def test_create_list_get_update_delete(team):
    ws, owner = team["ws"], team["owner"]
    prj = create(owner, ws["id"], "  Production  ", environment="production",
                 rate_limit={"per_minute": 600, "per_month": 1_000_000})
    assert prj["id"].startswith("prj_")
    assert prj["workspace_id"] == ws["id"]
    assert prj["name"] == "Production"  # trimmed
    assert prj["environment"] == "production"
    assert prj["rate_limit"] == {"per_minute": 600, "per_month": 1_000_000}
    assert prj["role"] == "owner" and "projects.manage" in prj["permissions"]
    assert RFC3339_UTC.match(prj["created_at"]) and RFC3339_UTC.match(prj["updated_at"])

    dev = create(owner, ws["id"], "Development")
    assert dev["environment"] == "development"  # the default
    assert dev["rate_limit"] == {"per_minute": None, "per_month": None}

    listed = owner.get(base(ws["id"])).json()
    assert [p["name"] for p in listed["data"]] == ["Development", "Production"]
    assert listed["next_cursor"] is None and listed["total"] == 2

    got = owner.get(f"{base(ws['id'])}/{prj['id']}")
    assert got.status_code == 200, got.text
    assert got.json()["name"] == "Production" and got.json()["members"] == []

    r = owner.patch(f"{base(ws['id'])}/{prj['id']}",
                    json={"name": "Prod", "environment": "staging",
                          "rate_limit": {"per_minute": None}})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Prod" and r.json()["environment"] == "staging"
    assert r.json()["rate_limit"] == {"per_minute": None, "per_month": 1_000_000}
    r = owner.patch(f"{base(ws['id'])}/{prj['id']}", json={"rate_limit": None})
    assert r.json()["rate_limit"] == {"per_minute": None, "per_month": None}
    assert owner.get(f"{base(ws['id'])}/{prj['id']}").json()["name"] == "Prod"

    r = owner.delete(f"{base(ws['id'])}/{prj['id']}")
    assert r.status_code == 204, r.text
    assert_problem(owner.get(f"{base(ws['id'])}/{prj['id']}"), 404, "not_found")
    assert_problem(owner.delete(f"{base(ws['id'])}/{prj['id']}"), 404, "not_found")
    assert names(owner, ws["id"]) == ["Development"]


def test_list_pages_with_a_cursor(user):
    ws = user.create_workspace("Paged Projects")
    for n in ("Echo", "Alpha", "Delta", "Charlie", "Bravo"):
        create(user, ws["id"], n)
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = user.get(base(ws["id"]), params=params).json()
        assert body["total"] == 5
        seen += [p["name"] for p in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]
    assert_problem(user.get(base(ws["id"]), params={"cursor": "nonsense"}), 400, "invalid_cursor")


@pytest.mark.parametrize("body,status,code,field", [
    ({}, 422, "required", "name"),
    ({"name": ""}, 422, "invalid_name", "name"),
    ({"name": "   "}, 422, "invalid_name", "name"),
    ({"name": "x" * 101}, 422, "invalid_name", "name"),
    ({"name": "bad\u0007name"}, 422, "invalid_name", "name"),
    ({"name": 42}, 422, "invalid_type", "name"),
    ({"name": "Ok", "environment": "qa"}, 422, "invalid_environment", "environment"),
    ({"name": "Ok", "environment": "Production"}, 422, "invalid_environment", "environment"),
    ({"name": "Ok", "rate_limit": {"per_minute": 0}}, 422, "invalid_rate_limit",
     "rate_limit.per_minute"),
    ({"name": "Ok", "rate_limit": {"per_month": -5}}, 422, "invalid_rate_limit",
     "rate_limit.per_month"),
    ({"name": "Ok", "rate_limit": {"per_minute": "10"}}, 422, "invalid_rate_limit",
     "rate_limit.per_minute"),
    ({"name": "Ok", "rate_limit": {"per_hour": 10}}, 422, "unknown_field", "rate_limit.per_hour"),
    ({"name": "Ok", "rate_limit": 10}, 422, "invalid_type", "rate_limit"),
    ({"name": "Ok", "color": "red"}, 422, "unknown_field", "color"),
])
def test_create_validation(user, body, status, code, field):
    ws = user.create_workspace("Validated Co")
    assert_problem(user.post(base(ws["id"]), json=body), status, code, field)
    assert names(user, ws["id"]) == []


def test_names_are_unique_in_the_workspace_case_insensitively(user, other_user):
    ws = user.create_workspace("Unique Co")
    create(user, ws["id"], "Staging")
    create(user, ws["id"], "x" * 100)  # 100 characters is the limit
    assert_problem(user.post(base(ws["id"]), json={"name": "Staging"}), 409,
                   "project_name_taken", "name")
    assert_problem(user.post(base(ws["id"]), json={"name": " staging "}), 409,
                   "project_name_taken", "name")
    other = create(user, ws["id"], "Production")
    assert_problem(user.patch(f"{base(ws['id'])}/{other['id']}", json={"name": "STAGING"}), 409,
                   "project_name_taken", "name")
    # Renaming a project to its own name (in another case) is fine.
    r = user.patch(f"{base(ws['id'])}/{other['id']}", json={"name": "PRODUCTION"})
    assert r.status_code == 200 and r.json()["name"] == "PRODUCTION", r.text
    # Another workspace may use the same name.
    ows = other_user.create_workspace("Elsewhere")
    create(other_user, ows["id"], "Staging")


def test_patch_validation(user):
    ws = user.create_workspace("Patch Co")
    prj = create(user, ws["id"], "Main")
    path = f"{base(ws['id'])}/{prj['id']}"
    assert_problem(user.patch(path, json={"name": ""}), 422, "invalid_name", "name")
    assert_problem(user.patch(path, json={"environment": "prod"}), 422, "invalid_environment",
                   "environment")
    assert_problem(user.patch(path, json={"rate_limit": {"per_minute": 0}}), 422,
                   "invalid_rate_limit")
    assert user.get(path).json()["name"] == "Main"


# --- isolation --------------------------------------------------------------------------------

def isolated(team):
    ws, owner = team["ws"], team["owner"]
    prod = create(owner, ws["id"], "Production", environment="production")
    staging = create(owner, ws["id"], "Staging", environment="staging")
    assign(owner, ws["id"], prod["id"], uid(team["developer"]), "developer")
    assign(owner, ws["id"], staging["id"], uid(team["viewer"]), "viewer")
    return prod, staging


def assert_invisible(client, ws_id, prj_id, someone_id):
    """Every project route answers 404 for this project."""
    path = f"{base(ws_id)}/{prj_id}"
    assert_problem(client.get(path), 404, "not_found")
    assert_problem(client.patch(path, json={"name": "Taken Over"}), 404, "not_found")
    assert_problem(client.delete(path), 404, "not_found")
    assert_problem(put_member(client, ws_id, prj_id, someone_id, "viewer"), 404, "not_found")
    assert_problem(client.delete(f"{path}/members/{someone_id}"), 404, "not_found")


def test_developer_and_viewer_see_only_their_projects(team):
    ws = team["ws"]
    prod, staging = isolated(team)
    dev, viewer = team["developer"], team["viewer"]
    assert names(dev, ws["id"]) == ["Production"]
    assert names(viewer, ws["id"]) == ["Staging"]
    assert dev.get(f"{base(ws['id'])}/{prod['id']}").status_code == 200
    assert viewer.get(f"{base(ws['id'])}/{staging['id']}").status_code == 200
    assert_invisible(dev, ws["id"], staging["id"], uid(team["viewer"]))
    assert_invisible(viewer, ws["id"], prod["id"], uid(team["developer"]))
    # An unknown or malformed id is just as not-found, never a different answer.
    for who in (dev, viewer):
        assert_invisible(who, ws["id"], MISSING_PROJECT, uid(who))
        assert_problem(who.get(f"{base(ws['id'])}/not-an-id"), 404, "not_found")
    # Inside their own project they hold no projects.manage: 403 there (the project is visible).
    assert_problem(dev.patch(f"{base(ws['id'])}/{prod['id']}", json={"name": "Mine"}), 403,
                   "forbidden")
    assert_problem(dev.delete(f"{base(ws['id'])}/{prod['id']}"), 403, "forbidden")
    assert_problem(put_member(dev, ws["id"], prod["id"], uid(viewer), "viewer"), 403, "forbidden")
    # Nor may they create projects.
    assert_problem(dev.post(base(ws["id"]), json={"name": "Side Project"}), 403, "forbidden")
    assert_problem(viewer.post(base(ws["id"]), json={"name": "Side Project"}), 403, "forbidden")
    assert names(team["owner"], ws["id"]) == ["Production", "Staging"]


def test_admin_and_owner_see_every_project(team):
    ws = team["ws"]
    isolated(team)
    for who in ("owner", "admin"):
        client = team[who]
        assert names(client, ws["id"]) == ["Production", "Staging"], who
        for p in client.get(base(ws["id"])).json()["data"]:
            assert client.get(f"{base(ws['id'])}/{p['id']}").status_code == 200


def test_unassigned_member_sees_no_project(server, team):
    ws = team["ws"]
    isolated(team)
    newcomer = join(server, team["owner"], ws["id"], role="developer", name="Dan New")
    assert names(newcomer, ws["id"]) == []


def test_another_workspaces_project_is_404_even_for_its_owner(team, other_user):
    ws = team["ws"]
    prod, _ = isolated(team)
    ows = other_user.create_workspace("Foreign Co")
    assert_problem(other_user.get(f"{base(ows['id'])}/{prod['id']}"), 404, "not_found")
    assert_problem(other_user.get(f"{base(ws['id'])}/{prod['id']}"), 404, "not_found")
    assert_problem(other_user.get(base(ws["id"])), 404, "not_found")


def test_assignment_shows_the_project_at_once_and_unassignment_hides_it(team):
    ws, owner, viewer = team["ws"], team["owner"], team["viewer"]
    prod, staging = isolated(team)
    assign(owner, ws["id"], prod["id"], uid(viewer), "viewer")
    assert names(viewer, ws["id"]) == ["Production", "Staging"]
    r = owner.delete(f"{base(ws['id'])}/{prod['id']}/members/{uid(viewer)}")
    assert r.status_code == 204, r.text
    assert names(viewer, ws["id"]) == ["Staging"]
    assert_problem(viewer.get(f"{base(ws['id'])}/{prod['id']}"), 404, "not_found")
    assert_problem(owner.delete(f"{base(ws['id'])}/{prod['id']}/members/{uid(viewer)}"), 404,
                   "not_found")


def test_members_list_shows_project_roles_filtered_by_what_the_caller_sees(team):
    ws, owner, dev, viewer = team["ws"], team["owner"], team["developer"], team["viewer"]
    prod, staging = isolated(team)
    assign(owner, ws["id"], staging["id"], uid(dev), "admin")
    assert member_projects(owner, ws["id"], uid(dev)) == [
        {"project_id": prod["id"], "name": "Production", "role": "developer",
         "role_name": "Developer"},
        {"project_id": staging["id"], "name": "Staging", "role": "admin", "role_name": "Admin"},
    ]
    assert member_projects(owner, ws["id"], uid(owner)) == []
    # The viewer sees Staging only, so only that part of the developer's access.
    assert [p["name"] for p in member_projects(viewer, ws["id"], uid(dev))] == ["Staging"]
    got = owner.get(f"{base(ws['id'])}/{staging['id']}").json()
    assert sorted((m["user_id"], m["role"]) for m in got["members"]) == sorted(
        [(uid(dev), "admin"), (uid(viewer), "viewer")])
    assert all(m["email"] and m["name"] for m in got["members"])


# --- per-project roles ------------------------------------------------------------------------

def test_developer_with_admin_role_in_staging_manages_staging_only(team):
    """The spec's Bob: a developer who may edit routing rules in Staging only."""
    ws, owner, dev, viewer = team["ws"], team["owner"], team["developer"], team["viewer"]
    prod, staging = isolated(team)
    assign(owner, ws["id"], staging["id"], uid(dev), "admin")

    perms = my_permissions(dev, ws["id"])
    assert perms["role"] == "developer"
    assert "routing_rules.edit" not in perms["permissions"]
    assert "projects.manage" not in perms["permissions"]
    by_project = {p["project_id"]: p for p in perms["projects"]}
    assert set(by_project) == {prod["id"], staging["id"]}
    assert by_project[staging["id"]]["role"] == "admin"
    assert "routing_rules.edit" in by_project[staging["id"]]["permissions"]
    assert "projects.manage" in by_project[staging["id"]]["permissions"]
    assert by_project[prod["id"]]["role"] == "developer"
    assert "routing_rules.edit" not in by_project[prod["id"]]["permissions"]
    assert "routing_rules.view" in by_project[prod["id"]]["permissions"]

    listed = {p["name"]: p for p in dev.get(base(ws["id"])).json()["data"]}
    assert listed["Staging"]["role"] == "admin" and listed["Production"]["role"] == "developer"

    # Staging: the project role grants projects.manage.
    r = dev.patch(f"{base(ws['id'])}/{staging['id']}", json={"rate_limit": {"per_minute": 60}})
    assert r.status_code == 200, r.text
    assign(dev, ws["id"], staging["id"], uid(viewer), "developer")
    # Production: the workspace role applies, and lacks it.
    assert_problem(dev.patch(f"{base(ws['id'])}/{prod['id']}", json={"name": "Prod"}), 403,
                   "forbidden")
    assert_problem(put_member(dev, ws["id"], prod["id"], uid(viewer), "viewer"), 403, "forbidden")
    # Creating projects is a workspace matter: the developer role decides.
    assert_problem(dev.post(base(ws["id"]), json={"name": "QA"}), 403, "forbidden")
    # Inside Staging they grant nothing beyond admin, and cannot touch the owner.
    assert_problem(put_member(dev, ws["id"], staging["id"], uid(owner), "viewer"), 409,
                   "owner_protected")


def test_project_role_narrows_an_admin_inside_that_project(team):
    ws, owner, admin = team["ws"], team["owner"], team["admin"]
    prod, staging = isolated(team)
    assign(owner, ws["id"], prod["id"], uid(admin), "viewer")
    perms = {p["project_id"]: p for p in my_permissions(admin, ws["id"])["projects"]}
    assert perms[prod["id"]]["role"] == "viewer"
    assert "projects.manage" not in perms[prod["id"]]["permissions"]
    # Still sees every project (visibility is workspace-wide), but may not manage Production.
    assert names(admin, ws["id"]) == ["Production", "Staging"]
    assert_problem(admin.patch(f"{base(ws['id'])}/{prod['id']}", json={"name": "Mine"}), 403,
                   "forbidden")
    assert admin.patch(f"{base(ws['id'])}/{staging['id']}",
                       json={"environment": "development"}).status_code == 200
    # The owner lifts the restriction; it applies on the very next request.
    assert owner.delete(f"{base(ws['id'])}/{prod['id']}/members/{uid(admin)}").status_code == 204
    assert admin.patch(f"{base(ws['id'])}/{prod['id']}",
                       json={"environment": "production"}).status_code == 200
    assert my_permissions(admin, ws["id"])["projects"] == []


def test_role_changes_apply_on_the_next_request(team):
    ws, owner, dev = team["ws"], team["owner"], team["developer"]
    prod, _ = isolated(team)
    path = f"{base(ws['id'])}/{prod['id']}"
    assert_problem(dev.patch(path, json={"name": "P1"}), 403, "forbidden")
    assign(owner, ws["id"], prod["id"], uid(dev), "admin")
    assert dev.patch(path, json={"name": "P1"}).status_code == 200
    assign(owner, ws["id"], prod["id"], uid(dev), "developer")
    assert_problem(dev.patch(path, json={"name": "P2"}), 403, "forbidden")


def test_member_assignment_validation(team, server, other_user):
    ws, owner, admin, dev = team["ws"], team["owner"], team["admin"], team["developer"]
    prod, _ = isolated(team)
    assert_problem(put_member(owner, ws["id"], prod["id"], uid(dev), "wizard"), 422,
                   "invalid_role", "role")
    assert_problem(put_member(owner, ws["id"], prod["id"], uid(dev), "owner"), 422,
                   "invalid_role", "role")
    assert_problem(owner.put(f"{base(ws['id'])}/{prod['id']}/members/{uid(dev)}", json={}), 422,
                   "required", "role")
    # The target must be a member of the workspace.
    assert_problem(put_member(owner, ws["id"], prod["id"], uid(other_user), "viewer"), 404,
                   "not_found")
    assert_problem(put_member(owner, ws["id"], prod["id"], MISSING_USER, "viewer"), 404,
                   "not_found")
    assert_problem(put_member(owner, ws["id"], prod["id"], "usr_bad", "viewer"), 404, "not_found")
    # A custom role works; one holding more than the caller is an escalation.
    finance = owner.post(f"/v1/workspaces/{ws['id']}/roles",
                         json={"name": "Finance", "permissions": ["workspace.view",
                                                                   "billing.view"]}).json()
    assert assign(owner, ws["id"], prod["id"], uid(dev), finance["id"])["role"] == finance["id"]
    payer = owner.post(f"/v1/workspaces/{ws['id']}/roles",
                       json={"name": "Payer", "permissions": ["billing.manage_payment"]}).json()
    assert_problem(put_member(admin, ws["id"], prod["id"], uid(dev), payer["id"]), 403,
                   "privilege_escalation")
    # A custom role held inside a project is in use.
    assert_problem(owner.delete(f"/v1/workspaces/{ws['id']}/roles/{finance['id']}"), 409,
                   "role_in_use")
    # Setting the same role again changes nothing and records nothing.
    before = len([e for e in audit_events(owner, ws["id"])
                  if e["action"] == "project.member_added"])
    assign(owner, ws["id"], prod["id"], uid(dev), finance["id"])
    after = len([e for e in audit_events(owner, ws["id"])
                 if e["action"] == "project.member_added"])
    assert before == after


# --- audit --------------------------------------------------------------------------------------

def test_project_changes_are_audited_with_the_project_id(team):
    ws, owner, dev = team["ws"], team["owner"], team["developer"]
    prj = create(owner, ws["id"], "Audited", environment="staging")
    owner.patch(f"{base(ws['id'])}/{prj['id']}", json={"name": "Audited Again"})
    assign(owner, ws["id"], prj["id"], uid(dev), "viewer")
    assign(owner, ws["id"], prj["id"], uid(dev), "developer")  # a role change is an addition too
    owner.delete(f"{base(ws['id'])}/{prj['id']}/members/{uid(dev)}")
    assert owner.delete(f"{base(ws['id'])}/{prj['id']}").status_code == 204

    events = [e for e in reversed(audit_events(owner, ws["id"]))
              if e["action"].startswith("project.")]
    assert [e["action"] for e in events] == [
        "project.created", "project.updated", "project.member_added", "project.member_added",
        "project.member_removed", "project.deleted"]
    for e in events:
        assert e["project_id"] == prj["id"], e
        assert e["actor"]["id"] == uid(owner), e
    created, updated, added, changed, removed, deleted = events
    assert created["target"] == {"type": "project", "id": prj["id"], "name": "Audited"}
    assert created["details"]["environment"] == "staging"
    assert updated["details"]["from"]["name"] == "Audited"
    assert updated["details"]["to"]["name"] == "Audited Again"
    assert added["target"]["id"] == uid(dev) and added["details"]["role"] == "viewer"
    assert added["details"]["from"] is None
    assert changed["details"] == {**changed["details"], "role": "developer", "from": "viewer"}
    assert removed["target"]["id"] == uid(dev) and removed["details"]["role"] == "developer"
    assert deleted["target"]["name"] == "Audited Again"


def test_failed_changes_are_not_audited(team):
    ws, owner, dev = team["ws"], team["owner"], team["developer"]
    prod, _ = isolated(team)
    count = len(audit_events(owner, ws["id"]))
    dev.patch(f"{base(ws['id'])}/{prod['id']}", json={"name": "Nope"})
    owner.post(base(ws["id"]), json={"name": "Production"})
    put_member(owner, ws["id"], prod["id"], uid(dev), "wizard")
    assert len(audit_events(owner, ws["id"])) == count


# --- invitations ----------------------------------------------------------------------------

def test_invitation_with_projects_assigns_them_on_acceptance(server, team):
    ws, owner = team["ws"], team["owner"]
    prod, staging = isolated(team)
    address = unique_email("invited-prj")
    inv = invite(owner, ws["id"], address, role="developer", projects=[staging["id"],
                                                                       staging["id"]])
    assert inv["projects"] == [staging["id"]]
    _, token = link_from_mail_list(server, address)
    newcomer = accept_as_new(server, token, name="Erin Invited")
    assert names(newcomer, ws["id"]) == ["Staging"]
    assert_problem(newcomer.get(f"{base(ws['id'])}/{prod['id']}"), 404, "not_found")
    assert member_projects(owner, ws["id"], uid(newcomer)) == [
        {"project_id": staging["id"], "name": "Staging", "role": "developer",
         "role_name": "Developer"}]
    perms = my_permissions(newcomer, ws["id"])
    assert [(p["project_id"], p["role"]) for p in perms["projects"]] == [
        (staging["id"], "developer")]
    added = [e for e in audit_events(owner, ws["id"])
             if e["action"] == "project.member_added" and e["target"]["id"] == uid(newcomer)]
    assert [e["project_id"] for e in added] == [staging["id"]]


def test_invitation_projects_must_exist_in_the_workspace(team, other_user):
    ws, owner = team["ws"], team["owner"]
    ows = other_user.create_workspace("Foreign Projects")
    foreign = create(other_user, ows["id"], "Foreign")
    for projects in ([MISSING_PROJECT], ["prj_bad"], [foreign["id"]], ["Production"]):
        r = owner.post(f"/v1/workspaces/{ws['id']}/invitations",
                       json={"email": unique_email("nobody"), "projects": projects})
        assert_problem(r, 422, "invalid_project", "projects")
    assert owner.get(f"/v1/workspaces/{ws['id']}/invitations").json()["data"] == []


def test_invitation_project_deleted_before_acceptance_is_skipped(server, team):
    ws, owner = team["ws"], team["owner"]
    prod, _ = isolated(team)
    doomed = create(owner, ws["id"], "Doomed")
    address = unique_email("skip")
    invite(owner, ws["id"], address, role="viewer", projects=[doomed["id"], prod["id"]])
    assert owner.delete(f"{base(ws['id'])}/{doomed['id']}").status_code == 204
    _, token = link_from_mail_list(server, address)
    newcomer = accept_as_new(server, token)
    assert names(newcomer, ws["id"]) == ["Production"]


def test_bulk_csv_resolves_project_names(server, team):
    ws, owner = team["ws"], team["owner"]
    prod, staging = isolated(team)
    a, b, c, d = (unique_email(f"bulk-{t}") for t in "abcd")
    csv = ("email,role,projects\n"
           f"{a},Developer,production\n"
           f"{b},Viewer,Production; STAGING\n"
           f"{c},Viewer,all\n"
           f"{d},Viewer,Staging;Analytics\n")
    r = owner.post(f"/v1/workspaces/{ws['id']}/invitations/bulk", data=csv.encode(),
                   headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [(x["email"], x["status"], x.get("code")) for x in results] == [
        (a, "invited", None), (b, "invited", None), (c, "invited", None),
        (d, "error", "unknown_project")]
    assert "Analytics" in results[3]["detail"]
    pending = {i["email"]: i["projects"] for i in
               owner.get(f"/v1/workspaces/{ws['id']}/invitations").json()["data"]}
    assert pending[a] == [prod["id"]]
    assert sorted(pending[b]) == sorted([prod["id"], staging["id"]])
    assert pending[c] == []
    _, token = link_from_mail_list(server, b)
    assert names(accept_as_new(server, token), ws["id"]) == ["Production", "Staging"]


# --- removal, on both stores ---------------------------------------------------------------

def test_removing_a_member_removes_their_project_access(backend_server):
    srv = backend_server
    owner = srv.signup(name="Olive Owner")
    team = setup_team(srv, owner)
    ws, dev = team["ws"], team["developer"]
    prod, staging = isolated(team)
    assign(owner, ws["id"], staging["id"], uid(dev), "admin")
    assert names(dev, ws["id"]) == ["Production", "Staging"]

    assert owner.delete(f"/v1/workspaces/{ws['id']}/members/{uid(dev)}").status_code == 204
    assert_problem(dev.get(base(ws["id"])), 404, "not_found")
    for prj in (prod, staging):
        assert uid(dev) not in [m["user_id"] for m in
                                owner.get(f"{base(ws['id'])}/{prj['id']}").json()["members"]]

    # Invited again (signed in as themselves), they start with no project at all: the store
    # dropped the rows with the membership, and no cache kept them.
    invite(owner, ws["id"], dev.email, role="developer")
    _, token = link_from_mail_list(srv, dev.email)
    r = dev.post(f"/v1/invitations/{token}/accept", json={})
    assert r.status_code == 200, r.text
    assert names(dev, ws["id"]) == []
    assert my_permissions(dev, ws["id"])["projects"] == []
    assert member_projects(owner, ws["id"], uid(dev)) == []
    assert_problem(dev.get(f"{base(ws['id'])}/{staging['id']}"), 404, "not_found")


def test_isolation_on_both_stores(backend_server):
    srv = backend_server
    owner = srv.signup(name="Olive Owner")
    team = setup_team(srv, owner)
    ws = team["ws"]
    prod, staging = isolated(team)
    assert names(team["developer"], ws["id"]) == ["Production"]
    assert names(team["viewer"], ws["id"]) == ["Staging"]
    assert names(team["admin"], ws["id"]) == ["Production", "Staging"]
    assert_invisible(team["developer"], ws["id"], staging["id"], uid(team["viewer"]))
    assert_problem(owner.post(base(ws["id"]), json={"name": "production"}), 409,
                   "project_name_taken")
