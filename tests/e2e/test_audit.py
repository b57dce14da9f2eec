"""The workspace audit log: events written with each mutation, newest first, cursor pages."""
import base64

import pytest

from ghtest import PNG, RFC3339_UTC, assert_problem


@pytest.fixture
def busy_workspace(user):
    """A workspace with a known history: created, then three updates."""
    ws = user.create_workspace("Audited Co")
    path = f"/v1/workspaces/{ws['id']}"
    assert user.patch(path, json={"name": "Audited Two"}).status_code == 200
    assert user.patch(path, json={"timezone": "Europe/Paris"}).status_code == 200
    assert user.patch(path, json={"language": "fr", "audit_retention_days": 90}).status_code == 200
    return ws


def events(client, ws_id, **params):
    r = client.get(f"/v1/workspaces/{ws_id}/audit-logs", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_audit_log_lists_mutations_newest_first(user, busy_workspace):
    ws = busy_workspace
    page = events(user, ws["id"])
    assert page["next_cursor"] is None
    data = page["data"]
    assert [e["action"] for e in data] == ["workspace.updated"] * 3 + ["api_key.created", "workspace.created"]
    assert len({e["id"] for e in data}) == 5
    times = [e["occurred_at"] for e in data]
    assert times == sorted(times, reverse=True)
    newest = data[0]
    assert newest["id"].startswith("evt_")
    assert RFC3339_UTC.match(newest["occurred_at"])
    assert newest["actor"] == {"type": "user", "id": user.user["id"], "name": "Ada Lovelace",
                               "email": user.email}
    assert newest["target"]["type"] == "workspace"
    assert newest["target"]["id"] == ws["id"]
    assert newest["target"]["name"] == "Audited Two"
    assert newest["ip"] == "127.0.0.1"
    assert "user_agent" in newest and "project_id" in newest
    changes = newest["details"]["changes"]
    assert changes["language"] == {"from": "en", "to": "fr"}
    assert changes["audit_retention_days"] == {"from": 365, "to": 90}
    # Oldest event first written: the creation, with what was created.
    created = data[-1]
    assert created["target"]["id"] == ws["id"]
    assert created["target"]["name"] == "Audited Co"
    assert created["details"]["region"] == "us-east-1"
    first_update = data[2]["details"]["changes"]
    assert first_update["name"] == {"from": "Audited Co", "to": "Audited Two"}


def test_audit_log_records_logo_uploads_and_not_failed_changes(user):
    ws = user.create_workspace("Logo Audit")
    path = f"/v1/workspaces/{ws['id']}"
    assert user.post(path + "/logo", files={"file": ("l.png", PNG)}).status_code == 200
    assert user.patch(path, json={"timezone": "Mars/Base"}).status_code == 422
    assert user.patch(path, json={"name": "Logo Audit"}).status_code == 200  # no change
    actions = [e["action"] for e in events(user, ws["id"])["data"]]
    assert actions == ["workspace.logo_updated", "api_key.created", "workspace.created"]


def test_audit_log_pagination_walks_every_event_once(user, busy_workspace):
    ws = busy_workspace
    everything = [e["id"] for e in events(user, ws["id"])["data"]]
    seen = []
    cursor = None
    for _ in range(10):
        params = {"limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = events(user, ws["id"], **params)
        assert len(page["data"]) <= 1
        seen += [e["id"] for e in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything
    assert len(set(seen)) == len(seen) == 5  # 3 updates, the publishable key, the creation
    # Larger pages agree with the single-event walk.
    p1 = events(user, ws["id"], limit=3)
    assert [e["id"] for e in p1["data"]] == everything[:3]
    assert p1["next_cursor"]
    p2 = events(user, ws["id"], limit=3, cursor=p1["next_cursor"])
    assert [e["id"] for e in p2["data"]] == everything[3:]
    assert p2["next_cursor"] is None


def test_audit_logs_are_separate_per_workspace(user):
    a = user.create_workspace("Log A")
    b = user.create_workspace("Log B")
    assert user.patch(f"/v1/workspaces/{a['id']}", json={"name": "Log A2"}).status_code == 200
    a_targets = {e["target"]["id"] for e in events(user, a["id"]) ["data"]
                 if e["action"].startswith("workspace.")}
    b_events = events(user, b["id"])["data"]
    assert a_targets == {a["id"]}
    assert all(e["target"]["id"] != b["id"] for e in events(user, a["id"])["data"])
    assert [e["action"] for e in b_events] == ["api_key.created", "workspace.created"]


@pytest.mark.parametrize("cursor", [
    "garbage",
    "!!!",
    base64.urlsafe_b64encode(b"a1:abc").decode().rstrip("="),
    base64.urlsafe_b64encode(b"zz:12").decode().rstrip("="),
    "A" * 100,
])
def test_bad_cursor_is_400(user, cursor):
    ws = user.create_workspace("Cursor Co")
    r = user.get(f"/v1/workspaces/{ws['id']}/audit-logs", params={"cursor": cursor})
    assert_problem(r, 400, "invalid_cursor", "cursor")


@pytest.mark.parametrize("limit", ["0", "500", "201", "-1", "abc", "", "1.5"])
def test_bad_limit_is_422(user, limit):
    ws = user.create_workspace("Limit Co")
    r = user.get(f"/v1/workspaces/{ws['id']}/audit-logs?limit={limit}")
    assert_problem(r, 422, "invalid_limit", "limit")


def test_limit_bounds_are_accepted(user):
    ws = user.create_workspace("Limit Bounds")
    for limit in (1, 200):
        r = user.get(f"/v1/workspaces/{ws['id']}/audit-logs", params={"limit": limit})
        assert r.status_code == 200, r.text
