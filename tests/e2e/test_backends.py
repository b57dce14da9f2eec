"""A smoke set run against every store: SQLite always, PostgreSQL when GATEHOUSE_TEST_PG is set."""
import threading
import time

from ghtest import JPEG, PASSWORD, Client, assert_problem, join, unique_email


def test_readyz_names_the_backend(backend_server):
    r = backend_server.client().get("/readyz")
    assert r.status_code == 200
    assert r.json()["store"] in ("sqlite", "postgres", "postgresql")


def test_signup_login_and_me(backend_server):
    email = unique_email("smoke")
    c = backend_server.signup(email=email.upper(), name="Smoke Test")
    assert c.email == email
    assert_problem(backend_server.client().post(
        "/v1/auth/signup", json={"email": email, "password": PASSWORD, "name": "Again"}),
        409, "email_taken", "email")
    again = backend_server.login(email)
    me = again.get("/v1/me").json()
    assert me["id"] == c.user["id"] and me["name"] == "Smoke Test"
    sessions = again.get("/v1/me/sessions").json()["data"]
    assert len(sessions) == 2 and sum(s["current"] for s in sessions) == 1
    assert again.post("/v1/me/sessions/revoke-all").json()["revoked"] == 1
    assert c.get("/v1/me").status_code == 401


def test_workspace_lifecycle_and_audit_log(backend_server):
    c = backend_server.signup()
    ws = c.create_workspace("Smoke Co", region="eu-west-1", timezone="Asia/Tokyo")
    assert (ws["region"], ws["timezone"], ws["role"]) == ("eu-west-1", "Asia/Tokyo", "owner")
    path = f"/v1/workspaces/{ws['id']}"
    assert c.patch(path, json={"name": "Smoke Two"}).json()["name"] == "Smoke Two"
    assert_problem(c.patch(path, json={"region": "us-east-1"}), 422, "region_immutable", "region")
    assert c.post(path + "/logo", files={"file": ("l.jpg", JPEG)}).status_code == 200
    logo = c.get(path + "/logo")
    assert logo.headers["Content-Type"] == "image/jpeg" and logo.content == JPEG

    page = c.get(path + "/audit-logs").json()
    assert [e["action"] for e in page["data"]] == \
        ["workspace.logo_updated", "workspace.updated", "api_key.created",
         "workspace.created"]
    walked, cursor = [], None
    while True:
        q = "?limit=1" + (f"&cursor={cursor}" if cursor else "")
        p = c.get(path + "/audit-logs" + q).json()
        walked += [e["id"] for e in p["data"]]
        cursor = p["next_cursor"]
        if not cursor:
            break
    assert walked == [e["id"] for e in page["data"]]

    assert c.delete(path, json={"confirm": "DELETE"}).status_code == 204
    assert_problem(c.get(path), 404, "not_found")


def test_idempotent_create(backend_server):
    c = backend_server.signup()
    key = {"Idempotency-Key": "smoke-key"}
    a = c.post("/v1/workspaces", json={"name": "Idem Co"}, headers=key)
    b = c.post("/v1/workspaces", json={"name": "Idem Co"}, headers=key)
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] == b.json()["id"]
    assert c.get("/v1/workspaces").json()["total"] == 1


def test_idempotency_keys_are_forgotten_after_24_hours(backend_server, start_server):
    """Answers older than 24 hours are purged (at a server's start, then hourly): a repeat of
    such a key is a new request; a younger key still returns its first answer."""
    from test_audit_log import raw_sql
    c = backend_server.signup()
    old, young = {"Idempotency-Key": "aged-key"}, {"Idempotency-Key": "young-key"}
    first = c.post("/v1/workspaces", json={"name": "Aged Co"}, headers=old)
    kept = c.post("/v1/workspaces", json={"name": "Young Co"}, headers=young)
    assert first.status_code == kept.status_code == 201
    scope = c.user["id"]
    raw_sql(backend_server, "UPDATE idempotency_keys SET created_at = created_at - 25 * 3600 "
                            f"WHERE scope = '{scope}' AND idem_key = 'aged-key'")

    def remembered():
        out = raw_sql(backend_server, "SELECT idem_key FROM idempotency_keys "
                                      f"WHERE scope = '{scope}' ORDER BY idem_key")
        return str(out).split()
    assert remembered() == ["aged-key", "young-key"]
    start_server(db=backend_server.db)  # a second server on the store purges at its start
    for _ in range(200):
        if remembered() == ["young-key"]:
            break
        time.sleep(0.05)
    assert remembered() == ["young-key"]
    again = c.post("/v1/workspaces", json={"name": "Aged Co"}, headers=old)
    assert again.status_code == 201 and again.json()["id"] != first.json()["id"]
    repeat = c.post("/v1/workspaces", json={"name": "Young Co"}, headers=young)
    assert repeat.status_code == 201 and repeat.json()["id"] == kept.json()["id"]


def test_concurrent_repeats_of_one_idempotency_key_create_once(backend_server):
    """A client retrying while its first attempt is still in flight must not create twice."""
    owner = backend_server.signup()
    for attempt in range(5):
        name = f"Concurrent Co {attempt}"
        key = {"Idempotency-Key": f"concurrent-{attempt}"}
        clients = []
        for _ in range(6):
            c = Client(backend_server.url)
            c.s.cookies.set("gh_session", owner.token)
            c.csrf = owner.csrf
            clients.append(c)
        barrier = threading.Barrier(len(clients))
        results = []

        def post(c):
            barrier.wait()
            results.append(c.post("/v1/workspaces", json={"name": name}, headers=key))

        threads = [threading.Thread(target=post, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        created = [w for w in owner.get("/v1/workspaces").json()["data"] if w["name"] == name]
        assert len(created) == 1, f"attempt {attempt}: {len(created)} workspaces for one key"
        for r in results:
            # The first response replayed, or a 409 telling the client to retry later.
            assert r.status_code in (201, 409), r.text
            if r.status_code == 201:
                assert r.json()["id"] == created[0]["id"]


def _twin(srv, c):
    """Another connection with `c`'s session: one requests.Session per thread."""
    t = Client(srv.url)
    t.s.cookies.set("gh_session", c.token)
    t.csrf = c.csrf
    return t


def _race(*calls):
    """Runs the calls at the same moment on threads; returns their responses in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_concurrent_ownership_transfers_leave_exactly_one_owner(backend_server):
    """Over HTTP: the owner hands ownership to two admins at once, round after round."""
    srv = backend_server
    owner = srv.signup(name="Racing Owner")
    ws_id = owner.post("/v1/workspaces", json={"name": "Race Co"}).json()["id"]
    people = {owner.user["id"]: owner}
    for name in ("Admin One", "Admin Two"):
        c = join(srv, owner, ws_id, role="admin", name=name)
        people[c.user["id"]] = c
    current = owner.user["id"]
    for attempt in range(15):
        others = [uid for uid in people if uid != current]
        c1, c2 = _twin(srv, people[current]), _twin(srv, people[current])
        path = f"/v1/workspaces/{ws_id}/transfer-ownership"
        a, b = _race(lambda: c1.post(path, json={"user_id": others[0]}),
                     lambda: c2.post(path, json={"user_id": others[1]}))
        ok = [r for r in (a, b) if r.status_code == 200]
        assert len(ok) == 1, f"attempt {attempt}: {[r.status_code for r in (a, b)]}"
        refused = b if a.status_code == 200 else a
        assert refused.status_code == 403, refused.text
        members = owner.get(f"/v1/workspaces/{ws_id}/members").json()["data"]
        owners = [m["user_id"] for m in members if m["role"] == "owner"]
        assert len(owners) == 1, f"attempt {attempt}: owners {owners}"
        assert owners[0] in others
        current = owners[0]


def test_an_edit_racing_a_revocation_never_revives_the_key(backend_server):
    """Over HTTP: PATCH and DELETE of one key at once; the key ends revoked, every time."""
    srv = backend_server
    owner = srv.signup(name="Key Racer")
    ws_id = owner.post("/v1/workspaces", json={"name": "Key Race Co"}).json()["id"]
    keys = f"/v1/workspaces/{ws_id}/api-keys"
    for attempt in range(15):
        k = owner.post(keys, json={"name": f"race {attempt}"}).json()
        c1, c2 = _twin(srv, owner), _twin(srv, owner)
        edit, revoke = _race(
            lambda: c1.patch(f"{keys}/{k['id']}", json={"name": f"renamed {attempt}"}),
            lambda: c2.delete(f"{keys}/{k['id']}"))
        assert revoke.status_code == 200, revoke.text
        assert edit.status_code in (200, 409), edit.text
        got = owner.get(f"{keys}/{k['id']}").json()
        assert got["revoked_at"], f"attempt {attempt}: revoked key came back: {got}"
        assert (got["name"] == f"renamed {attempt}") == (edit.status_code == 200)
        verify = srv.client().post("/v1/keys/verify", json={"key": k["key"], "endpoint": "/x"})
        assert verify.json()["code"] == "REVOKED", f"attempt {attempt}: {verify.text}"
