"""Control characters in names: C0 (ESC, CR, LF, TAB, NUL, …), DEL and C1 (U+0080-U+009F)
are refused with 422 naming the field, in every single-line name people or keys set. Such names
reach operators' terminals through `gatehouse audit export` and the logs, where an ESC sequence
rewrites the screen. Invalid UTF-8 is refused too (400 `invalid_utf8`, before any route)."""
import json

import pytest

from ghtest import PASSWORD, assert_problem, unique_email

BAD = {
    "esc": "Evil\x1b]0;pwned\x07Name",
    "csi": "Red\x1b[31m",
    "newline": "Two\nLines",
    "cr": "Over\rwritten",
    "tab": "Tab\tbed",
    "nul": "Nul\x00l",
    "del": "Del\x7fete",
    "c1_csi": "Eight\x9b2Jbit",
    "c1_nel": "Next\x85Line",
    "line_separator": "Line\u2028Sep",
}


@pytest.fixture
def ws(user):
    return user.create_workspace("Control Co")


@pytest.mark.parametrize("kind", sorted(BAD))
def test_names_with_control_characters_are_422(user, ws, kind):
    bad = BAD[kind]
    wid = ws["id"]
    assert_problem(user.patch("/v1/me", json={"name": bad}), 422, "invalid_name", "name")
    assert_problem(user.post("/v1/workspaces", json={"name": bad}), 422, "invalid_name", "name")
    assert_problem(user.patch(f"/v1/workspaces/{wid}", json={"name": bad}), 422, "invalid_name",
                   "name")
    assert_problem(user.post(f"/v1/workspaces/{wid}/projects", json={"name": bad}), 422,
                   "invalid_name", "name")
    assert_problem(user.post(f"/v1/workspaces/{wid}/roles",
                             json={"name": bad, "permissions": ["workspace.view"]}),
                   422, "invalid_name", "name")
    keys = f"/v1/workspaces/{wid}/api-keys"
    assert_problem(user.post(keys, json={"name": bad}), 422, "invalid_name", "name")
    assert_problem(user.post(keys, json={"name": "Fine", "service": bad}), 422,
                   "invalid_service", "service")
    events = f"/v1/workspaces/{wid}/audit-logs"
    for part in ("type", "id", "name"):
        r = user.post(events, json={"action": "report.exported",
                                    "target": {"type": "report", "id": "r1", part: bad}})
        assert_problem(r, 422, "invalid_target", f"target.{part}")
    assert_problem(user.post(events, json={"action": bad}), 422, "invalid_action", "action")
    r = user.put(f"/v1/workspaces/{wid}/ip-allowlist",
                 json={"enabled": False, "entries": [{"cidr": "10.0.0.0/8", "label": bad}]})
    assert_problem(r, 422, "invalid_label", "entries[0].label")


@pytest.mark.parametrize("kind", ["esc", "c1_csi"])
def test_signup_names_with_control_characters_are_422(anon, kind):
    r = anon.post("/v1/auth/signup",
                  json={"email": unique_email(), "password": PASSWORD, "name": BAD[kind]})
    assert_problem(r, 422, "invalid_name", "name")


def test_role_descriptions_keep_line_breaks_but_no_other_controls(user, ws):
    roles = f"/v1/workspaces/{ws['id']}/roles"
    r = user.post(roles, json={"name": "Reader", "permissions": ["workspace.view"],
                               "description": "Reads.\nNever writes."})
    assert r.status_code == 201, r.text
    assert r.json()["description"] == "Reads.\nNever writes."
    for bad in ("Esc\x1b[2J", "Carriage\r\nreturn", "C1\x9b", "Tab\there"):
        r = user.post(roles, json={"name": "Other", "permissions": ["workspace.view"],
                                   "description": bad})
        assert_problem(r, 422, "invalid_description", "description")


def test_unicode_names_are_kept(user, ws):
    name = "Zoë Ørsted · 東京 😀"
    r = user.patch("/v1/me", json={"name": name})
    assert r.status_code == 200, r.text
    assert user.get("/v1/me").json()["name"] == name
    r = user.post(f"/v1/workspaces/{ws['id']}/projects", json={"name": name})
    assert r.status_code == 201, r.text
    assert r.json()["name"] == name


@pytest.mark.parametrize("raw", [b'{"name": "Bad \xff byte"}', b'{"name": "Over\xc0\xaflong"}',
                                 b'{"name": "Surrogate \xed\xa0\x80"}'])
def test_invalid_utf8_in_a_name_is_400(user, raw):
    r = user.post("/v1/workspaces", data=raw, headers={"Content-Type": "application/json"})
    assert_problem(r, 400, "invalid_utf8")


def test_escaped_controls_in_json_are_refused_too(user, ws):
    raw = json.dumps({"name": "Escaped\u001b[2J"})  # sent as \\u001b
    assert "\\u001b" in raw
    r = user.post("/v1/workspaces", data=raw.encode(), headers={"Content-Type": "application/json"})
    assert_problem(r, 422, "invalid_name", "name")
    raw = '{"name": "Nul\\u0000"}'
    r = user.post(f"/v1/workspaces/{ws['id']}/projects", data=raw.encode(),
                  headers={"Content-Type": "application/json"})
    assert_problem(r, 422, "invalid_name", "name")


def test_user_agent_is_kept_without_controls(user, ws):
    """HTTP refuses C0 in header values, but C1 and bytes that are not UTF-8 pass: the user
    agent kept with audit events (and printed by the CLI export) has them replaced."""
    ua = b"Evil/1.0 \xc2\x9b2J \xff tab\there"
    r = user.patch(f"/v1/workspaces/{ws['id']}", json={"name": "Renamed Co"},
                   headers={"User-Agent": ua})
    assert r.status_code == 200, r.text
    events = user.get(f"/v1/workspaces/{ws['id']}/audit-logs",
                      params={"action": "workspace.updated"}).json()["data"]
    assert events[0]["user_agent"] == "Evil/1.0 ?2J ? tab?here", events[0]
