"""The workspace IP allowlist (GET/PUT /v1/workspaces/{ws}/ip-allowlist) and trusted proxies.

The tests talk from 127.0.0.1. The module's own servers (one on SQLite, one on PostgreSQL
when GATEHOUSE_TEST_PG is set) run with --trusted-proxies 127.0.0.1,::1, so that an
X-Forwarded-For header presents any client address; the suite's shared server runs without
the flag and shows that the header is ignored there.
"""
import os
import time

import pytest

from ghtest import Server, assert_problem, join

OFFICE = "203.0.113.0/24"
VPN = "198.51.100.42"
INSIDE = "203.0.113.7"
OUTSIDE = "192.0.2.1"


def _stop(srv):
    rc = srv.stop()
    assert rc == 0, f"gatehouse did not exit cleanly (exit code {rc})\n{srv.stderr()}"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def srv(request, tmp_path_factory):
    if request.param == "postgres":
        url = os.environ.get("GATEHOUSE_TEST_PG")
        if not url:
            pytest.skip("GATEHOUSE_TEST_PG is not set")
        d = tmp_path_factory.mktemp("ipallow-pg")
        db = url
    else:
        d = tmp_path_factory.mktemp("ipallow")
        db = f"sqlite:{d}/g.db"
    s = Server(db, d, ["--trusted-proxies", "127.0.0.1,::1"]).start()
    yield s
    _stop(s)


def at(client, ip):
    """From now on, `client` presents itself as coming from `ip` (via X-Forwarded-For)."""
    client.s.headers["X-Forwarded-For"] = ip
    return client


def path(ws_id):
    return f"/v1/workspaces/{ws_id}/ip-allowlist"


def put(client, ws_id, enabled, *entries):
    body = {"enabled": enabled,
            "entries": [e if isinstance(e, dict) else {"cidr": e} for e in entries]}
    return client.put(path(ws_id), json=body)


def bearer(srv, secret, ip=None):
    headers = {"Authorization": f"Bearer {secret}"}
    if ip:
        headers["X-Forwarded-For"] = ip
    c = srv.client()
    c.s.headers.update(headers)
    return c


def create_key(client, ws_id, name="Gateway key"):
    r = client.post(f"/v1/workspaces/{ws_id}/api-keys", json={"name": name})
    assert r.status_code == 201, r.text
    return r.json()


def verify(srv, secret, ip=None):
    body = {"key": secret, "endpoint": "/v1/chat"}
    if ip is not None:
        body["ip"] = ip
    r = srv.client().post("/v1/keys/verify", json=body)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def owner_ws(srv):
    owner = at(srv.signup(name="Ophelia Owner"), INSIDE)
    ws = owner.create_workspace("Allowlisted Co")
    return owner, ws


# --- the resource -------------------------------------------------------------------------------

def test_new_workspace_has_the_list_off_and_empty(owner_ws):
    owner, ws = owner_ws
    r = owner.get(path(ws["id"]))
    assert r.status_code == 200, r.text
    assert r.json() == {"enabled": False, "entries": [], "updated_at": None}
    assert ws["ip_allowlist_enabled"] is False


def test_put_stores_canonical_entries_with_labels(owner_ws):
    owner, ws = owner_ws
    r = put(owner, ws["id"], True, {"cidr": OFFICE, "label": "Office"},
            {"cidr": VPN, "label": " VPN "}, {"cidr": "2001:DB8:0::/32"}, {"cidr": "192.0.2.0/24",
                                                                           "label": None})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["enabled"] is True
    assert body["entries"] == [{"cidr": OFFICE, "label": "Office"},
                               {"cidr": "198.51.100.42/32", "label": "VPN"},
                               {"cidr": "2001:db8::/32", "label": ""},
                               {"cidr": "192.0.2.0/24", "label": ""}]
    assert body["updated_at"]
    assert owner.get(path(ws["id"])).json() == body
    assert owner.get(f"/v1/workspaces/{ws['id']}").json()["ip_allowlist_enabled"] is True


def test_lockout_guard(owner_ws):
    owner, ws = owner_ws
    # Enabling a list that leaves the caller out is refused, and changes nothing.
    r = put(owner, ws["id"], True, VPN)
    assert_problem(r, 422, "ip_allowlist_lockout", "entries")
    assert INSIDE in r.json()["detail"]
    assert owner.get(path(ws["id"])).json()["enabled"] is False
    # A list that is off may be saved as a draft without the caller.
    assert put(owner, ws["id"], False, VPN).status_code == 200
    assert put(owner, ws["id"], True, VPN, OFFICE).status_code == 200
    # Editing the list while it is on: the caller must stay inside.
    assert_problem(put(owner, ws["id"], True, VPN), 422, "ip_allowlist_lockout", "entries")
    assert len(owner.get(path(ws["id"])).json()["entries"]) == 2
    # Enabling with no entries at all is refused on its own.
    assert_problem(put(owner, ws["id"], True), 422, "ip_allowlist_empty", "entries")
    # Turning it off always works (from inside).
    assert put(owner, ws["id"], False).status_code == 200


@pytest.mark.parametrize("entries, code, field", [
    ([{"cidr": OFFICE}, {"cidr": VPN}, {"cidr": "10.0.0.0/33"}], "invalid_cidr", "entries[2].cidr"),
    ([{"cidr": "203.0.113.5/24"}], "invalid_cidr", "entries[0].cidr"),
    ([{"cidr": "example.com"}], "invalid_cidr", "entries[0].cidr"),
    ([{"cidr": "2001:db8::/129"}], "invalid_cidr", "entries[0].cidr"),
    ([{"cidr": ""}], "invalid_cidr", "entries[0].cidr"),
    ([{"cidr": OFFICE}, {"cidr": "203.0.113.0/24"}], "duplicate_entry", "entries[1].cidr"),
    ([{"cidr": "2001:db8::/32"}, {"cidr": "2001:DB8::/32"}], "duplicate_entry", "entries[1].cidr"),
    ([{"cidr": OFFICE, "label": "x" * 65}], "invalid_label", "entries[0].label"),
    ([{"cidr": OFFICE, "label": "line\nbreak"}], "invalid_label", "entries[0].label"),
    ([{"cidr": OFFICE, "label": 7}], "invalid_type", "entries[0].label"),
    ([{"cidr": 10}], "invalid_type", "entries[0].cidr"),
    ([{"label": "no cidr"}], "required", "entries[0].cidr"),
    ([{"cidr": OFFICE, "note": "x"}], "unknown_field", "entries[0].note"),
    (["203.0.113.0/24"], "invalid_type", "entries[0]"),
    ([{"cidr": f"10.0.{i}.0/24"} for i in range(101)], "too_many_entries", "entries"),
])
def test_validation_errors_name_the_field(owner_ws, entries, code, field):
    owner, ws = owner_ws
    r = owner.put(path(ws["id"]), json={"enabled": False, "entries": entries})
    assert_problem(r, 422, code, field)


def test_body_shape_errors(owner_ws):
    owner, ws = owner_ws
    assert_problem(owner.put(path(ws["id"]), json={"entries": []}), 422, "required", "enabled")
    assert_problem(owner.put(path(ws["id"]), json={"enabled": "yes", "entries": []}), 422,
                   "invalid_type", "enabled")
    assert_problem(owner.put(path(ws["id"]), json={"enabled": False}), 422, "required", "entries")
    assert_problem(owner.put(path(ws["id"]), json={"enabled": False, "entries": {}}), 422,
                   "invalid_type", "entries")
    assert_problem(owner.put(path(ws["id"]), json={"enabled": False, "entries": [], "x": 1}), 422,
                   "unknown_field", "x")
    # 64 characters are fine, and a hundred entries.
    ok = [{"cidr": f"10.0.{i}.0/24", "label": "é" * 64} for i in range(100)]
    assert owner.put(path(ws["id"]), json={"enabled": False, "entries": ok}).status_code == 200


def test_only_those_with_the_permission_see_or_change_it(srv, owner_ws):
    owner, ws = owner_ws
    admin = at(join(srv, owner, ws["id"], role="admin", name="Ada Admin"), INSIDE)
    dev = at(join(srv, owner, ws["id"], role="developer", name="Dev Eloper"), INSIDE)
    assert admin.get(path(ws["id"])).status_code == 200
    assert put(admin, ws["id"], True, OFFICE).status_code == 200
    assert_problem(dev.get(path(ws["id"])), 403, "forbidden")
    assert_problem(put(dev, ws["id"], False), 403, "forbidden")
    stranger = at(srv.signup(name="Stranger"), INSIDE)
    assert_problem(stranger.get(path(ws["id"])), 404, "not_found")
    assert put(owner, ws["id"], False, OFFICE).status_code == 200


def test_audit_event_records_before_and_after(owner_ws):
    owner, ws = owner_ws
    assert put(owner, ws["id"], True, {"cidr": OFFICE, "label": "Office"}).status_code == 200
    assert put(owner, ws["id"], True, {"cidr": OFFICE, "label": "Office"}).status_code == 200  # no-op
    assert put(owner, ws["id"], False, {"cidr": OFFICE, "label": "Office"}).status_code == 200
    r = owner.get(f"/v1/workspaces/{ws['id']}/audit-logs",
                  params={"action": "workspace.ip_allowlist_updated"})
    assert r.status_code == 200, r.text
    events = r.json()["data"]
    assert len(events) == 2, events  # the repeated PUT changed nothing and recorded nothing
    off, on = events  # newest first
    assert on["details"]["enabled"] is True
    assert on["details"]["before"] == {"enabled": False, "entries": []}
    assert on["details"]["after"] == {"enabled": True,
                                      "entries": [{"cidr": OFFICE, "label": "Office"}]}
    assert off["details"]["before"]["enabled"] is True
    assert off["details"]["after"]["enabled"] is False
    assert on["target"]["id"] == ws["id"]
    assert on["ip"] == INSIDE  # the client address behind the trusted proxy


# --- enforcement --------------------------------------------------------------------------------

def test_sessions_and_keys_from_outside_are_refused(srv, owner_ws):
    owner, ws = owner_ws
    other_ws = owner.create_workspace("Unrestricted Co")
    key = create_key(owner, ws["id"])
    assert put(owner, ws["id"], True, {"cidr": OFFICE, "label": "Office"},
               {"cidr": VPN, "label": "VPN"}).status_code == 200

    outside = at(srv.login(owner.email), OUTSIDE)
    r = outside.get(f"/v1/workspaces/{ws['id']}")
    assert_problem(r, 403, "ip_not_allowed")
    assert OUTSIDE in r.json()["detail"]
    # Every workspace route, reads and writes alike, and the allowlist itself.
    assert_problem(outside.get(f"/v1/workspaces/{ws['id']}/members"), 403, "ip_not_allowed")
    assert_problem(outside.patch(f"/v1/workspaces/{ws['id']}", json={"name": "Nope"}), 403,
                   "ip_not_allowed")
    assert_problem(put(outside, ws["id"], False), 403, "ip_not_allowed")
    # The workspace still shows in the lists, flagged, so that people can see why.
    listed = {w["id"]: w for w in outside.get("/v1/workspaces").json()["data"]}
    assert listed[ws["id"]]["ip_allowlist_enabled"] is True
    me = {m["workspace_id"]: m for m in outside.get("/v1/me").json()["memberships"]}
    assert me[ws["id"]]["ip_allowlist_enabled"] is True
    # Other workspaces of the same user are unaffected.
    assert outside.get(f"/v1/workspaces/{other_ws['id']}").status_code == 200

    # A bearer key of the workspace, likewise.
    keys = f"/v1/workspaces/{ws['id']}/api-keys"
    assert_problem(bearer(srv, key["key"], OUTSIDE).get(keys), 403, "ip_not_allowed")
    assert bearer(srv, key["key"], "198.51.100.42").get(keys).status_code == 200
    assert at(srv.login(owner.email), "203.0.113.200").get(keys).status_code == 200

    # Turned off: allowed again at once.
    assert put(owner, ws["id"], False, OFFICE, VPN).status_code == 200
    assert outside.get(f"/v1/workspaces/{ws['id']}").status_code == 200
    assert bearer(srv, key["key"], OUTSIDE).get(keys).status_code == 200


def test_verify_answers_ip_not_allowed_outside_the_workspace_list(srv, owner_ws):
    owner, ws = owner_ws
    other_ws = owner.create_workspace("Other Co")
    key = create_key(owner, ws["id"])
    other_key = create_key(owner, other_ws["id"])
    assert verify(srv, key["key"], OUTSIDE)["code"] == "VALID"
    assert put(owner, ws["id"], True, OFFICE, "2001:db8::/32").status_code == 200
    # Effective before the PUT answered: no waiting.
    v = verify(srv, key["key"], OUTSIDE)
    assert v["valid"] is False and v["code"] == "IP_NOT_ALLOWED" and v["key_id"] == key["id"]
    assert verify(srv, key["key"], INSIDE)["code"] == "VALID"
    assert verify(srv, key["key"], "2001:db8::42")["code"] == "VALID"
    assert verify(srv, key["key"], "2001:db9::42")["code"] == "IP_NOT_ALLOWED"
    # No `ip`: the gateway did not say where the call came from, so it is not let through.
    assert verify(srv, key["key"])["code"] == "IP_NOT_ALLOWED"
    # Keys created while the list is on are bound too; other workspaces' keys are not.
    late = create_key(owner, ws["id"], "Created later")
    assert verify(srv, late["key"], OUTSIDE)["code"] == "IP_NOT_ALLOWED"
    assert verify(srv, late["key"], INSIDE)["code"] == "VALID"
    assert verify(srv, other_key["key"], OUTSIDE)["code"] == "VALID"
    # A rotated key stays bound.
    r = owner.post(f"/v1/workspaces/{ws['id']}/api-keys/{key['id']}/rotate", json={})
    assert r.status_code == 200, r.text
    assert verify(srv, r.json()["key"], OUTSIDE)["code"] == "IP_NOT_ALLOWED"
    assert put(owner, ws["id"], False, OFFICE).status_code == 200
    assert verify(srv, late["key"], OUTSIDE)["code"] == "VALID"


def test_ipv6_entries(srv, owner_ws):
    owner, ws = owner_ws
    v6 = at(srv.login(owner.email), "2001:db8:1::5")
    assert_problem(put(v6, ws["id"], True, OFFICE), 422, "ip_allowlist_lockout", "entries")
    r = put(v6, ws["id"], True, {"cidr": "2001:DB8:1::/48", "label": "v6 office"}, OFFICE)
    assert r.status_code == 200, r.text
    assert r.json()["entries"][0] == {"cidr": "2001:db8:1::/48", "label": "v6 office"}
    assert v6.get(f"/v1/workspaces/{ws['id']}").status_code == 200
    other = at(srv.login(owner.email), "2001:db8:2::5")
    assert_problem(other.get(f"/v1/workspaces/{ws['id']}"), 403, "ip_not_allowed")
    assert put(v6, ws["id"], False).status_code == 200


def test_another_process_on_the_same_store_follows_the_change(srv, owner_ws, tmp_path):
    """A second gatehouse on the same store: sessions and verification follow the change."""
    owner, ws = owner_ws
    key = create_key(owner, ws["id"])
    second = Server(srv.db, tmp_path, ["--trusted-proxies", "127.0.0.1"]).start()
    try:
        assert verify(second, key["key"], OUTSIDE)["code"] == "VALID"
        assert put(owner, ws["id"], True, OFFICE).status_code == 200
        deadline = time.monotonic() + 20
        while verify(second, key["key"], OUTSIDE)["code"] == "VALID":
            assert time.monotonic() < deadline, "the other process never saw the allowlist"
            time.sleep(0.2)
        assert verify(second, key["key"], INSIDE)["code"] == "VALID"
        outside = at(second.login(owner.email), OUTSIDE)
        while outside.get(f"/v1/workspaces/{ws['id']}").status_code == 200:
            assert time.monotonic() < deadline, "the other process never refused the session"
            time.sleep(0.2)
        assert_problem(outside.get(f"/v1/workspaces/{ws['id']}"), 403, "ip_not_allowed")
        assert put(owner, ws["id"], False, OFFICE).status_code == 200
        while verify(second, key["key"], OUTSIDE)["code"] != "VALID":
            assert time.monotonic() < deadline, "the other process never saw the list go off"
            time.sleep(0.2)
    finally:
        _stop(second)


def test_check_is_not_ip_based_for_the_subject(srv, owner_ws):
    """/v1/check answers about a subject's role; the subject's address is unknown to it. The
    caller itself is bound by the list like any other caller."""
    owner, ws = owner_ws
    dev = join(srv, owner, ws["id"], role="developer", name="Dev Subject")
    assert put(owner, ws["id"], True, OFFICE).status_code == 200
    body = {"workspace_id": ws["id"], "permission": "api_keys.create",
            "subject": {"type": "user", "id": dev.user["id"]}}
    r = owner.post("/v1/check", json=body)
    assert r.status_code == 200 and r.json()["allowed"] is True, r.text
    outside = at(srv.login(owner.email), OUTSIDE)
    assert_problem(outside.post("/v1/check", json=body), 403, "ip_not_allowed")
    assert put(owner, ws["id"], False).status_code == 200


# --- trusted proxies ----------------------------------------------------------------------------

def test_spoofed_leftmost_entry_is_ignored(srv, owner_ws):
    owner, ws = owner_ws
    assert put(owner, ws["id"], True, OFFICE).status_code == 200
    # The client wrote an office address itself; the proxy appended the real one.
    spoofer = at(srv.login(owner.email), f"{INSIDE}, {OUTSIDE}")
    r = spoofer.get(f"/v1/workspaces/{ws['id']}")
    assert_problem(r, 403, "ip_not_allowed")
    assert OUTSIDE in r.json()["detail"]
    # Trusted hops on the right are skipped.
    via_chain = at(srv.login(owner.email), f"{OUTSIDE}, {INSIDE}, 127.0.0.1")
    assert via_chain.get(f"/v1/workspaces/{ws['id']}").status_code == 200
    # A malformed header counts for nothing: the peer (127.0.0.1) is the client.
    garbled = at(srv.login(owner.email), f"{INSIDE}, not-an-address")
    r = garbled.get(f"/v1/workspaces/{ws['id']}")
    assert_problem(r, 403, "ip_not_allowed")
    assert "127.0.0.1" in r.json()["detail"]
    assert put(owner, ws["id"], False).status_code == 200


def test_client_address_is_used_for_sessions(srv):
    c = srv.signup(name="Session Person")
    srv_login = at(srv.client(), "198.51.100.78")
    r = srv_login.post("/v1/auth/login", json={"email": c.email, "password": c.password})
    assert r.status_code == 200, r.text
    ips = {s["ip"] for s in c.get("/v1/me/sessions").json()["data"]}
    assert "198.51.100.78" in ips, ips


def test_without_trusted_proxies_forwarded_for_is_ignored(server):
    """The suite's shared server has no --trusted-proxies: the socket's address counts."""
    owner = server.signup(name="No Proxy Owner")
    ws = owner.create_workspace("Direct Co")
    at(owner, INSIDE)
    # The header claims the office, but the caller is really 127.0.0.1: enabling would lock out.
    assert_problem(put(owner, ws["id"], True, OFFICE), 422, "ip_allowlist_lockout", "entries")
    assert put(owner, ws["id"], True, OFFICE, "127.0.0.1").status_code == 200
    assert owner.get(f"/v1/workspaces/{ws['id']}").status_code == 200
    sessions = owner.get("/v1/me/sessions").json()["data"]
    assert {s["ip"] for s in sessions} == {"127.0.0.1"}
    events = owner.get(f"/v1/workspaces/{ws['id']}/audit-logs",
                       params={"action": "workspace.ip_allowlist_updated"}).json()["data"]
    assert events[0]["ip"] == "127.0.0.1"
    # Pretending to come from the office does not get a loopback-less list past the guard.
    assert_problem(put(owner, ws["id"], True, OFFICE), 422, "ip_allowlist_lockout", "entries")
    assert put(owner, ws["id"], False).status_code == 200
