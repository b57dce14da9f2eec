"""The audit log at scale: filters, project isolation, PII redaction, the streamed CSV export,
host product events, verification after tampering, and retention; on both stores where the
store does the work."""
import csv
import http.client
import io
import json
import os
import socket
import subprocess
import threading
import time
import urllib.parse

import pytest
import requests

from ghtest import CHROME_UA, assert_problem, binary, connect, join

ROLE_AUDITOR = ["workspace.view", "members.view", "audit_log.view", "audit_log.export"]


def cli(*args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
    return subprocess.run([binary(), *args], capture_output=True, text=True, timeout=60, env=env)


def raw_sql(srv, statement):
    """Runs one statement behind the server's back, with the backend's own client."""
    if srv.db.startswith("sqlite:"):
        return srv.sql(statement)
    r = subprocess.run(["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", srv.db,
                        "-c", statement], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


def logs_path(ws_id, tail=""):
    return f"/v1/workspaces/{ws_id}/audit-logs{tail}"


def record(client, ws_id, action, **fields):
    r = client.post(logs_path(ws_id), json={"action": action, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def listing(client, ws_id, **params):
    r = client.get(logs_path(ws_id), params=params)
    assert r.status_code == 200, r.text
    return r.json()


def ids(client, ws_id, **params):
    """Every matching event id, newest first, walking the pages."""
    out, cursor = [], None
    for _ in range(100):
        q = dict(params)
        if cursor:
            q["cursor"] = cursor
        page = listing(client, ws_id, **q)
        out += [e["id"] for e in page["data"]]
        cursor = page["next_cursor"]
        if not cursor:
            return out
    raise AssertionError("too many pages")


def export_rows(client, ws_id, **params):
    r = client.get(logs_path(ws_id, "/export"), params=params)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/csv")
    assert r.headers.get("Transfer-Encoding") == "chunked"
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8"), newline="")))
    assert rows[0][:3] == ["id", "occurred_at", "action"]
    return rows[0], rows[1:], r.content


@pytest.fixture
def history(backend_server):
    """A workspace with host events of known actors, actions, targets and projects."""
    owner = backend_server.signup(name="Olive Owner")
    ws = owner.create_workspace("Filter Co")
    prj = owner.post(f"/v1/workspaces/{ws['id']}/projects", json={"name": "Prod"}).json()
    dev = join(backend_server, owner, ws["id"], role="developer", name="Dev Person")
    r = owner.put(f"/v1/workspaces/{ws['id']}/projects/{prj['id']}/members/{dev.user['id']}",
                  json={"role": "developer"})
    assert r.status_code == 200, r.text
    ev = {
        "viewed": record(owner, ws["id"], "logs.viewed", target={"type": "call", "id": "call_1"}),
        "dev_viewed": record(dev, ws["id"], "logs.viewed", target={"type": "call", "id": "call_2"},
                             project_id=prj["id"]),
        "exported": record(owner, ws["id"], "report.exported", project_id=prj["id"],
                           details={"rows": 1000}),
        "rules": record(dev, ws["id"], "routing_rules.updated", target={"type": "rule", "id": "call_1"}),
    }
    return {"srv": backend_server, "owner": owner, "dev": dev, "ws": ws, "prj": prj, "ev": ev}


def everything(client, ws_id):
    """Every event the caller sees, newest first, as full records."""
    out, cursor = [], None
    while True:
        page = listing(client, ws_id, limit=200, **({"cursor": cursor} if cursor else {}))
        out += page["data"]
        cursor = page["next_cursor"]
        if not cursor:
            return out


def test_each_filter_and_their_combination_on_both_stores(history):
    owner, ws, ev, dev, prj = history["owner"], history["ws"], history["ev"], history["dev"], history["prj"]
    w = ws["id"]
    full = everything(owner, w)
    assert [e["id"] for e in full[:4]] == [ev[k]["id"] for k in ("rules", "exported", "dev_viewed", "viewed")]

    def expect(pred, **params):
        """The server's filter selects exactly what `pred` selects from the whole log."""
        want = [e["id"] for e in full if pred(e)]
        assert ids(owner, w, **params) == want, params
        assert ids(owner, w, limit=1, **params) == want, params  # page by page
        return want

    dev_id = dev.user["id"]
    got = expect(lambda e: e["actor"]["id"] == dev_id, actor=dev_id)
    assert ev["rules"]["id"] in got and ev["dev_viewed"]["id"] in got and ev["viewed"]["id"] not in got
    assert expect(lambda e: e["action"] == "logs.viewed", action="logs.viewed") == \
        [ev["dev_viewed"]["id"], ev["viewed"]["id"]]
    got = expect(lambda e: e["action"].startswith("member."), action="member.*")
    assert len(got) >= 2  # invited, joined
    got = expect(lambda e: e["project_id"] == prj["id"], project_id=prj["id"])
    assert got[:2] == [ev["exported"]["id"], ev["dev_viewed"]["id"]]
    assert expect(lambda e: e["target"]["id"] == "call_1", target="call_1") == \
        [ev["rules"]["id"], ev["viewed"]["id"]]
    assert expect(lambda e: e["actor"]["id"] == dev_id and e["action"] == "logs.viewed"
                  and e["project_id"] == prj["id"],
                  actor=dev_id, action="logs.viewed", project_id=prj["id"]) == [ev["dev_viewed"]["id"]]
    # Times: from inclusive, to exclusive, RFC 3339.
    t = ev["viewed"]["occurred_at"]
    assert ev["viewed"]["id"] in expect(lambda e: e["occurred_at"] >= t, **{"from": t})
    assert ev["viewed"]["id"] not in expect(lambda e: e["occurred_at"] < t, to=t)
    expect(lambda e: e["occurred_at"] >= t and e["action"].startswith("routing_rules."),
           **{"from": t, "to": "2100-01-01T00:00:00Z", "action": "routing_rules.*"})
    assert ids(owner, w, **{"from": "2000-01-01T00:00:00Z", "to": "2000-01-02T00:00:00Z"}) == []


@pytest.mark.parametrize("field,value", [
    ("actor", "not an id"), ("action", "Logs.Viewed"), ("action", "logs"), ("action", "*"),
    ("action", "logs.viewed.again"), ("project_id", "bad id"), ("from", "yesterday"),
    ("to", "2026-13-45T00:00:00Z"), ("target", ""),
])
def test_bad_filter_is_400_naming_the_field(user, field, value):
    ws = user.create_workspace("Bad Filter Co")
    for tail in ("", "/export"):
        r = user.get(logs_path(ws["id"], tail), params={field: value})
        assert_problem(r, 400, "invalid_filter", field)


def test_from_after_to_is_400(user):
    ws = user.create_workspace("Backwards Co")
    r = user.get(logs_path(ws["id"]), params={"from": "2026-02-01T00:00:00Z",
                                              "to": "2026-01-01T00:00:00Z"})
    assert_problem(r, 400, "invalid_filter", "to")


@pytest.fixture
def isolated(server):
    return isolated_workspace(server)


def isolated_workspace(server):
    """An owner, two projects, and an auditor (custom role: audit log, no PII, no
    projects.view_all) who holds a role in project A only."""
    owner = server.signup(name="Olive Owner")
    ws = owner.create_workspace("Isolation Co")
    w = ws["id"]
    a = owner.post(f"/v1/workspaces/{w}/projects", json={"name": "A"}).json()
    b = owner.post(f"/v1/workspaces/{w}/projects", json={"name": "B"}).json()
    role = owner.post(f"/v1/workspaces/{w}/roles",
                      json={"name": "Auditor", "permissions": ROLE_AUDITOR})
    assert role.status_code == 201, role.text
    auditor = join(server, owner, w, role="viewer", name="Audrey Auditor")
    r = owner.patch(f"/v1/workspaces/{w}/members/{auditor.user['id']}", json={"role": role.json()["id"]})
    assert r.status_code == 200, r.text
    r = owner.put(f"/v1/workspaces/{w}/projects/{a['id']}/members/{auditor.user['id']}",
                  json={"role": "viewer"})
    assert r.status_code == 200, r.text
    ev = {
        "in_a": record(owner, w, "logs.viewed", project_id=a["id"],
                       details={"caller": "carol@acme.com", "from_ip": "203.0.113.42"}),
        "in_b": record(owner, w, "logs.viewed", project_id=b["id"]),
        "workspace": record(owner, w, "settings.changed", target={"type": "user", "id": "x",
                                                                 "name": "bob@acme.com"}),
    }
    return {"owner": owner, "auditor": auditor, "ws": ws, "a": a, "b": b, "ev": ev}


def test_project_isolation_shows_visible_projects_and_workspace_events(isolated):
    owner, auditor, ws, ev = isolated["owner"], isolated["auditor"], isolated["ws"], isolated["ev"]
    w = ws["id"]
    seen = ids(auditor, w)
    assert ev["in_a"]["id"] in seen and ev["workspace"]["id"] in seen
    assert ev["in_b"]["id"] not in seen
    assert ev["in_b"]["id"] in ids(owner, w, project_id=isolated["b"]["id"])
    assert ids(auditor, w, project_id=isolated["b"]["id"]) == []
    # Exactly the owner's view minus other projects' events.
    a_id = isolated["a"]["id"]
    assert seen == [e["id"] for e in everything(owner, w) if e["project_id"] in (None, a_id)]
    events = listing(auditor, w)["data"]
    assert all(e["project_id"] in (None, isolated["a"]["id"]) for e in events)
    _, rows, _ = export_rows(auditor, w)
    exported = [r[0] for r in rows]
    assert ev["in_b"]["id"] not in exported and ev["in_a"]["id"] in exported


def test_noun_prefix_pages_with_the_cursor_and_keeps_project_isolation_on_both_stores(
        backend_server):
    iso = isolated_workspace(backend_server)
    owner, auditor, w = iso["owner"], iso["auditor"], iso["ws"]["id"]
    a, b = iso["a"]["id"], iso["b"]["id"]
    # Nouns that share the prefix's letters must not match: reports.*, report_card.*.
    actions = ["report.exported", "reports.built", "report.viewed", "report_card.sent"]
    projects = [a, b, None]
    for i in range(14):
        fields = {"project_id": projects[i % 3]} if projects[i % 3] else {}
        record(owner, w, actions[i % 4], target={"type": "report", "id": f"rep_{i}"}, **fields)
    full = everything(owner, w)
    want = [e["id"] for e in full if e["action"].startswith("report.")]
    assert len(want) == 7
    for limit in (1, 2, 3, 50):
        assert ids(owner, w, action="report.*", limit=limit) == want
    # Every page is in keyset order and the cursor continues where the last page stopped.
    first = listing(owner, w, action="report.*", limit=3)
    second = listing(owner, w, action="report.*", limit=3, cursor=first["next_cursor"])
    assert [e["id"] for e in first["data"] + second["data"]] == want[:6]
    # The auditor sees project A's and workspace-wide events only, page by page.
    visible = [e["id"] for e in full
               if e["action"].startswith("report.") and e["project_id"] in (None, a)]
    assert visible and len(visible) < len(want)
    assert ids(auditor, w, action="report.*", limit=2) == visible
    assert ids(auditor, w, action="report.*", project_id=b) == []
    # Combined with an actor and a time range.
    owner_id = owner.get("/v1/me").json()["id"]
    t = full[-1]["occurred_at"]
    assert ids(owner, w, action="report.*", actor=owner_id, limit=2,
               **{"from": t, "to": "2100-01-01T00:00:00Z"}) == want
    assert ids(owner, w, action="member.*") != []
    assert ids(owner, w, action="report_card.*", limit=1) == \
        [e["id"] for e in full if e["action"] == "report_card.sent"]


def test_noun_backfill_fills_events_written_before_the_column_on_both_stores(backend_server):
    srv = backend_server
    owner = srv.signup(name="Olive Owner")
    w = owner.create_workspace("Backfill Co")["id"]
    made = [record(owner, w, "report.exported")["id"], record(owner, w, "logs.viewed")["id"],
            record(owner, w, "report.viewed")["id"]]
    want = [made[2], made[0]]
    assert ids(owner, w, action="report.*") == want
    # As if written by a gatehouse from before migration 9: no noun yet.
    raw_sql(srv, f"UPDATE audit_events SET noun=NULL WHERE workspace_id='{w}'")
    assert ids(owner, w, action="report.*") == []
    r = cli("migrate", "--db", srv.db)
    assert r.returncode == 0, r.stderr
    assert ids(owner, w, action="report.*") == want
    assert ids(owner, w, action="logs.*") == [made[1]]
    left = raw_sql(srv, f"SELECT COUNT(*) FROM audit_events WHERE noun IS NULL AND workspace_id='{w}'")
    assert left.strip() == "0"
    assert owner.get(logs_path(w, "/verify")).json()["valid"] is True


def test_pii_is_masked_for_roles_without_the_view_pii_permission(isolated):
    owner, auditor, w, ev = isolated["owner"], isolated["auditor"], isolated["ws"]["id"], isolated["ev"]
    full = {e["id"]: e for e in listing(owner, w)["data"]}
    masked = {e["id"]: e for e in listing(auditor, w)["data"]}
    a_full, a_masked = full[ev["in_a"]["id"]], masked[ev["in_a"]["id"]]
    assert a_full["actor"]["email"] == owner.email
    local, domain = owner.email.split("@")
    assert a_masked["actor"]["email"] == f"{local[0]}***@{domain}"
    assert a_full["ip"] == "127.0.0.1" and a_masked["ip"] == "127.0.0.x"
    assert a_masked["details"] == {"caller": "c***@acme.com", "from_ip": "203.0.113.x"}
    assert a_full["details"] == {"caller": "carol@acme.com", "from_ip": "203.0.113.42"}
    assert masked[ev["workspace"]["id"]]["target"]["name"] == "b***@acme.com"
    # The export masks the same way; the owner's does not.
    header, rows, raw = export_rows(auditor, w)
    assert owner.email.encode() not in raw and b"carol@acme.com" not in raw
    row = next(r for r in rows if r[0] == ev["in_a"]["id"])
    assert row[header.index("actor_email")] == f"{local[0]}***@{domain}"
    assert row[header.index("ip")] == "127.0.0.x"
    _, _, owner_raw = export_rows(owner, w)
    assert b"carol@acme.com" in owner_raw


def test_masking_covers_ipv6_non_ascii_emails_target_ids_and_user_agents(isolated):
    owner, auditor, w = isolated["owner"], isolated["auditor"], isolated["ws"]["id"]
    r = owner.post(logs_path(w), headers={"User-Agent": CHROME_UA}, json={
        "action": "settings.changed",
        "target": {"type": "user", "id": "jane.doe@acme.com", "name": "Jane"},
        "details": {"from": "2001:db8:85a3::8a2e:370:7334", "cc": "józef@przykład.pl",
                    "allow": ["2001:db8::/32"]}})
    assert r.status_code == 201, r.text
    full = {e["id"]: e for e in listing(owner, w)["data"]}[r.json()["id"]]
    masked = {e["id"]: e for e in listing(auditor, w)["data"]}[r.json()["id"]]
    assert full["target"]["id"] == "jane.doe@acme.com" and full["user_agent"] == CHROME_UA
    assert masked["target"]["id"] == "j***@acme.com"
    assert masked["details"] == {"from": "2001:db8:85a3:x", "cc": "j***@przykład.pl",
                                 "allow": ["2001:db8:0:x/32"]}
    assert masked["user_agent"] == "Chrome on Windows PC", masked["user_agent"]
    _, _, raw = export_rows(auditor, w)
    for secret in (b"8a2e:370:7334", "józef".encode(), b"jane.doe@", b"AppleWebKit"):
        assert secret not in raw, secret


def test_export_streams_rfc4180_csv_safely_and_records_itself(history):
    owner, w, srv = history["owner"], history["ws"]["id"], history["srv"]
    tricky = record(owner, w, "report.exported",
                    target={"type": "report", "id": "rep_1", "name": "=HYPERLINK(\"http://x\")"},
                    details={"note": "a, \"quoted\"\nline"})
    record(owner, w, "report.exported", target={"type": "report", "id": "rep_2", "name": "@SUM(A1)"})
    listed = ids(owner, w)
    header, rows, raw = export_rows(owner, w)
    assert b"\r\n" in raw
    assert [r[0] for r in rows] == listed
    assert all(len(r) == len(header) for r in rows)
    by_id = {r[0]: r for r in rows}
    name_col = header.index("target_name")
    assert by_id[tricky["id"]][name_col] == "'=HYPERLINK(\"http://x\")"
    assert json.loads(by_id[tricky["id"]][header.index("details")]) == {"note": "a, \"quoted\"\nline"}
    assert any(r[name_col] == "'@SUM(A1)" for r in rows)
    # Filters apply to the export too.
    _, filtered, _ = export_rows(owner, w, action="report.exported")
    assert len(filtered) == 3 and all(r[2] == "report.exported" for r in filtered)
    # Each export is recorded with its filter and row count.
    exported = listing(owner, w, action="audit_log.exported")["data"]
    assert exported[0]["details"] == {"format": "csv", "rows": 3,
                                      "filter": {"action": "report.exported"}}
    assert exported[1]["details"]["rows"] == len(rows)
    assert exported[0]["actor"]["id"] == owner.user["id"]


def test_export_needs_the_export_permission(server):
    owner = server.signup()
    ws = owner.create_workspace("Export Perms")
    viewer = join(server, owner, ws["id"], role="viewer")
    assert_problem(viewer.get(logs_path(ws["id"], "/export")), 403, "forbidden")


def test_export_of_many_batches_has_every_row_and_the_chain_holds(start_server, tmp_path):
    db = f"sqlite:{tmp_path}/big.db"
    r = cli("dev", "seed-audit", "--db", db, "--events", "2500", "--workspaces", "1", "--batch", "700")
    assert r.returncode == 0, r.stderr
    ws_id = r.stdout.split("workspace ")[1].split()[0]
    out = tmp_path / "out.csv"
    r = cli("audit", "export", "--db", db, "--workspace", ws_id, "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # no progress bar when stderr is not a terminal
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 2501 and len({r[0] for r in rows[1:]}) == 2500
    times = [r[1] for r in rows[1:]]
    assert times == sorted(times, reverse=True)
    r = cli("audit", "export", "--db", db, "--workspace", ws_id, "--format", "jsonl",
            "--action", "logs.viewed")
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    assert lines and all(e["action"] == "logs.viewed" for e in lines)
    r = cli("audit", "verify", "--db", db, "--workspace", ws_id)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2502 events" in r.stdout  # the seeded ones and the two exports


def test_host_events_validate_action_details_and_actor(history):
    owner, dev, w = history["owner"], history["dev"], history["ws"]["id"]
    post = lambda body: owner.post(logs_path(w), json=body)
    assert_problem(post({"action": "Logs Viewed"}), 422, "invalid_action", "action")
    assert_problem(post({"action": "logs"}), 422, "invalid_action", "action")
    assert_problem(post({}), 422, "required", "action")
    assert_problem(post({"action": "member.removed"}), 422, "reserved_action", "action")
    assert_problem(post({"action": "audit_log.exported"}), 422, "reserved_action", "action")
    assert_problem(post({"action": "logs.viewed", "details": {"x": "y" * 17000}}), 422,
                   "details_too_large", "details")
    assert_problem(post({"action": "logs.viewed", "details": [1]}), 422, "invalid_details", "details")
    assert_problem(post({"action": "logs.viewed", "actor": "usr_nobody"}), 422, "unknown_actor", "actor")
    assert_problem(post({"action": "logs.viewed", "project_id": "prj_nope"}), 422,
                   "unknown_project", "project_id")
    near_limit = record(owner, w, "logs.viewed", details={"x": "y" * 16000})
    assert len(near_limit["details"]["x"]) == 16000
    assert record(owner, w, "logs.viewed", actor=owner.user["id"])["actor"]["id"] == owner.user["id"]
    # A person signed in cannot speak for someone else; the host's backend (a key) can.
    assert_problem(post({"action": "logs.viewed", "actor": dev.user["id"]}), 403,
                   "actor_not_allowed", "actor")
    key = owner.post(f"/v1/workspaces/{w}/api-keys", json={"name": "Host backend"}).json()

    def as_key(body):
        return requests.post(history["srv"].url + logs_path(w), timeout=15, json=body,
                             headers={"Authorization": f"Bearer {key['key']}"})

    # The key stays the actor (who really called); the member it names is recorded beside it.
    by_id = as_key({"action": "logs.viewed", "actor": dev.user["id"]})
    assert by_id.status_code == 201, by_id.text
    assert by_id.json()["actor"]["id"] == key["id"] and by_id.json()["actor"]["type"] == "api_key"
    assert by_id.json()["actor"]["email"] == owner.email  # the key's owner
    assert by_id.json()["details"]["on_behalf_of"]["id"] == dev.user["id"]
    by_email = as_key({"action": "logs.viewed", "actor": dev.email.upper()})
    assert by_email.json()["details"]["on_behalf_of"]["id"] == dev.user["id"]
    assert_problem(as_key({"action": "logs.viewed", "details": {"on_behalf_of": {"id": "x"}}}),
                   422, "reserved_detail", "details.on_behalf_of")
    assert as_key({"action": "logs.viewed", "actor": "nobody@example.com"}).status_code == 422
    # Without an actor, the key records as itself.
    r = as_key({"action": "report.exported", "details": {"rows": 3}})
    assert r.status_code == 201, r.text
    assert r.json()["actor"]["type"] == "api_key" and r.json()["actor"]["id"] == key["id"]
    assert ids(owner, w, actor=key["id"]) == [r.json()["id"], by_email.json()["id"],
                                              by_id.json()["id"]]


def test_concurrent_host_events_commit_together_in_order_on_both_stores(backend_server):
    """Many connections appending at once (group commit): every 201 is an event that is
    stored, each connection's events keep their order, the chain verifies, and concurrent
    repeats of one Idempotency-Key still record one event."""
    owner = backend_server.signup(name="Olive Owner")
    w = owner.create_workspace("Concurrent Audit Co")["id"]
    r = owner.post(f"/v1/workspaces/{w}/api-keys", json={"name": "Host backend"})
    assert r.status_code == 201, r.text
    auth = {"Authorization": "Bearer " + r.json()["key"]}
    url = backend_server.url + logs_path(w)
    threads_n, each = 12, 8
    barrier = threading.Barrier(threads_n)
    made = {t: [] for t in range(threads_n)}
    failures = []

    def post(t):
        s = requests.Session()
        barrier.wait()
        for i in range(each):
            r = s.post(url, json={"action": "report.exported", "target": {"type": "report", "id": f"t{t}_{i}"}},
                       headers=auth, timeout=30)
            if r.status_code != 201:
                failures.append(r.text)
                return
            made[t].append(r.json()["id"])

    workers = [threading.Thread(target=post, args=(t,)) for t in range(threads_n)]
    for th in workers:
        th.start()
    for th in workers:
        th.join(timeout=60)
    assert failures == []
    listed = ids(owner, w, action="report.*", limit=200)
    assert sorted(listed) == sorted(i for t in made.values() for i in t)
    position = {e: n for n, e in enumerate(listed)}  # newest first
    for t, mine in made.items():
        assert [position[e] for e in mine] == sorted((position[e] for e in mine), reverse=True), t
    total = len(everything(owner, w))
    assert owner.get(logs_path(w, "/verify")).json() == {"valid": True, "checked": total}

    key = {**auth, "Idempotency-Key": "host-event-once"}
    barrier6 = threading.Barrier(6)
    answers = []

    def repeat():
        s = requests.Session()
        barrier6.wait()
        answers.append(s.post(url, json={"action": "report.exported", "target": {"id": "once"}},
                              headers=key, timeout=30))

    repeats = [threading.Thread(target=repeat) for _ in range(6)]
    for th in repeats:
        th.start()
    for th in repeats:
        th.join(timeout=60)
    once = [e for e in everything(owner, w) if e["target"]["id"] == "once"]
    assert len(once) == 1
    for a in answers:
        assert a.status_code in (201, 409), a.text
        if a.status_code == 201:
            assert a.json()["id"] == once[0]["id"]


def test_verify_detects_a_row_edited_in_the_database_on_both_stores(history):
    owner, w, srv, ev = history["owner"], history["ws"]["id"], history["srv"], history["ev"]
    ok = owner.get(logs_path(w, "/verify")).json()
    assert ok["valid"] is True and ok["checked"] >= 4 and "first_invalid_id" not in ok
    raw_sql(srv, f"UPDATE audit_events SET details='{{\"rows\":1}}' WHERE id='{ev['exported']['id']}'")
    broken = owner.get(logs_path(w, "/verify")).json()
    assert broken == {"valid": False, "checked": broken["checked"],
                      "first_invalid_id": ev["exported"]["id"], "reason": "hash"}
    r = cli("audit", "verify", "--db", srv.db, "--workspace", w)
    assert r.returncode == 1 and ev["exported"]["id"] in r.stdout


def test_retention_purges_old_events_and_the_chain_still_verifies(start_server, tmp_path):
    db = f"sqlite:{tmp_path}/ret.db"
    r = cli("dev", "seed-audit", "--db", db, "--events", "300", "--workspaces", "1")
    assert r.returncode == 0, r.stderr
    ws_id = r.stdout.split("workspace ")[1].split()[0]
    path = str(tmp_path / "ret.db")

    def count(where="1=1"):
        out = subprocess.run(["sqlite3", "-cmd", ".timeout 5000", path,
                              f"SELECT COUNT(*) FROM audit_events WHERE workspace_id='{ws_id}' AND {where}"],
                             capture_output=True, text=True, timeout=30)
        return int(out.stdout.strip())

    def old_counters():
        out = subprocess.run(["sqlite3", "-cmd", ".timeout 5000", path,
                              "SELECT COUNT(*) FROM audit_daily_counts WHERE workspace_id="
                              f"'{ws_id}' AND day < date('now', '-31 days')"],
                             capture_output=True, text=True, timeout=30)
        return int(out.stdout.strip())

    assert count() == 300
    subprocess.run(["sqlite3", path, f"UPDATE workspaces SET audit_retention_days=30 WHERE id='{ws_id}'"],
                   check=True, timeout=30)
    # Old by an hour's margin: the seed's events are a day apart, one of them exactly 30 days
    # before the seed's second, which the server keeps when it starts within that second.
    old = f"occurred_at < strftime('%s','now') - 30*86400 - 3600"
    assert count(old) > 200
    assert old_counters() > 100
    # The server's retention job runs at start; the daily counters of purged days go too.
    srv = start_server(db=db)
    for _ in range(200):
        if count(old) == 0 and old_counters() == 0:
            break
        time.sleep(0.05)
    assert count(old) == 0
    assert old_counters() == 0
    assert 0 < count() < 40
    r = cli("audit", "verify", "--db", db, "--workspace", ws_id)
    assert r.returncode == 0, r.stdout
    # Removing the oldest retained event by hand is detected at the anchor.
    oldest = subprocess.run(["sqlite3", path, f"SELECT id FROM audit_events WHERE workspace_id='{ws_id}' "
                             "ORDER BY seq LIMIT 1"], capture_output=True, text=True).stdout.strip()
    subprocess.run(["sqlite3", path, f"DELETE FROM audit_events WHERE id='{oldest}'"], check=True)
    r = cli("audit", "verify", "--db", db, "--workspace", ws_id)
    assert r.returncode == 1 and "anchor" in r.stdout
    assert srv.proc.poll() is None


def test_purge_before_a_time_on_both_stores(history):
    owner, w, srv = history["owner"], history["ws"]["id"], history["srv"]
    r = cli("audit", "purge", "--db", srv.db, "--workspace", w, "--before", "2100-01-01T00:00:00Z")
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.split()[1]) >= 4
    assert listing(owner, w)["data"] == []
    assert owner.get(logs_path(w, "/verify")).json() == {"valid": True, "checked": 0}
    after = record(owner, w, "logs.viewed")
    assert after["id"] in ids(owner, w)
    assert owner.get(logs_path(w, "/verify")).json() == {"valid": True, "checked": 1}


def test_retention_is_capped_by_the_plan(user):
    ws = user.create_workspace("Retention Co")
    r = user.patch(f"/v1/workspaces/{ws['id']}", json={"audit_retention_days": 2556})
    assert_problem(r, 422, "invalid_retention", "audit_retention_days")
    r = user.patch(f"/v1/workspaces/{ws['id']}", json={"audit_retention_days": 0})
    assert_problem(r, 422, "invalid_retention", "audit_retention_days")


def test_http_export_streams_many_batches_of_a_seeded_log(start_server, tmp_path):
    db = f"sqlite:{tmp_path}/stream.db"
    srv = start_server(db=db)
    owner = srv.signup()
    ws = owner.create_workspace("Stream Co")
    # 2,600 more events through the store's batch path, chained onto the live log.
    r = cli("dev", "seed-audit", "--db", db, "--workspace", ws["id"], "--events", "2600")
    assert r.returncode == 0, r.stderr
    assert owner.get(logs_path(ws["id"], "/verify")).json() == {"valid": True, "checked": 2602}
    listed = ids(owner, ws["id"])
    assert len(listed) == 2602
    header, rows, raw = export_rows(owner, ws["id"])
    assert [r[0] for r in rows] == listed  # three batches, in order, nothing twice
    assert raw.count(b"\r\n") == 2603
    recorded = listing(owner, ws["id"], action="audit_log.exported")["data"][0]
    assert recorded["details"]["rows"] == 2602
    _, some, _ = export_rows(owner, ws["id"], action="logs.*")
    assert some and all(r[2] == "logs.viewed" for r in some)


def test_export_reads_one_snapshot_while_the_log_is_purged_on_both_stores(backend_server):
    """A purge while an export streams takes nothing out of it: the export reads the log as it
    was when it started and records the number of rows it served. The client reads through a
    small receive buffer, so the server is still producing rows when the purge runs."""
    srv = backend_server
    owner = srv.signup()
    w = owner.create_workspace("Snapshot Co")["id"]
    r = cli("dev", "seed-audit", "--db", srv.db, "--workspace", w, "--events", "30000")
    assert r.returncode == 0, r.stderr
    n = owner.get(logs_path(w, "/verify")).json()["checked"]
    assert n > 30000
    u = urllib.parse.urlsplit(owner.base)

    def start_export():
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(60)
        sock.connect((u.hostname, u.port))
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        conn.sock = sock
        conn.request("GET", logs_path(w, "/export"),
                     headers={"Cookie": f"gh_session={owner.token}"})
        resp = conn.getresponse()
        assert resp.status == 200
        return conn, resp, resp.read(65536)

    # An export abandoned half way is not recorded, and leaves the server as it was.
    conn, _, _ = start_export()
    conn.close()
    assert listing(owner, w, action="audit_log.exported")["data"] == []
    assert owner.get(logs_path(w, "/verify")).json()["checked"] == n
    conn, resp, head = start_export()
    r = cli("audit", "purge", "--db", srv.db, "--workspace", w, "--before", "2100-01-01T00:00:00Z")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["deleted", str(n), "events"]
    body = head + resp.read()
    conn.close()
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
    assert rows[0][:2] == ["id", "occurred_at"]
    assert len(rows) - 1 == n and len({r[0] for r in rows[1:]}) == n
    times = [r[1] for r in rows[1:]]
    assert times == sorted(times, reverse=True)
    # The log now holds the export's own record only, with the rows served.
    recorded = listing(owner, w)["data"]
    assert [e["action"] for e in recorded] == ["audit_log.exported"]
    assert recorded[0]["details"]["rows"] == n


def test_cli_export_shows_progress_only_on_a_terminal(tmp_path):
    db = f"sqlite:{tmp_path}/tty.db"
    r = cli("dev", "seed-audit", "--db", db, "--events", "50", "--workspaces", "1")
    ws_id = r.stdout.split("workspace ")[1].split()[0]
    out = tmp_path / "o.csv"
    cmd = f"{binary()} audit export --db {db} --workspace {ws_id} --out {out}"
    # `script` gives the command a terminal; its output is what the terminal showed.
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True,
                       timeout=60, env={k: v for k, v in os.environ.items()
                                        if not k.startswith("GATEHOUSE_")})
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"exporting {ws_id}: 50 events" in r.stdout
    assert open(out).read().count("\n") == 51


def test_export_as_json_lines_and_unknown_formats(user):
    ws = user.create_workspace("Lines Co")
    record(user, ws["id"], "report.exported", details={"rows": 7})
    r = user.get(logs_path(ws["id"], "/export"), params={"format": "jsonl", "action": "report.*"})
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [(e["action"], e["details"]) for e in lines] == [("report.exported", {"rows": 7})]
    assert lines[0] == listing(user, ws["id"], action="report.exported")["data"][0]
    assert_problem(user.get(logs_path(ws["id"], "/export"), params={"format": "xml"}), 400,
                   "invalid_filter", "format")


def test_export_to_an_http_1_0_client_ends_with_the_connection(server, user):
    ws = user.create_workspace("Old Client Co")
    sock = connect(server)
    sock.sendall((f"GET {logs_path(ws['id'], '/export')} HTTP/1.0\r\nHost: x\r\n"
                  f"Cookie: gh_session={user.token}\r\n\r\n").encode())
    data = b""
    sock.settimeout(10)
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200") or head.startswith(b"HTTP/1.1 200"), head
    assert b"transfer-encoding" not in head.lower()
    rows = list(csv.reader(io.StringIO(body.decode(), newline="")))
    assert rows[0][0] == "id" and [r[2] for r in rows[1:]] == ["api_key.created", "workspace.created"]
