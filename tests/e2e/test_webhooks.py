"""Webhooks end to end, on both stores, against a receiver that checks every signature with
the npm `standardwebhooks` package (tests/e2e/webhook_receiver/): a change is delivered signed
as Standard Webhooks says, filtered by event type; failures are retried on the schedule with
the same message id; a 410 disables the endpoint; an exhausted delivery fails and a manual
retry sends it again; a rotated secret signs beside the new one for the overlap; a server
killed in the middle of retries delivers after it restarts; and private addresses are
refused unless the operator allows them.
"""
import json
import os
import signal
import subprocess
import time
import uuid

import pytest

from ghtest import TEST_CONFIG, Server
from webhook_receiver import WebhookReceiver

CONFIG = TEST_CONFIG + """
[webhooks]
retry_seconds = [1, 1, 1]
allow_private_networks = true
"""


def write_config(tmp, text):
    path = os.path.join(str(tmp), "webhooks.toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def own_database(url):
    """A fresh database on the test cluster: every gatehouse sharing a database is a node of one
    deployment and delivers its webhooks, and the suite's other servers run another
    configuration (no private networks), so these tests get a database of their own."""
    name = "webhooks_" + uuid.uuid4().hex[:12]
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qc", f"CREATE DATABASE {name}"],
                   check=True, capture_output=True)
    return url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def srv(request, tmp_path_factory):
    db = None
    if request.param == "postgres":
        db = os.environ.get("GATEHOUSE_TEST_PG")
        if not db:
            pytest.skip("GATEHOUSE_TEST_PG is not set")
        db = own_database(db)
    d = tmp_path_factory.mktemp("gatehouse-webhooks")
    server = Server(db or f"sqlite:{d}/g.db", d, ["--config", write_config(d, CONFIG)]).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def receiver():
    r = WebhookReceiver()
    yield r
    r.stop()


def wait_until(fn, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def make_endpoint(owner, ws, receiver, path, **fields):
    r = owner.post(f"/v1/workspaces/{ws}/webhooks", json={"url": receiver.url(path), **fields})
    assert r.status_code == 201, r.text
    hook = r.json()
    assert hook["id"].startswith("whk_") and hook["secret"].startswith("whsec_")
    return hook


def deliveries(owner, ws, hook_id):
    r = owner.get(f"/v1/workspaces/{ws}/webhooks/{hook_id}/deliveries")
    assert r.status_code == 200, r.text
    return r.json()["data"]


def test_a_change_is_delivered_signed_and_filtered_by_type(srv, receiver):
    owner = srv.signup(name="Owner")
    ws = owner.create_workspace("Hooks")["id"]
    every = make_endpoint(owner, ws, receiver, f"/{ws}/every")
    keys_only = make_endpoint(owner, ws, receiver, f"/{ws}/keys", event_types=["api_key.*"])
    receiver.secrets([every["secret"], keys_only["secret"]])
    # member.invited is a notification type whose default rule (the document's: email and
    # Slack) names no webhook; this workspace wants it on its webhooks too.
    r = owner.put(f"/v1/workspaces/{ws}/notification-rules/member.invited",
                  json={"channels": ["email", "slack", "webhook"]})
    assert r.status_code == 200, r.text
    r = owner.post(f"/v1/workspaces/{ws}/invitations", json={"email": "new@hooks.test", "role": "viewer"})
    assert r.status_code == 201, r.text
    key = owner.post(f"/v1/workspaces/{ws}/api-keys", json={"name": "ci"})
    assert key.status_code == 201, key.text
    def types_at(path):
        return [json.loads(a["body"])["type"] for a in receiver.attempts(path)]

    assert wait_until(lambda: {"member.invited", "api_key.created"} <= set(types_at(f"/{ws}/every"))), \
        types_at(f"/{ws}/every")
    got = receiver.attempts(f"/{ws}/every")
    for a in got:
        assert a["verified"] is True, a
        assert a["headers"]["webhook-id"].startswith("msg_")
        body = json.loads(a["body"])
        assert set(body) == {"type", "timestamp", "data"}
        assert body["data"]["workspace_id"] == ws
    only = receiver.wait_for(f"/{ws}/keys", 1)
    assert [json.loads(a["body"])["type"] for a in only] == ["api_key.created"]
    time.sleep(1)  # nothing else arrives for the filtered endpoint
    assert len(receiver.attempts(f"/{ws}/keys")) == 1
    log = wait_until(lambda: [d for d in deliveries(owner, ws, every["id"]) if d["status"] == "succeeded"])
    assert log and all(d["attempts"] == 1 and d["last_status_code"] == 200 for d in log)
    # A refused change (422) is no event: nothing is sent for it.
    before = len(receiver.attempts(f"/{ws}/every"))
    r = owner.post(f"/v1/workspaces/{ws}/invitations", json={"email": "x@hooks.test", "role": "nope"})
    assert r.status_code == 422
    time.sleep(1)
    assert len(receiver.attempts(f"/{ws}/every")) == before


def test_failures_are_retried_with_the_same_id_and_410_disables(srv, receiver):
    owner = srv.signup(name="Owner")
    ws = owner.create_workspace("Retries")["id"]
    flaky = make_endpoint(owner, ws, receiver, f"/{ws}/flaky", event_types=["webhook.test"])
    receiver.secrets([flaky["secret"]])
    receiver.plan(f"/{ws}/flaky", [503, 429, 200])
    r = owner.post(f"/v1/workspaces/{ws}/webhooks/{flaky['id']}/test")
    assert r.status_code == 202, r.text
    got = receiver.wait_for(f"/{ws}/flaky", 3, timeout=20)
    assert [a["answered"] for a in got] == [503, 429, 200]
    assert len({a["headers"]["webhook-id"] for a in got}) == 1  # one message, three attempts
    assert all(a["verified"] for a in got)
    d = wait_until(lambda: [x for x in deliveries(owner, ws, flaky["id"]) if x["status"] == "succeeded"])
    assert d[0]["attempts"] == 3

    gone = make_endpoint(owner, ws, receiver, f"/{ws}/gone", event_types=["webhook.test"])
    receiver.plan(f"/{ws}/gone", [410])
    owner.post(f"/v1/workspaces/{ws}/webhooks/{gone['id']}/test")
    receiver.wait_for(f"/{ws}/gone", 1)
    hook = wait_until(lambda: (lambda h: h if not h["enabled"] else None)(
        owner.get(f"/v1/workspaces/{ws}/webhooks/{gone['id']}").json()))
    assert hook and hook["disabled_reason"], hook
    assert [x["status"] for x in deliveries(owner, ws, gone["id"])] == ["failed"]
    time.sleep(2)
    assert len(receiver.attempts(f"/{ws}/gone")) == 1  # never retried after the 410


def test_an_exhausted_delivery_fails_and_a_manual_retry_sends_it(srv, receiver):
    owner = srv.signup(name="Owner")
    ws = owner.create_workspace("Exhausted")["id"]
    hook = make_endpoint(owner, ws, receiver, f"/{ws}/down", event_types=["webhook.test"])
    receiver.secrets([hook["secret"]])
    receiver.plan(f"/{ws}/down", [500, 500, 500, 500, 200])
    owner.post(f"/v1/workspaces/{ws}/webhooks/{hook['id']}/test")
    failed = wait_until(lambda: [x for x in deliveries(owner, ws, hook["id"]) if x["status"] == "failed"], 25)
    assert failed and failed[0]["attempts"] == 4 and failed[0]["last_status_code"] == 500
    r = owner.post(f"/v1/workspaces/{ws}/webhooks/{hook['id']}/deliveries/{failed[0]['id']}/retry")
    assert r.status_code == 202, r.text
    done = wait_until(lambda: [x for x in deliveries(owner, ws, hook["id"]) if x["status"] == "succeeded"])
    assert done and done[0]["attempts"] == 5
    assert [a["answered"] for a in receiver.attempts(f"/{ws}/down")] == [500, 500, 500, 500, 200]
    events = owner.get(f"/v1/workspaces/{ws}/audit-logs", params={"action": "webhook.delivery_retried"})
    assert events.status_code == 200 and len(events.json()["data"]) == 1, events.text


def test_a_rotated_secret_signs_beside_the_new_one(srv, receiver):
    owner = srv.signup(name="Owner")
    ws = owner.create_workspace("Rotation")["id"]
    hook = make_endpoint(owner, ws, receiver, f"/{ws}/rotate", event_types=["webhook.test"])
    old = hook["secret"]
    r = owner.post(f"/v1/workspaces/{ws}/webhooks/{hook['id']}/rotate-secret")
    assert r.status_code == 200, r.text
    new = r.json()["secret"]
    assert new != old and r.json()["previous_secret_expires_at"]
    for secrets in ([old], [new]):  # a receiver that knows only one of them accepts the message
        receiver.secrets(secrets)
        n = len(receiver.attempts(f"/{ws}/rotate"))
        owner.post(f"/v1/workspaces/{ws}/webhooks/{hook['id']}/test")
        got = receiver.wait_for(f"/{ws}/rotate", n + 1)
        assert got[-1]["verified"] is True, (secrets, got[-1])
        assert len(got[-1]["headers"]["webhook-signature"].split(" ")) == 2


def test_a_server_killed_during_retries_delivers_after_restart(start_server, tmp_path, receiver):
    cfg = write_config(tmp_path, TEST_CONFIG + "[webhooks]\nretry_seconds = [3, 3]\n"
                                               "allow_private_networks = true\n")
    db = f"sqlite:{tmp_path}/g.db"
    srv = start_server(db=db, extra_args=["--config", cfg])
    owner = srv.signup(name="Owner")
    ws = owner.create_workspace("Restart")["id"]
    hook = make_endpoint(owner, ws, receiver, f"/{ws}/restart", event_types=["webhook.test"])
    receiver.secrets([hook["secret"]])
    receiver.plan(f"/{ws}/restart", [503])
    owner.post(f"/v1/workspaces/{ws}/webhooks/{hook['id']}/test")
    receiver.wait_for(f"/{ws}/restart", 1)
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait()
    again = start_server(db=db, extra_args=["--config", cfg])
    got = receiver.wait_for(f"/{ws}/restart", 2, timeout=20)
    assert [a["answered"] for a in got] == [503, 200]
    assert got[0]["headers"]["webhook-id"] == got[1]["headers"]["webhook-id"]
    owner = again.login(owner.email)
    d = wait_until(lambda: [x for x in deliveries(owner, ws, hook["id"]) if x["status"] == "succeeded"])
    assert d and d[0]["attempts"] == 2


def test_private_addresses_are_refused_unless_allowed(start_server, tmp_path):
    srv = start_server()  # the default configuration
    owner = srv.signup(name="Owner")
    ws = owner.create_workspace("SSRF")["id"]
    for url in ["http://127.0.0.1:9/x", "http://10.0.0.1/x", "http://169.254.169.254/latest",
                "http://[::1]/x", "http://[::ffff:127.0.0.1]/x", "ftp://example.com/x"]:
        r = owner.post(f"/v1/workspaces/{ws}/webhooks", json={"url": url})
        assert r.status_code == 422 and r.json()["code"] == "webhook_url_not_allowed", (url, r.text)
    assert owner.get(f"/v1/workspaces/{ws}/webhooks").json()["data"] == []
