"""GET/PATCH /v1/me and the caller's sessions."""
import pytest

from ghtest import CHROME_UA, FIREFOX_UA, RFC3339_UTC, assert_problem

NO_SESSION = "ses_" + "0" * 22


def test_get_me_has_the_contract_fields(user):
    r = user.get("/v1/me")
    assert r.status_code == 200
    me = r.json()
    for key in ("id", "email", "name", "avatar_url", "theme", "language", "mfa_enabled",
                "csrf_token", "memberships"):
        assert key in me, key
    assert me["id"] == user.user["id"]
    assert me["email"] == user.email
    assert me["name"] == "Ada Lovelace"
    assert me["mfa_enabled"] is False
    assert me["csrf_token"] == user.csrf
    assert me["memberships"] == []
    assert "password_hash" not in me


def test_me_lists_memberships_and_follows_renames_and_deletes(user):
    ws = user.create_workspace("Member Co")
    ms = user.get("/v1/me").json()["memberships"]
    assert ms == [{"workspace_id": ws["id"], "workspace_name": "Member Co", "role": "owner",
                   "ip_allowlist_enabled": False, "status": "active"}]
    assert user.patch(f"/v1/workspaces/{ws['id']}", json={"name": "Renamed Co"}).status_code == 200
    ms = user.get("/v1/me").json()["memberships"]
    assert ms[0]["workspace_name"] == "Renamed Co"
    assert user.delete(f"/v1/workspaces/{ws['id']}", json={"confirm": "DELETE"}).status_code == 204
    assert user.get("/v1/me").json()["memberships"] == []


def test_patch_me_changes_name_theme_language(user):
    r = user.patch("/v1/me", json={"name": "  Ada King  ", "theme": "dark", "language": "pt-BR"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["name"] == "Ada King"
    assert body["theme"] == "dark"
    assert body["language"] == "pt-BR"
    # The very next request sees the change (no stale identity).
    me = user.get("/v1/me").json()
    assert (me["name"], me["theme"], me["language"]) == ("Ada King", "dark", "pt-BR")
    # Omitted fields stay as they are.
    r = user.patch("/v1/me", json={"theme": "system"})
    assert r.status_code == 200
    assert r.json()["name"] == "Ada King" and r.json()["theme"] == "system"
    # An empty object changes nothing.
    r = user.patch("/v1/me", json={})
    assert r.status_code == 200 and r.json()["theme"] == "system"


@pytest.mark.parametrize("body,code,field", [
    ({"theme": "blue"}, "invalid_theme", "theme"),
    ({"theme": "Dark"}, "invalid_theme", "theme"),
    ({"language": "english!"}, "invalid_language", "language"),
    ({"language": "e"}, "invalid_language", "language"),
    ({"language": ""}, "invalid_language", "language"),
    ({"name": ""}, "invalid_name", "name"),
    ({"name": "   "}, "invalid_name", "name"),
    ({"name": "x" * 201}, "invalid_name", "name"),
    ({"name": 5}, "invalid_type", "name"),
    ({"theme": ["dark"]}, "invalid_type", "theme"),
    ({"email": "new@example.com"}, "unknown_field", "email"),
])
def test_patch_me_validation(user, body, code, field):
    assert_problem(user.patch("/v1/me", json=body), 422, code, field)
    me = user.get("/v1/me").json()
    assert me["name"] == "Ada Lovelace"


def test_patch_me_rejected_change_changes_nothing(user):
    r = user.patch("/v1/me", json={"name": "Valid Name", "theme": "neon"})
    assert_problem(r, 422, "invalid_theme", "theme")
    assert user.get("/v1/me").json()["name"] == "Ada Lovelace"


# --- sessions -----------------------------------------------------------------------------

def test_sessions_list_marks_exactly_one_current_and_parses_user_agent(server, user):
    chrome = server.login(user.email, ua=CHROME_UA)
    firefox = server.login(user.email, ua=FIREFOX_UA)
    r = chrome.get("/v1/me/sessions")
    assert r.status_code == 200
    data = r.json()["data"]
    assert len(data) == 3  # signup + two logins
    assert len({s["id"] for s in data}) == 3
    current = [s for s in data if s["current"]]
    assert len(current) == 1
    cur = current[0]
    assert cur["id"].startswith("ses_")
    assert "Windows" in cur["device"]
    assert cur["browser"].startswith("Chrome")
    assert cur["ip"] == "127.0.0.1"
    assert "location" in cur
    assert RFC3339_UTC.match(cur["created_at"]) and RFC3339_UTC.match(cur["last_active_at"])
    ff = firefox.get("/v1/me/sessions").json()["data"]
    ff_cur = [s for s in ff if s["current"]]
    assert len(ff_cur) == 1 and ff_cur[0]["id"] != cur["id"]
    assert ff_cur[0]["browser"].startswith("Firefox") and "Linux" in ff_cur[0]["device"]
    # No token or hash ever appears.
    assert chrome.token not in r.text and user.token not in r.text


def test_sessions_are_private_to_their_user(user, other_user):
    mine = {s["id"] for s in user.get("/v1/me/sessions").json()["data"]}
    theirs = {s["id"] for s in other_user.get("/v1/me/sessions").json()["data"]}
    assert mine and theirs and not (mine & theirs)


def test_delete_one_session_signs_it_out(server, user):
    second = server.login(user.email, ua=CHROME_UA)
    second_id = [s for s in second.get("/v1/me/sessions").json()["data"] if s["current"]][0]["id"]
    r = user.delete(f"/v1/me/sessions/{second_id}")
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert_problem(second.get("/v1/me"), 401, "unauthenticated")
    assert user.get("/v1/me").status_code == 200
    ids = {s["id"] for s in user.get("/v1/me/sessions").json()["data"]}
    assert second_id not in ids
    # Deleting it again: it is gone.
    assert_problem(user.delete(f"/v1/me/sessions/{second_id}"), 404, "not_found")


def test_delete_current_session_signs_the_caller_out(user):
    cur = [s for s in user.get("/v1/me/sessions").json()["data"] if s["current"]][0]["id"]
    assert user.delete(f"/v1/me/sessions/{cur}").status_code == 204
    assert_problem(user.get("/v1/me"), 401, "unauthenticated")


@pytest.mark.parametrize("sid", [NO_SESSION, "ses_short", "nonsense", "usr_" + "0" * 22])
def test_delete_unknown_session_is_404(user, sid):
    assert_problem(user.delete(f"/v1/me/sessions/{sid}"), 404, "not_found")


def test_cannot_delete_another_users_session(user, other_user):
    theirs = other_user.get("/v1/me/sessions").json()["data"][0]["id"]
    assert_problem(user.delete(f"/v1/me/sessions/{theirs}"), 404, "not_found")
    assert other_user.get("/v1/me").status_code == 200


def test_revoke_all_keeps_only_the_current_session(server, user):
    others = [server.login(user.email) for _ in range(2)]
    r = user.post("/v1/me/sessions/revoke-all")
    assert r.status_code == 200, r.text
    assert r.json()["revoked"] == 2
    for o in others:
        assert_problem(o.get("/v1/me"), 401, "unauthenticated")
    data = user.get("/v1/me/sessions").json()["data"]
    assert len(data) == 1 and data[0]["current"] is True
    # Nothing left to revoke.
    r = user.post("/v1/me/sessions/revoke-all")
    assert r.status_code == 200 and r.json()["revoked"] == 0
    assert user.get("/v1/me").status_code == 200


def test_revoke_all_does_not_touch_other_users(user, other_user):
    assert user.post("/v1/me/sessions/revoke-all").status_code == 200
    assert other_user.get("/v1/me").status_code == 200
