"""API keys end to end, on SQLite and (when GATEHOUSE_TEST_PG is set) on PostgreSQL.

- Creation: the secret is shown once (`sk_live_…`) and never again; publishable keys
  (`pk_live_…`, one provisioned with every workspace) stay readable to those who may view
  keys; validation codes; PATCH; list and get shapes as API.md writes them.
- `POST /v1/keys/verify`: every code (VALID, NOT_FOUND, REVOKED, EXPIRED, FORBIDDEN_ENDPOINT,
  IP_NOT_ALLOWED, RATE_LIMITED, QUOTA_EXCEEDED), the rate limit and quota figures, and refused
  calls that use no quota.
- Rotation with and without a grace period.
- Ownership (four-role preset): developers see and manage only their own keys, admins all,
  viewers none; removing a member with and without `revoke_keys`.
- `Authorization: Bearer sk_…` on management routes: the owner's current permissions, the
  key's own endpoint permissions, its workspace only, never a publishable key, never /v1/me.
- `POST /v1/check`.
- Audit events (created, updated, rotated, revoked, new_ip) and `last_used_at`, which a
  background job writes every second or two: polled with a bounded wait.
- Limits exact under concurrent verifications; project default limits; keys of a deleted
  workspace; the index rebuilt from the store after a restart; secrets never stored in clear.

Every test runs once per store through the module-scoped `srv` fixture.
"""
import json
import signal
import subprocess
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests

from ghtest import RFC3339_UTC, assert_problem, join, unique_email

MISSING_KEY = "key_" + "0" * 22
MISSING_USER = "usr_" + "0" * 22
MISSING_PROJECT = "prj_" + "0" * 22
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
KEY_FIELDS = {"id", "name", "type", "prefix", "owner", "project_id", "environment", "service",
              "permissions", "rate_limit", "ip_allowlist", "created_at", "last_used_at",
              "expires_at", "revoked_at"}
VERIFY_FIELDS = {"valid", "code", "key_id", "workspace_id", "project_id", "environment",
                 "owner_id", "ratelimit", "quota"}
POLL_SECONDS = 10  # usage and new addresses are flushed every second or two


# --- fixtures and helpers ----------------------------------------------------------------------

@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def srv(request):
    """The session's server on SQLite, or the one on PostgreSQL (skipped when not configured)."""
    if request.param == "sqlite":
        return request.getfixturevalue("server")
    return request.getfixturevalue("pg_server")


def setup_team(srv, name="Keys Co"):
    """A four-role workspace: an owner, an admin, a developer and a viewer."""
    owner = srv.signup(name="Olive Owner")
    ws = owner.create_workspace(name)
    return {
        "ws": ws,
        "id": ws["id"],
        "owner": owner,
        "admin": join(srv, owner, ws["id"], role="admin", name="Alice Admin"),
        "developer": join(srv, owner, ws["id"], role="developer", name="Bob Developer"),
        "viewer": join(srv, owner, ws["id"], role="viewer", name="Carol Viewer"),
    }


@pytest.fixture
def team(srv):
    return setup_team(srv)


@pytest.fixture
def owner_ws(srv):
    """(owner client, workspace) without other members."""
    owner = srv.signup(name="Olive Owner")
    return owner, owner.create_workspace("Solo Keys")


def keys_path(ws_id, key_id=None):
    p = f"/v1/workspaces/{ws_id}/api-keys"
    return p + "/" + key_id if key_id else p


def create_key(client, ws_id, name="Test key", **fields):
    r = client.post(keys_path(ws_id), json={"name": name, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def list_keys(client, ws_id):
    r = client.get(keys_path(ws_id))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["next_cursor"] is None
    assert body["total"] == len(body["data"])
    return body["data"]


def get_key(client, ws_id, key_id):
    r = client.get(keys_path(ws_id, key_id))
    assert r.status_code == 200, r.text
    return r.json()


def patch_key(client, ws_id, key_id, **fields):
    r = client.patch(keys_path(ws_id, key_id), json=fields)
    assert r.status_code == 200, r.text
    return r.json()


def verify(srv, key, endpoint="/v1/chat", **fields):
    body = {"key": key, "endpoint": endpoint, **fields}
    r = requests.post(srv.url + "/v1/keys/verify", json=body, timeout=15)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= VERIFY_FIELDS, body
    assert body["valid"] == (body["code"] == "VALID"), body
    return body


def code(srv, key, endpoint="/v1/chat", **fields):
    return verify(srv, key, endpoint, **fields)["code"]


def bearer(srv, key, method, path, **kw):
    """A request authenticated by `Authorization: Bearer key` only (no cookie, no CSRF)."""
    headers = {"Authorization": f"Bearer {key}", **kw.pop("headers", {})}
    return requests.request(method, srv.url + path, headers=headers, timeout=15,
                            allow_redirects=False, **kw)


def audit(client, ws_id, action=None):
    """The workspace's audit events, newest first; `action` exact or a `noun.*` prefix.

    Filtered here rather than with ?action=, which this suite does not set out to test.
    """
    r = client.get(f"/v1/workspaces/{ws_id}/audit-logs", params={"limit": 200})
    assert r.status_code == 200, r.text
    events = r.json()["data"]
    if action is None:
        return events
    if action.endswith(".*"):
        return [e for e in events if e["action"].startswith(action[:-1])]
    return [e for e in events if e["action"] == action]


def poll(fetch, done, what, timeout=POLL_SECONDS):
    """Calls fetch() until done(value) holds; bounded by `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s; last value: {value!r}")
        time.sleep(0.1)


def rfc3339(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(s):
    assert RFC3339_UTC.match(s), s
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def in_seconds(n):
    return rfc3339(datetime.now(timezone.utc) + timedelta(seconds=n))


def base62(n, width):
    out = ""
    while True:
        n, r = divmod(n, 62)
        out = BASE62[r] + out
        if n == 0:
            break
    return out.rjust(width, "0")


def with_checksum(prefix_and_body):
    """A key with a correct checksum (CRC-32 of prefix and body, base62, 6 characters)."""
    return prefix_and_body + base62(zlib.crc32(prefix_and_body.encode()), 6)


def typo(key, at=20):
    """The key with one body character changed."""
    c = key[at]
    return key[:at] + ("b" if c != "b" else "c") + key[at + 1:]


def uid(client):
    return client.user["id"]


# --- creation, shape, validation ---------------------------------------------------------------

def test_secret_key_is_shown_once_and_never_again(srv, owner_ws):
    owner, ws = owner_ws
    expires = in_seconds(86400 * 30)
    k = create_key(owner, ws["id"], "  Production API  ", service="billing",
                   permissions={"allow": ["/v1/chat/*", "/v1/metrics/*"], "deny": ["/v1/logs"]},
                   rate_limit={"per_minute": 300, "per_month": 100000},
                   ip_allowlist=["10.0.0.0/8", "192.168.1.5", "2001:db8::/32"],
                   expires_at=expires)
    secret = k["key"]
    assert set(k) >= KEY_FIELDS | {"key"}
    assert k["id"].startswith("key_")
    assert secret.startswith("sk_live_") and len(secret) >= 8 + 22  # ≥ 128 bits in base62
    assert all(ch in BASE62 for ch in secret[8:])
    assert k["prefix"] and secret.startswith(k["prefix"]) and len(k["prefix"]) < len(secret)
    assert k["name"] == "Production API"
    assert k["type"] == "secret"
    assert k["owner"] == {"user_id": uid(owner), "name": "Olive Owner"}
    assert k["project_id"] is None
    assert k["environment"] == "live"
    assert k["service"] == "billing"
    assert k["permissions"]["allow"] == ["/v1/chat/*", "/v1/metrics/*"]
    assert k["permissions"]["deny"] == ["/v1/logs"]
    assert k["rate_limit"] == {"per_minute": 300, "per_month": 100000}
    assert k["ip_allowlist"] == ["10.0.0.0/8", "192.168.1.5/32", "2001:db8::/32"]
    assert RFC3339_UTC.match(k["created_at"])
    assert k["expires_at"] == expires
    assert k["last_used_at"] is None and k["revoked_at"] is None

    # Never again: not in get, not in the list, not in the audit log, not even for the owner.
    got = get_key(owner, ws["id"], k["id"])
    assert "key" not in got
    assert {f: got[f] for f in KEY_FIELDS} == {f: k[f] for f in KEY_FIELDS}
    listed = {x["id"]: x for x in list_keys(owner, ws["id"])}
    assert k["id"] in listed and "key" not in listed[k["id"]]
    assert secret not in json.dumps(audit(owner, ws["id"]))
    assert secret[len(k["prefix"]):] not in json.dumps(list_keys(owner, ws["id"]))

    # A second key is a different secret.
    assert create_key(owner, ws["id"], "Other")["key"] != secret

    v = verify(srv, secret, "/v1/chat/stream", ip="10.1.2.3")
    assert v["code"] == "VALID"
    assert v["key_id"] == k["id"]
    assert v["workspace_id"] == ws["id"]
    assert v["project_id"] is None
    assert v["environment"] == "live"
    assert v["owner_id"] == uid(owner)


def test_every_workspace_has_one_publishable_key_readable_by_key_viewers(srv, team):
    ws_id, owner, admin = team["id"], team["owner"], team["admin"]
    keys = list_keys(owner, ws_id)
    assert len(keys) == 1
    pk = keys[0]
    assert pk["type"] == "publishable"
    assert pk["key"].startswith("pk_live_") and pk["key"].startswith(pk["prefix"])
    assert pk["owner"]["user_id"] == uid(owner)
    assert get_key(owner, ws_id, pk["id"])["key"] == pk["key"]
    # Admins may view every key: they read the publishable one too.
    by_admin = {x["id"]: x for x in list_keys(admin, ws_id)}
    assert by_admin[pk["id"]]["key"] == pk["key"]
    assert get_key(admin, ws_id, pk["id"])["key"] == pk["key"]
    assert code(srv, pk["key"], "/v1/chat") == "VALID"
    # A created publishable key is shown at creation and stays readable.
    pk2 = create_key(owner, ws_id, "Browser SDK", type="publishable")
    assert pk2["key"].startswith("pk_live_") and pk2["type"] == "publishable"
    assert get_key(owner, ws_id, pk2["id"])["key"] == pk2["key"]
    assert len(list_keys(owner, ws_id)) == 2


def test_environment_follows_the_request_or_the_project(srv, owner_ws):
    owner, ws = owner_ws
    assert create_key(owner, ws["id"], "T", environment="test")["key"].startswith("sk_test_")
    assert create_key(owner, ws["id"], "L", environment="live")["key"].startswith("sk_live_")
    r = owner.post(f"/v1/workspaces/{ws['id']}/projects",
                   json={"name": "Staging", "environment": "staging"})
    assert r.status_code == 201, r.text
    prj = r.json()
    k = create_key(owner, ws["id"], "Staging key", project_id=prj["id"])
    assert k["project_id"] == prj["id"]
    assert k["environment"] == "test" and k["key"].startswith("sk_test_")
    v = verify(srv, k["key"])
    assert (v["code"], v["project_id"], v["environment"]) == ("VALID", prj["id"], "test")


@pytest.mark.parametrize("body, status, code_, field", [
    ({}, 422, "required", "name"),
    ({"name": ""}, 422, "invalid_name", "name"),
    ({"name": "   "}, 422, "invalid_name", "name"),
    ({"name": "x" * 101}, 422, "invalid_name", "name"),
    ({"name": 5}, 422, "invalid_type", "name"),
    ({"name": "k", "type": "restricted"}, 422, "invalid_type", "type"),
    ({"name": "k", "environment": "prod"}, 422, "invalid_environment", "environment"),
    ({"name": "k", "permissions": {"allow": ["v1/chat"]}}, 422, "invalid_permissions",
     "permissions.allow"),
    ({"name": "k", "permissions": {"allow": ["/v1/*/chat"]}}, 422, "invalid_permissions",
     "permissions.allow"),
    ({"name": "k", "permissions": {"allow": [""]}}, 422, "invalid_permissions",
     "permissions.allow"),
    ({"name": "k", "permissions": {"deny": ["/v1/chat?x=1"]}}, 422, "invalid_permissions",
     "permissions.deny"),
    ({"name": "k", "permissions": {"deny": ["/v1/chat stream"]}}, 422, "invalid_permissions",
     "permissions.deny"),
    ({"name": "k", "permissions": {"allow": "/v1/chat"}}, 422, "invalid_type",
     "permissions.allow"),
    ({"name": "k", "permissions": {"paths": ["/v1/chat"]}}, 422, "unknown_field",
     "permissions.paths"),
    ({"name": "k", "rate_limit": {"per_minute": 0}}, 422, "invalid_rate_limit",
     "rate_limit.per_minute"),
    ({"name": "k", "rate_limit": {"per_minute": -3}}, 422, "invalid_rate_limit",
     "rate_limit.per_minute"),
    ({"name": "k", "rate_limit": {"per_month": 0}}, 422, "invalid_rate_limit",
     "rate_limit.per_month"),
    ({"name": "k", "rate_limit": {"per_minute": 1.5}}, 422, "invalid_type",
     "rate_limit.per_minute"),
    ({"name": "k", "rate_limit": {"per_hour": 10}}, 422, "unknown_field", "rate_limit.per_hour"),
    ({"name": "k", "ip_allowlist": ["10.0.0.0/33"]}, 422, "invalid_cidr", "ip_allowlist"),
    ({"name": "k", "ip_allowlist": ["10.0.0.1/8"]}, 422, "invalid_cidr", "ip_allowlist"),
    ({"name": "k", "ip_allowlist": ["example.com"]}, 422, "invalid_cidr", "ip_allowlist"),
    ({"name": "k", "ip_allowlist": ["2001:db8::/129"]}, 422, "invalid_cidr", "ip_allowlist"),
    ({"name": "k", "ip_allowlist": ["10.0.0.0/"]}, 422, "invalid_cidr", "ip_allowlist"),
    ({"name": "k", "expires_at": "2020-01-01T00:00:00Z"}, 422, "invalid_expires_at",
     "expires_at"),
    ({"name": "k", "expires_at": "next tuesday"}, 422, "invalid_expires_at", "expires_at"),
    ({"name": "k", "project_id": MISSING_PROJECT}, 422, "invalid_project", "project_id"),
    ({"name": "k", "secret": "sk_live_mine"}, 422, "unknown_field", "secret"),
    ({"name": "k", "owner_id": MISSING_USER}, 422, "unknown_field", "owner_id"),
])
def test_create_validation(srv, owner_ws, body, status, code_, field):
    owner, ws = owner_ws
    r = owner.post(keys_path(ws["id"]), json=body)
    assert_problem(r, status, code_, field)
    assert len(list_keys(owner, ws["id"])) == 1  # only the provisioned publishable key


def test_patch_changes_the_editable_fields(srv, owner_ws):
    owner, ws = owner_ws
    ws_id = ws["id"]
    k = create_key(owner, ws_id, "Before", service="search")
    secret = k["key"]
    expires = in_seconds(86400)
    changed = patch_key(owner, ws_id, k["id"], name="  After  ",
                        permissions={"allow": ["/v1/chat/*"], "deny": ["/v1/chat/admin*"]},
                        rate_limit={"per_minute": 100, "per_month": 5000},
                        ip_allowlist=["203.0.113.0/24", "2001:db8:1::/48"],
                        expires_at=expires)
    assert "key" not in changed
    assert changed["name"] == "After"
    assert changed["permissions"]["allow"] == ["/v1/chat/*"]
    assert changed["permissions"]["deny"] == ["/v1/chat/admin*"]
    assert changed["rate_limit"] == {"per_minute": 100, "per_month": 5000}
    assert changed["ip_allowlist"] == ["203.0.113.0/24", "2001:db8:1::/48"]
    assert changed["expires_at"] == expires
    assert changed["service"] == "search" and changed["created_at"] == k["created_at"]
    got = get_key(owner, ws_id, k["id"])
    assert {f: got[f] for f in KEY_FIELDS} == {f: changed[f] for f in KEY_FIELDS}
    # The verify answer follows the change at once.
    assert code(srv, secret, "/v1/chat/admin/users", ip="203.0.113.9") == "FORBIDDEN_ENDPOINT"
    assert code(srv, secret, "/v1/chat/x", ip="198.51.100.1") == "IP_NOT_ALLOWED"
    v = verify(srv, secret, "/v1/chat/x", ip="203.0.113.9")
    assert v["code"] == "VALID" and v["ratelimit"]["limit"] == 100 and v["quota"]["limit"] == 5000

    # Clearing: null expiry and limits, empty lists.
    cleared = patch_key(owner, ws_id, k["id"], expires_at=None, rate_limit=None, ip_allowlist=[],
                        permissions={"allow": [], "deny": []})
    assert cleared["expires_at"] is None
    assert cleared["rate_limit"] == {"per_minute": None, "per_month": None}
    assert cleared["ip_allowlist"] == []
    assert cleared["permissions"]["allow"] == [] and cleared["permissions"]["deny"] == []
    assert cleared["name"] == "After"  # untouched fields stay
    v = verify(srv, secret, "/v1/chat/admin/users")
    assert v["code"] == "VALID" and v["ratelimit"] is None and v["quota"] is None

    path = keys_path(ws_id, k["id"])
    for body, code_, field in [
        ({"type": "publishable"}, "unknown_field", "type"),
        ({"project_id": MISSING_PROJECT}, "unknown_field", "project_id"),
        ({"environment": "test"}, "unknown_field", "environment"),
        ({"name": ""}, "invalid_name", "name"),
        ({"ip_allowlist": ["300.0.0.1"]}, "invalid_cidr", "ip_allowlist"),
        ({"rate_limit": {"per_month": -1}}, "invalid_rate_limit", "rate_limit.per_month"),
        ({"permissions": {"allow": ["chat"]}}, "invalid_permissions", "permissions.allow"),
        ({"expires_at": "2001-01-01T00:00:00Z"}, "invalid_expires_at", "expires_at"),
    ]:
        assert_problem(owner.patch(path, json=body), 422, code_, field)
    assert get_key(owner, ws_id, k["id"])["name"] == "After"  # failed changes changed nothing
    # `service` is not among API.md's PATCH fields: refused, or else really changed.
    r = owner.patch(path, json={"service": "payments"})
    if r.status_code == 200:
        assert r.json()["service"] == "payments"
        assert get_key(owner, ws_id, k["id"])["service"] == "payments"
    else:
        assert_problem(r, 422, "unknown_field", "service")
    assert_problem(owner.patch(keys_path(ws_id, MISSING_KEY), json={"name": "x"}), 404,
                   "not_found")
    assert_problem(owner.get(keys_path(ws_id, "nonsense")), 404, "not_found")

    # A revoked key can no longer be changed.
    assert owner.delete(path).status_code == 200
    assert_problem(owner.patch(path, json={"name": "Zombie"}), 409, "key_revoked")


# --- verify: every code ------------------------------------------------------------------------

def test_verify_not_found_and_checksum_refusal(srv, owner_ws):
    owner, ws = owner_ws
    k = create_key(owner, ws["id"], "Real")
    secret = k["key"]
    assert code(srv, secret) == "VALID"
    for bad in [
        typo(secret),                                   # one character changed: checksum fails
        typo(secret, at=len(secret) - 1),               # the checksum itself changed
        secret[:-1],                                    # one character short
        secret + "x",                                   # one character too many
        "sk_live_" + "A" * 38,                          # right length, wrong checksum
        "garbage",
        "",
        with_checksum("sk_live_" + "Q" * 32),           # well formed but unknown
        with_checksum("pk_live_" + "Q" * 32),
        "sk_prod_" + secret[8:],                        # unknown type/environment prefix
    ]:
        v = verify(srv, bad)
        assert v["code"] == "NOT_FOUND" and v["valid"] is False, bad
        assert all(v[f] is None for f in VERIFY_FIELDS - {"valid", "code"}), v
    # The Python checksum agrees with the server's: a real key re-checksummed is itself.
    assert with_checksum(secret[:-6]) == secret

    # Input validation of the verify body.
    url = srv.url + "/v1/keys/verify"
    assert_problem(requests.post(url, json={"endpoint": "/v1/chat"}, timeout=15), 422,
                   "required", "key")
    assert_problem(requests.post(url, json={"key": secret}, timeout=15), 422, "required",
                   "endpoint")
    assert_problem(requests.post(url, json={"key": secret, "endpoint": "/", "extra": 1},
                                 timeout=15), 422, "unknown_field", "extra")


def test_verify_body_in_every_json_spelling(srv, owner_ws):
    """The usual body takes a fast parser; every other spelling of the same JSON must get the
    same answer, and every malformed one the general parser's problem."""
    owner, ws = owner_ws
    k = create_key(owner, ws["id"], "Spelling", permissions={"deny": ["/v1/admin*"]})
    secret = k["key"]
    url = srv.url + "/v1/keys/verify"
    headers = {"Content-Type": "application/json"}

    def post(raw):
        return requests.post(url, data=raw.encode(), headers=headers, timeout=15)

    for raw in [
        f'{{"key":"{secret}","endpoint":"/v1/chat"}}',
        f' {{ "endpoint" : "/v1/chat" ,\n\t"key" : "{secret}" }} ',
        f'{{"key":"{secret}","endpoint":"\\/v1\\/chat","method":"POST","ip":"10.0.0.1"}}',
        f'{{"key":"{secret}","endpoint":"/v1/ch\\u0061t","method":null,"ip":null}}',
    ]:
        r = post(raw)
        assert r.status_code == 200 and r.json()["code"] == "VALID", (raw, r.text)
        assert r.json()["key_id"] == k["id"]
    # An escaped path is matched as its decoded value: the deny pattern holds.
    r = post(f'{{"key":"{secret}","endpoint":"\\/v1\\/admin\\/users"}}')
    assert r.json()["code"] == "FORBIDDEN_ENDPOINT", r.text
    # A repeated field: readers disagree on which value wins (test_duplicate_keys.py).
    assert_problem(post(f'{{"key":"x","key":"{secret}","endpoint":"/v1/chat"}}'), 400,
                   "duplicate_key", "key")
    assert_problem(post(f'{{"key":"{secret}","endpoint":"/v1/chat",}}'), 400, "malformed_json")
    assert_problem(post(f'{{"key":"{secret}","endpoint":"/v1/chat"}} x'), 400, "malformed_json")
    assert_problem(post(f'{{"key":"{secret}","endpoint":"/v1/chat"'), 400, "malformed_json")
    assert_problem(post(f'{{"key":{len(secret)},"endpoint":"/v1/chat"}}'), 422, "invalid_type",
                   "key")
    assert_problem(post(f'{{"key":"{secret}","endpoint":"/v1/chat","method":7}}'), 422,
                   "invalid_type", "method")
    assert_problem(post(f'{{"key":"{secret}","endpoint":"/v1/chat","Key":"x"}}'), 422,
                   "unknown_field", "Key")
    assert_problem(requests.post(url, data=f'{{"key":"{secret}","endpoint":"/v1/chat"}}',
                                 headers={"Content-Type": "text/plain"}, timeout=15),
                   415, "unsupported_media_type")
    r = requests.post(url, data=b'{"key":"\xff","endpoint":"/"}', headers=headers, timeout=15)
    assert_problem(r, 400, "invalid_utf8")


def test_verify_revoked_after_delete(srv, owner_ws):
    owner, ws = owner_ws
    k = create_key(owner, ws["id"], "Doomed")
    assert code(srv, k["key"]) == "VALID"
    r = owner.delete(keys_path(ws["id"], k["id"]))
    assert r.status_code == 200, r.text
    revoked = r.json()
    assert "key" not in revoked
    assert RFC3339_UTC.match(revoked["revoked_at"])
    v = verify(srv, k["key"])  # the very next verification
    assert v["code"] == "REVOKED" and v["valid"] is False and v["key_id"] == k["id"]
    assert get_key(owner, ws["id"], k["id"])["revoked_at"] == revoked["revoked_at"]
    assert any(x["id"] == k["id"] and x["revoked_at"] for x in list_keys(owner, ws["id"]))
    # Revoking twice is harmless; rotating a revoked key is refused.
    again = owner.delete(keys_path(ws["id"], k["id"]))
    assert again.status_code == 200 and again.json()["revoked_at"] == revoked["revoked_at"]
    assert_problem(owner.post(keys_path(ws["id"], k["id"]) + "/rotate", json={}), 409,
                   "key_revoked")
    assert code(srv, k["key"]) == "REVOKED"
    assert_problem(owner.delete(keys_path(ws["id"], MISSING_KEY)), 404, "not_found")


def test_verify_expired_by_creation_and_by_patch(srv, owner_ws):
    owner, ws = owner_ws
    soon = in_seconds(2)
    created = create_key(owner, ws["id"], "Short lived", expires_at=soon)
    patched = create_key(owner, ws["id"], "Later short lived")
    assert patch_key(owner, ws["id"], patched["id"], expires_at=soon)["expires_at"] == soon
    never = create_key(owner, ws["id"], "Long lived", expires_at=in_seconds(3600))
    graced = create_key(owner, ws["id"], "Rotated with a short grace")
    r = owner.post(keys_path(ws["id"], graced["id"]) + "/rotate", json={"grace_seconds": 2})
    assert r.status_code == 200, r.text
    successor = r.json()["key"]
    for k in (created, patched, never):
        assert code(srv, k["key"]) == "VALID"
    assert code(srv, graced["key"]) == "VALID" and code(srv, successor) == "VALID"
    poll(lambda: (code(srv, created["key"]), code(srv, patched["key"])),
         lambda v: v == ("EXPIRED", "EXPIRED"), "keys expire")
    # The grace period ends as well: the previous secret is refused, its successor is not.
    poll(lambda: verify(srv, graced["key"])["valid"], lambda v: v is False, "grace ends")
    assert code(srv, successor) == "VALID"
    v = verify(srv, created["key"])
    assert v["valid"] is False and v["key_id"] == created["id"]
    assert code(srv, never["key"]) == "VALID"
    # An expired key is no management credential either.
    r = bearer(srv, patched["key"], "GET", f"/v1/workspaces/{ws['id']}")
    assert_problem(r, 401, "invalid_api_key")


def test_verify_forbidden_endpoint(srv, owner_ws):
    owner, ws = owner_ws
    k = create_key(owner, ws["id"], "Scoped",
                   permissions={"allow": ["/v1/chat", "/v1/chat/*", "/v1/metrics/*"],
                                "deny": ["/v1/metrics/private*", "/v1/logs"]})
    s = k["key"]
    for endpoint in ["/v1/chat", "/v1/chat/stream", "/v1/metrics/latency", "/v1/metrics"]:
        assert code(srv, s, endpoint) == "VALID", endpoint
    for endpoint in ["/v1/logs", "/v1/logs/1", "/v1/chatter", "/v1/metrics/private",
                     "/v1/metrics/private/pii", "/admin", "/"]:
        v = verify(srv, s, endpoint)
        assert v["code"] == "FORBIDDEN_ENDPOINT", endpoint
        assert v["valid"] is False and v["key_id"] == k["id"]
    # Deny wins even over an allow that names the path exactly.
    both = create_key(owner, ws["id"], "Contradiction",
                      permissions={"allow": ["/v1/logs"], "deny": ["/v1/*"]})
    assert code(srv, both["key"], "/v1/logs") == "FORBIDDEN_ENDPOINT"
    # No allow list: every endpoint but the denied ones.
    open_key = create_key(owner, ws["id"], "Open", permissions={"deny": ["/v1/logs"]})
    assert code(srv, open_key["key"], "/v1/anything/at/all") == "VALID"
    assert code(srv, open_key["key"], "/v1/logs") == "FORBIDDEN_ENDPOINT"

    # A publishable key reaches only the preset's publishable endpoints (four-role:
    # /v1/chat, /v1/chat/*, /v1/metrics/*), whatever its own allow list says.
    pk = next(x for x in list_keys(owner, ws["id"]) if x["type"] == "publishable")["key"]
    for endpoint in ["/v1/chat", "/v1/chat/stream", "/v1/metrics/cost"]:
        assert code(srv, pk, endpoint) == "VALID", endpoint
    for endpoint in ["/v1/logs", "/v1/chatter", "/v1/workspaces", "/track"]:
        assert code(srv, pk, endpoint) == "FORBIDDEN_ENDPOINT", endpoint
    wide = create_key(owner, ws["id"], "Wide pk", type="publishable",
                      permissions={"allow": ["/v1/*"]})
    assert code(srv, wide["key"], "/v1/logs") == "FORBIDDEN_ENDPOINT"
    assert code(srv, wide["key"], "/v1/chat/x") == "VALID"


def test_verify_method_restriction(srv, owner_ws):
    owner, ws = owner_ws
    k = create_key(owner, ws["id"], "Read only",
                   permissions={"allow": ["/v1/metrics/*"], "methods": ["GET"]})
    assert k["permissions"]["methods"] == ["GET"]
    assert code(srv, k["key"], "/v1/metrics/x", method="GET") == "VALID"
    assert code(srv, k["key"], "/v1/metrics/x", method="POST") == "FORBIDDEN_ENDPOINT"
    assert_problem(srv.client().post(keys_path(ws["id"]), json={}), 401, "unauthenticated")
    assert_problem(owner.post(keys_path(ws["id"]),
                              json={"name": "m", "permissions": {"methods": ["FETCH"]}}),
                   422, "invalid_permissions", "permissions.methods")


def test_verify_ip_allowlist_v4_and_v6(srv, owner_ws):
    owner, ws = owner_ws
    k = create_key(owner, ws["id"], "Office only",
                   ip_allowlist=["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"])
    s = k["key"]
    for ip in ["10.0.0.1", "10.255.255.255", "192.0.2.7", "2001:db8::1", "2001:db8:ffff::42",
               "::ffff:10.1.2.3"]:
        assert code(srv, s, ip=ip) == "VALID", ip
    for ip in ["11.0.0.1", "192.0.2.8", "2001:db9::1", "::1", "127.0.0.1", "not-an-ip", ""]:
        v = verify(srv, s, ip=ip)
        assert v["code"] == "IP_NOT_ALLOWED" and v["valid"] is False, ip
    v = verify(srv, s)  # no ip at all
    assert v["code"] == "IP_NOT_ALLOWED" and v["key_id"] == k["id"]
    # A key without an allowlist takes any address, and none.
    free = create_key(owner, ws["id"], "Anywhere")
    assert code(srv, free["key"]) == "VALID"
    assert code(srv, free["key"], ip="2001:db8::1") == "VALID"


def test_verify_rate_limited(srv, owner_ws):
    owner, ws = owner_ws
    k = create_key(owner, ws["id"], "Three a minute", rate_limit={"per_minute": 3})
    start = datetime.now(timezone.utc).replace(microsecond=0)
    remaining = []
    for _ in range(3):
        v = verify(srv, k["key"])
        assert v["code"] == "VALID", v
        assert v["ratelimit"]["limit"] == 3
        assert parse_time(v["ratelimit"]["reset_at"]) >= start
        assert v["quota"] is None
        remaining.append(v["ratelimit"]["remaining"])
    assert remaining == [2, 1, 0]
    v = verify(srv, k["key"])
    assert v["code"] == "RATE_LIMITED" and v["valid"] is False
    assert v["ratelimit"]["limit"] == 3 and v["ratelimit"]["remaining"] == 0
    reset = parse_time(v["ratelimit"]["reset_at"])
    assert start <= reset <= start + timedelta(seconds=120)
    assert code(srv, k["key"]) == "RATE_LIMITED"
    # Other keys have their own limiter.
    other = create_key(owner, ws["id"], "Neighbour", rate_limit={"per_minute": 3})
    assert verify(srv, other["key"])["ratelimit"]["remaining"] == 2


def test_verify_quota_exceeded_and_refused_calls_use_no_quota(srv, owner_ws):
    owner, ws = owner_ws
    k = create_key(owner, ws["id"], "Two a month", rate_limit={"per_month": 2})
    v1, v2, v3 = (verify(srv, k["key"]) for _ in range(3))
    assert (v1["code"], v1["quota"]) == ("VALID", {"limit": 2, "remaining": 1})
    assert (v2["code"], v2["quota"]) == ("VALID", {"limit": 2, "remaining": 0})
    assert v3["code"] == "QUOTA_EXCEEDED" and v3["valid"] is False
    assert v3["quota"] == {"limit": 2, "remaining": 0}
    assert v1["ratelimit"] is None
    assert code(srv, k["key"]) == "QUOTA_EXCEEDED"

    # Refused calls use no quota: wrong endpoint, wrong address, over the minute's limit.
    k = create_key(owner, ws["id"], "Careful", permissions={"allow": ["/v1/chat"]},
                   ip_allowlist=["10.0.0.0/8"], rate_limit={"per_minute": 1, "per_month": 3})
    s, ok_ip = k["key"], "10.0.0.9"
    v = verify(srv, s, "/v1/logs", ip=ok_ip)
    assert v["code"] == "FORBIDDEN_ENDPOINT" and v["quota"] == {"limit": 3, "remaining": 3}
    v = verify(srv, s, ip="8.8.8.8")
    assert v["code"] == "IP_NOT_ALLOWED" and v["quota"] == {"limit": 3, "remaining": 3}
    v = verify(srv, s, ip=ok_ip)
    assert v["code"] == "VALID" and v["quota"] == {"limit": 3, "remaining": 2}
    v = verify(srv, s, ip=ok_ip)
    assert v["code"] == "RATE_LIMITED" and v["quota"] == {"limit": 3, "remaining": 2}
    # Lift the per-minute limit (same monthly quota): the count so far is kept.
    patch_key(owner, ws["id"], k["id"], rate_limit={"per_minute": None, "per_month": 3})
    v = verify(srv, s, ip=ok_ip)
    assert v["code"] == "VALID" and v["quota"] == {"limit": 3, "remaining": 1}
    assert verify(srv, s, ip=ok_ip)["quota"]["remaining"] == 0
    v = verify(srv, s, ip=ok_ip)
    assert v["code"] == "QUOTA_EXCEEDED" and v["quota"]["remaining"] == 0
    # Raising the quota makes room for exactly the difference.
    patch_key(owner, ws["id"], k["id"], rate_limit={"per_month": 4})
    v = verify(srv, s, ip=ok_ip)
    assert v["code"] == "VALID" and v["quota"] == {"limit": 4, "remaining": 0}
    assert code(srv, s, ip=ok_ip) == "QUOTA_EXCEEDED"


def test_limits_are_exact_under_concurrency(srv, owner_ws):
    owner, ws = owner_ws
    quota = create_key(owner, ws["id"], "Concurrent quota", rate_limit={"per_month": 25})
    # Ten a minute is one every six seconds: the burst of 40 ends long before a refill.
    rate = create_key(owner, ws["id"], "Concurrent rate", rate_limit={"per_minute": 10})
    with ThreadPoolExecutor(max_workers=20) as pool:
        quota_codes = list(pool.map(lambda _: code(srv, quota["key"]), range(60)))
        rate_codes = list(pool.map(lambda _: code(srv, rate["key"]), range(40)))
    assert quota_codes.count("VALID") == 25
    assert quota_codes.count("QUOTA_EXCEEDED") == 35
    assert rate_codes.count("VALID") == 10
    assert rate_codes.count("RATE_LIMITED") == 30
    assert verify(srv, quota["key"])["quota"] == {"limit": 25, "remaining": 0}


def test_project_default_limits_apply_to_its_keys_and_follow_changes(srv, owner_ws):
    owner, ws = owner_ws
    r = owner.post(f"/v1/workspaces/{ws['id']}/projects",
                   json={"name": "Limited", "rate_limit": {"per_minute": 2, "per_month": 100}})
    assert r.status_code == 201, r.text
    prj = r.json()
    inherits = create_key(owner, ws["id"], "Inherits", project_id=prj["id"])
    own = create_key(owner, ws["id"], "Own limits", project_id=prj["id"],
                     rate_limit={"per_minute": 10, "per_month": 1000})
    v = verify(srv, inherits["key"])
    assert v["code"] == "VALID" and v["project_id"] == prj["id"]
    assert v["ratelimit"]["limit"] == 2 and v["quota"] == {"limit": 100, "remaining": 99}
    v = verify(srv, own["key"])
    assert v["ratelimit"]["limit"] == 10 and v["quota"]["limit"] == 1000
    # The project's new defaults apply to its keys from the next verification on.
    r = owner.patch(f"/v1/workspaces/{ws['id']}/projects/{prj['id']}",
                    json={"rate_limit": {"per_minute": 50, "per_month": 7}})
    assert r.status_code == 200, r.text
    v = verify(srv, inherits["key"])
    assert v["code"] == "VALID"
    assert v["ratelimit"]["limit"] == 50 and v["quota"] == {"limit": 7, "remaining": 5}
    v = verify(srv, own["key"])
    assert v["ratelimit"]["limit"] == 10 and v["quota"]["limit"] == 1000
    # A project's keys never outlive it: it cannot be deleted while they are live.
    assert_problem(owner.delete(f"/v1/workspaces/{ws['id']}/projects/{prj['id']}"), 409,
                   "project_has_keys")


def test_keys_of_a_deleted_workspace_stop_working(srv):
    owner = srv.signup()
    ws = owner.create_workspace("Short Lived Co")
    secret = create_key(owner, ws["id"], "Orphan")["key"]
    pk = next(x for x in list_keys(owner, ws["id"]) if x["type"] == "publishable")["key"]
    assert code(srv, secret) == "VALID" and code(srv, pk) == "VALID"
    r = owner.delete(f"/v1/workspaces/{ws['id']}", json={"confirm": "DELETE"})
    assert r.status_code == 204, r.text
    for key in (secret, pk):
        v = verify(srv, key)
        assert v["valid"] is False and v["code"] in ("NOT_FOUND", "REVOKED"), v
    r = bearer(srv, secret, "GET", f"/v1/workspaces/{ws['id']}")
    assert r.status_code in (401, 404), r.text


# --- rotation ----------------------------------------------------------------------------------

def test_rotation_with_and_without_grace(srv, owner_ws):
    owner, ws = owner_ws
    k = create_key(owner, ws["id"], "Rotating", rate_limit={"per_month": 1000})
    old = k["key"]
    r = owner.post(keys_path(ws["id"], k["id"]) + "/rotate", json={"grace_seconds": 60})
    assert r.status_code == 200, r.text
    rotated = r.json()
    new = rotated["key"]
    assert rotated["id"] == k["id"] and new != old
    assert new.startswith("sk_live_") and new.startswith(rotated["prefix"])
    assert rotated["name"] == "Rotating" and rotated["created_at"] == k["created_at"]
    # Both work during the grace period, as the same key.
    for s in (old, new):
        v = verify(srv, s)
        assert v["code"] == "VALID" and v["key_id"] == k["id"], s
    got = get_key(owner, ws["id"], k["id"])
    assert "key" not in got and got["prefix"] == rotated["prefix"]
    # The old secret still authenticates management calls during the grace period.
    assert bearer(srv, old, "GET", f"/v1/workspaces/{ws['id']}").status_code == 200

    # Without grace the previous secrets stop at once.
    r = owner.post(keys_path(ws["id"], k["id"]) + "/rotate", json={"grace_seconds": 0})
    assert r.status_code == 200, r.text
    newest = r.json()["key"]
    assert newest not in (old, new)
    for s in (old, new):
        v = verify(srv, s)
        assert v["valid"] is False and v["code"] != "VALID", s
        assert_problem(bearer(srv, s, "GET", f"/v1/workspaces/{ws['id']}"), 401,
                       "invalid_api_key")
    v = verify(srv, newest)
    assert v["code"] == "VALID" and v["key_id"] == k["id"]

    path = keys_path(ws["id"], k["id"]) + "/rotate"
    assert_problem(owner.post(path, json={"grace_seconds": -1}), 422, "invalid_grace",
                   "grace_seconds")
    assert_problem(owner.post(path, json={"grace_seconds": "60"}), 422, "invalid_type",
                   "grace_seconds")
    assert_problem(owner.post(path, json={"grace": 60}), 422, "unknown_field", "grace")
    assert_problem(owner.post(keys_path(ws["id"], MISSING_KEY) + "/rotate", json={}), 404,
                   "not_found")
    assert code(srv, newest) == "VALID"  # failed rotations changed nothing


def test_rotated_publishable_key_stays_readable(srv, owner_ws):
    owner, ws = owner_ws
    pk = next(x for x in list_keys(owner, ws["id"]) if x["type"] == "publishable")
    r = owner.post(keys_path(ws["id"], pk["id"]) + "/rotate", json={"grace_seconds": 0})
    assert r.status_code == 200, r.text
    fresh = r.json()["key"]
    assert fresh.startswith("pk_live_") and fresh != pk["key"]
    assert verify(srv, pk["key"])["valid"] is False
    assert code(srv, fresh) == "VALID"
    # Those who may view keys read the publishable key that works now, not the retired one.
    assert get_key(owner, ws["id"], pk["id"])["key"] == fresh
    assert {x["id"]: x for x in list_keys(owner, ws["id"])}[pk["id"]]["key"] == fresh


# --- ownership ---------------------------------------------------------------------------------

def test_developers_manage_only_their_own_keys_admins_all_viewers_none(srv, team):
    ws_id = team["id"]
    owner, admin, dev, viewer = team["owner"], team["admin"], team["developer"], team["viewer"]
    pk = list_keys(owner, ws_id)[0]
    dev_key = create_key(dev, ws_id, "Bob's key")
    assert dev_key["owner"] == {"user_id": uid(dev), "name": "Bob Developer"}
    dev_key2 = create_key(dev, ws_id, "Bob's second key")
    admin_key = create_key(admin, ws_id, "Alice's key")
    owner_key = create_key(owner, ws_id, "Olive's key")

    # The developer sees their own keys only; every other key is 404 on every route.
    assert {x["id"] for x in list_keys(dev, ws_id)} == {dev_key["id"], dev_key2["id"]}
    assert all("key" not in x for x in list_keys(dev, ws_id))
    for other in (admin_key, owner_key, pk):
        path = keys_path(ws_id, other["id"])
        assert_problem(dev.get(path), 404, "not_found")
        assert_problem(dev.patch(path, json={"name": "Mine now"}), 404, "not_found")
        assert_problem(dev.post(path + "/rotate", json={}), 404, "not_found")
        assert_problem(dev.delete(path), 404, "not_found")
    assert code(srv, admin_key["key"]) == "VALID"
    assert code(srv, owner_key["key"]) == "VALID"
    # …and manages their own.
    assert patch_key(dev, ws_id, dev_key["id"], name="Bob's renamed key")["name"] == \
        "Bob's renamed key"
    assert dev.delete(keys_path(ws_id, dev_key2["id"])).status_code == 200
    assert code(srv, dev_key2["key"]) == "REVOKED"

    # Admins and the owner see every key and may revoke any.
    all_ids = {pk["id"], dev_key["id"], dev_key2["id"], admin_key["id"], owner_key["id"]}
    assert {x["id"] for x in list_keys(admin, ws_id)} == all_ids
    assert {x["id"] for x in list_keys(owner, ws_id)} == all_ids
    assert get_key(admin, ws_id, dev_key["id"])["owner"]["user_id"] == uid(dev)
    assert "key" not in get_key(admin, ws_id, dev_key["id"])
    assert patch_key(admin, ws_id, dev_key["id"], name="Renamed by Alice")["name"] == \
        "Renamed by Alice"
    assert get_key(dev, ws_id, dev_key["id"])["name"] == "Renamed by Alice"
    assert admin.delete(keys_path(ws_id, owner_key["id"])).status_code == 200
    assert code(srv, owner_key["key"]) == "REVOKED"
    assert admin.delete(keys_path(ws_id, dev_key["id"])).status_code == 200
    assert code(srv, dev_key["key"]) == "REVOKED"
    assert code(srv, admin_key["key"]) == "VALID"

    # Viewers have no access to keys at all.
    body = assert_problem(viewer.get(keys_path(ws_id)), 403, "forbidden")
    assert "api_keys.view_own" in body["detail"]
    body = assert_problem(viewer.post(keys_path(ws_id), json={"name": "Nope"}), 403, "forbidden")
    assert "api_keys.create" in body["detail"]
    assert_problem(viewer.get(keys_path(ws_id, admin_key["id"])), 403, "forbidden")
    assert_problem(viewer.delete(keys_path(ws_id, admin_key["id"])), 403, "forbidden")
    assert code(srv, admin_key["key"]) == "VALID"

    # Another workspace's member sees none of it.
    stranger = srv.signup()
    assert_problem(stranger.get(keys_path(ws_id)), 404, "not_found")
    assert_problem(stranger.get(keys_path(ws_id, admin_key["id"])), 404, "not_found")
    assert_problem(stranger.delete(keys_path(ws_id, admin_key["id"])), 404, "not_found")
    other_ws = stranger.create_workspace("Elsewhere")
    assert_problem(stranger.get(keys_path(other_ws["id"], admin_key["id"])), 404, "not_found")
    assert_problem(stranger.delete(keys_path(other_ws["id"], admin_key["id"])), 404, "not_found")
    # Even the owner of both workspaces reaches a key only through its own workspace.
    owners_second = owner.create_workspace("Owner's second")
    assert_problem(owner.get(keys_path(owners_second["id"], admin_key["id"])), 404, "not_found")
    assert_problem(owner.delete(keys_path(owners_second["id"], admin_key["id"])), 404,
                   "not_found")
    assert code(srv, admin_key["key"]) == "VALID"


def test_keys_follow_project_visibility(srv, team):
    ws_id, owner, dev = team["id"], team["owner"], team["developer"]
    prj = f"/v1/workspaces/{ws_id}/projects"
    staging = owner.post(prj, json={"name": "Staging", "environment": "staging"}).json()
    hidden = owner.post(prj, json={"name": "Hidden", "environment": "production"}).json()
    r = owner.put(f"{prj}/{staging['id']}/members/{uid(dev)}", json={"role": "developer"})
    assert r.status_code == 200, r.text
    k = create_key(dev, ws_id, "Staging key", project_id=staging["id"])
    assert k["project_id"] == staging["id"] and k["environment"] == "test"
    # A project the developer cannot see does not exist for them.
    r = dev.post(keys_path(ws_id), json={"name": "Sneaky", "project_id": hidden["id"]})
    assert_problem(r, 422, "invalid_project", "project_id")


def test_removing_a_member_revokes_their_keys_unless_re_owned(srv, team):
    ws_id, owner, admin = team["id"], team["owner"], team["admin"]
    dev1 = team["developer"]
    dev2 = join(srv, owner, ws_id, role="developer", name="Dana Developer")
    dev3 = join(srv, owner, ws_id, role="developer", name="Dev Three")
    k1a = create_key(dev1, ws_id, "dev1 a")
    k1b = create_key(dev1, ws_id, "dev1 b", type="publishable")
    k2 = create_key(dev2, ws_id, "dev2")
    k3 = create_key(dev3, ws_id, "dev3")
    kept = create_key(admin, ws_id, "admin's")
    for k in (k1a, k2, k3, kept):
        assert code(srv, k["key"]) == "VALID"
    members = f"/v1/workspaces/{ws_id}/members"
    assert_problem(owner.delete(f"{members}/{uid(dev1)}?revoke_keys=yes"), 422, "invalid_type",
                   "revoke_keys")
    assert_problem(owner.delete(f"{members}/{uid(dev1)}?transfer_to={uid(admin)}"), 422,
                   "invalid_transfer_to", "transfer_to")
    # No flag: the API's default revokes every key the member holds in the workspace.
    r = owner.delete(f"{members}/{uid(dev1)}")
    assert r.status_code == 204, r.text
    assert code(srv, k1a["key"]) == "REVOKED"
    assert code(srv, k1b["key"]) == "REVOKED"
    listed = {x["id"]: x for x in list_keys(owner, ws_id)}
    assert listed[k1a["id"]]["revoked_at"] and listed[k1b["id"]]["revoked_at"]
    assert listed[kept["id"]]["revoked_at"] is None
    removed = audit(owner, ws_id, action="member.removed")[0]
    assert removed["target"]["id"] == uid(dev1)
    assert removed["details"].get("revoke_keys") is True
    assert removed["details"].get("revoked_keys") == 2

    # revoke_keys=false re-owns the keys, by default to whoever removes the member…
    r = admin.delete(f"{members}/{uid(dev2)}?revoke_keys=false")
    assert r.status_code == 204, r.text
    assert code(srv, k2["key"]) == "VALID"
    moved = get_key(owner, ws_id, k2["id"])
    assert moved["revoked_at"] is None
    assert moved["owner"]["user_id"] == uid(admin)
    removed = audit(owner, ws_id, action="member.removed")[0]
    assert removed["details"].get("transferred_keys") == 1
    assert removed["details"].get("transfer_to") == uid(admin)
    # …and it opens the management API as its new owner.
    r = bearer(srv, k2["key"], "GET", f"/v1/workspaces/{ws_id}")
    assert r.status_code == 200, r.text

    # …or to a named member, who must stay a member: not the leaver, not a stranger.
    assert_problem(owner.delete(f"{members}/{uid(dev3)}?revoke_keys=false&transfer_to={uid(dev3)}"),
                   422, "invalid_transfer_to", "transfer_to")
    assert_problem(owner.delete(f"{members}/{uid(dev3)}?revoke_keys=false&transfer_to={uid(dev1)}"),
                   422, "invalid_transfer_to", "transfer_to")
    assert code(srv, k3["key"]) == "VALID"  # the refused removals changed nothing
    r = owner.delete(f"{members}/{uid(dev3)}?revoke_keys=false&transfer_to={uid(admin)}")
    assert r.status_code == 204, r.text
    assert get_key(owner, ws_id, k3["id"])["owner"]["user_id"] == uid(admin)
    assert code(srv, k3["key"]) == "VALID"
    assert code(srv, kept["key"]) == "VALID"


def test_check_and_verify_agree_on_every_key_state(srv, team):
    ws_id, owner, admin = team["id"], team["owner"], team["admin"]
    dev = join(srv, owner, ws_id, role="developer", name="Agreeing Dev")
    live = create_key(dev, ws_id, "live")
    revoked = create_key(dev, ws_id, "revoked")
    orphan_source = join(srv, owner, ws_id, role="developer", name="Leaving Dev")
    leaver = create_key(orphan_source, ws_id, "leaver's")
    assert owner.delete(f"/v1/workspaces/{ws_id}/api-keys/{revoked['id']}").status_code == 200
    assert owner.delete(f"/v1/workspaces/{ws_id}/members/{uid(orphan_source)}").status_code == 204

    def check(key_id):
        r = owner.post("/v1/check", json={"workspace_id": ws_id, "permission": "logs.view",
                                          "subject": {"type": "api_key", "id": key_id}})
        assert r.status_code == 200, r.text
        return r.json()

    for k, want in ((live, "VALID"), (revoked, "REVOKED"), (leaver, "REVOKED")):
        assert code(srv, k["key"]) == want, k["name"]
        answer = check(k["id"])
        assert answer["allowed"] is (want == "VALID"), (k["name"], answer)
        if want != "VALID":
            assert "revoked" in answer["reason"].lower(), answer


# --- bearer authentication ---------------------------------------------------------------------

def test_bearer_key_authenticates_management_calls(srv, owner_ws):
    owner, ws = owner_ws
    ws_id = ws["id"]
    k = create_key(owner, ws_id, "Automation")
    s = k["key"]
    r = bearer(srv, s, "GET", f"/v1/workspaces/{ws_id}")
    assert r.status_code == 200, r.text
    assert r.json()["id"] == ws_id
    r = bearer(srv, s, "GET", f"/v1/workspaces/{ws_id}/members")
    assert r.status_code == 200, r.text
    assert [m["user_id"] for m in r.json()["data"]] == [uid(owner)]
    # Mutations need no CSRF token with a key, and are audited as the key.
    r = bearer(srv, s, "PATCH", f"/v1/workspaces/{ws_id}", json={"name": "Renamed by key"})
    assert r.status_code == 200, r.text
    assert owner.get(f"/v1/workspaces/{ws_id}").json()["name"] == "Renamed by key"
    event = audit(owner, ws_id, action="workspace.updated")[0]
    assert event["actor"]["type"] == "api_key"
    assert event["actor"]["id"] == k["id"]
    assert event["actor"]["name"] == "Automation"
    made = bearer(srv, s, "POST", keys_path(ws_id), json={"name": "Made by a key"})
    assert made.status_code == 201, made.text
    assert made.json()["owner"]["user_id"] == uid(owner)
    created = next(e for e in audit(owner, ws_id, action="api_key.created")
                   if e["target"]["id"] == made.json()["id"])
    assert created["actor"]["type"] == "api_key" and created["actor"]["id"] == k["id"]
    assert bearer(srv, s, "GET", f"/v1/workspaces/{ws_id}/audit-logs").status_code == 200

    # Another workspace of the same owner: invisible to this key.
    ws2 = owner.create_workspace("Second Co")
    assert_problem(bearer(srv, s, "GET", f"/v1/workspaces/{ws2['id']}"), 404, "not_found")
    assert_problem(bearer(srv, s, "GET", f"/v1/workspaces/{ws2['id']}/members"), 404,
                   "not_found")
    # Account routes are not for keys.
    assert_problem(bearer(srv, s, "GET", "/v1/me"), 403, "api_key_not_allowed")
    assert_problem(bearer(srv, s, "GET", "/v1/me/sessions"), 403, "api_key_not_allowed")
    assert_problem(bearer(srv, s, "POST", "/v1/workspaces", json={"name": "By key"}), 403,
                   "api_key_not_allowed")

    # Publishable keys, garbage and typos.
    pk = next(x for x in list_keys(owner, ws_id) if x["type"] == "publishable")["key"]
    assert_problem(bearer(srv, pk, "GET", f"/v1/workspaces/{ws_id}"), 401,
                   "publishable_key_not_allowed")
    for bad in ["garbage", typo(s), with_checksum("sk_live_" + "Z" * 32), ""]:
        r = bearer(srv, bad, "GET", f"/v1/workspaces/{ws_id}")
        assert r.status_code == 401, (bad, r.text)
        assert_problem(r, 401, r.json()["code"])
    r = requests.get(srv.url + f"/v1/workspaces/{ws_id}", timeout=15,
                     headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_problem(r, 401, "invalid_authorization")

    # Revoked: refused at once.
    assert owner.delete(keys_path(ws_id, k["id"])).status_code == 200
    assert_problem(bearer(srv, s, "GET", f"/v1/workspaces/{ws_id}"), 401, "invalid_api_key")


def test_bearer_key_endpoint_permissions_and_allowlist(srv, owner_ws):
    owner, ws = owner_ws
    ws_id = ws["id"]
    no_members = create_key(owner, ws_id, "No team",
                            permissions={"deny": [f"/v1/workspaces/{ws_id}/members*"]})
    assert bearer(srv, no_members["key"], "GET", f"/v1/workspaces/{ws_id}").status_code == 200
    body = assert_problem(bearer(srv, no_members["key"], "GET",
                                 f"/v1/workspaces/{ws_id}/members"), 403, "forbidden")
    assert body["detail"]
    # Spellings of the same route are the same route for the key's permissions.
    for variant in [f"/v1/workspaces/{ws_id}/%6dembers", f"/v1/workspaces/{ws_id}/./members",
                    f"/v1/workspaces/{ws_id}/x/../members", f"/v1/workspaces/{ws_id}/members?x=1"]:
        r = bearer(srv, no_members["key"], "GET", variant)
        assert r.status_code in (403, 404), (variant, r.text)
    only_ws = create_key(owner, ws_id, "Workspace only",
                         permissions={"allow": [f"/v1/workspaces/{ws_id}"]})
    assert bearer(srv, only_ws["key"], "GET", f"/v1/workspaces/{ws_id}").status_code == 200
    assert_problem(bearer(srv, only_ws["key"], "GET", f"/v1/workspaces/{ws_id}/members"), 403,
                   "forbidden")
    reader = create_key(owner, ws_id, "Reader",
                        permissions={"allow": ["/v1/workspaces/*"], "methods": ["GET"]})
    assert bearer(srv, reader["key"], "GET", f"/v1/workspaces/{ws_id}/members").status_code == 200
    assert_problem(bearer(srv, reader["key"], "PATCH", f"/v1/workspaces/{ws_id}",
                          json={"name": "Nope"}), 403, "forbidden")
    # The management API is called from 127.0.0.1: outside this key's allowlist.
    office = create_key(owner, ws_id, "Office", ip_allowlist=["10.0.0.0/8"])
    assert_problem(bearer(srv, office["key"], "GET", f"/v1/workspaces/{ws_id}"), 403,
                   "ip_not_allowed")
    local = create_key(owner, ws_id, "Local", ip_allowlist=["127.0.0.0/8", "::1"])
    assert bearer(srv, local["key"], "GET", f"/v1/workspaces/{ws_id}").status_code == 200


def test_bearer_key_acts_with_its_owners_current_role(srv, team):
    ws_id, owner, admin, dev = team["id"], team["owner"], team["admin"], team["developer"]
    k = create_key(admin, ws_id, "Admin automation")["key"]
    ws_path = f"/v1/workspaces/{ws_id}"
    assert bearer(srv, k, "GET", ws_path + "/invitations").status_code == 200
    assert bearer(srv, k, "PATCH", ws_path, json={"name": "By admin key"}).status_code == 200
    # Demote the key's owner: the key loses the permissions on its very next call.
    r = owner.patch(f"{ws_path}/members/{uid(admin)}", json={"role": "viewer"})
    assert r.status_code == 200, r.text
    body = assert_problem(bearer(srv, k, "GET", ws_path + "/invitations"), 403, "forbidden")
    assert "invitations.view" in body["detail"]
    assert_problem(bearer(srv, k, "PATCH", ws_path, json={"name": "Nope"}), 403, "forbidden")
    assert_problem(bearer(srv, k, "GET", keys_path(ws_id)), 403, "forbidden")
    assert bearer(srv, k, "GET", ws_path).status_code == 200  # viewers still view
    assert code(srv, k) == "VALID"  # verification does not depend on the owner's role
    # Promotion is as immediate.
    assert owner.patch(f"{ws_path}/members/{uid(admin)}", json={"role": "admin"}).status_code == 200
    assert bearer(srv, k, "GET", ws_path + "/invitations").status_code == 200

    # A developer's key cannot do more than the developer.
    dk = create_key(dev, ws_id, "Dev automation")["key"]
    assert_problem(bearer(srv, dk, "PATCH", ws_path, json={"name": "Dev"}), 403, "forbidden")
    assert_problem(bearer(srv, dk, "POST", ws_path + "/invitations",
                          json={"email": unique_email()}), 403, "forbidden")
    pk = next(x for x in list_keys(owner, ws_id) if x["type"] == "publishable")
    assert_problem(bearer(srv, dk, "GET", keys_path(ws_id, pk["id"])), 404, "not_found")
    assert bearer(srv, dk, "GET", ws_path + "/members").status_code == 200


# --- POST /v1/check ----------------------------------------------------------------------------

def check(client, ws_id, subject, permission, **fields):
    body = {"workspace_id": ws_id, "subject": subject, "permission": permission, **fields}
    return client.post("/v1/check", json=body)


def checked(client, ws_id, subject, permission, **fields):
    r = check(client, ws_id, subject, permission, **fields)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {"allowed", "role", "reason"}, body
    assert isinstance(body["allowed"], bool) and isinstance(body["reason"], str) and body["reason"]
    return body


def test_check_users_and_keys(srv, team):
    ws_id, owner, admin, dev, viewer = (team["id"], team["owner"], team["admin"],
                                        team["developer"], team["viewer"])

    def user(c):
        return {"type": "user", "id": uid(c)}

    a = checked(owner, ws_id, user(dev), "logs.view_pii")
    assert (a["allowed"], a["role"]) == (True, "developer")
    a = checked(owner, ws_id, user(dev), "billing.view")
    assert (a["allowed"], a["role"]) == (False, "developer")
    a = checked(owner, ws_id, user(viewer), "routing_rules.edit")
    assert (a["allowed"], a["role"]) == (False, "viewer")
    a = checked(viewer, ws_id, user(admin), "routing_rules.edit")  # viewers may ask too
    assert (a["allowed"], a["role"]) == (True, "admin")
    a = checked(dev, ws_id, user(owner), "workspace.delete")
    assert (a["allowed"], a["role"]) == (True, "owner")

    stranger = srv.signup()
    a = checked(owner, ws_id, user(stranger), "workspace.view")
    assert a["allowed"] is False and a["role"] is None
    a = checked(owner, ws_id, {"type": "user", "id": MISSING_USER}, "workspace.view")
    assert a["allowed"] is False and a["role"] is None

    # An API key subject: its owner's current role.
    dk = create_key(dev, ws_id, "Dev key")
    a = checked(owner, ws_id, {"type": "api_key", "id": dk["id"]}, "api_keys.create")
    assert (a["allowed"], a["role"]) == (True, "developer")
    a = checked(owner, ws_id, {"type": "api_key", "id": dk["id"]}, "members.remove")
    assert (a["allowed"], a["role"]) == (False, "developer")
    pk = next(x for x in list_keys(owner, ws_id) if x["type"] == "publishable")
    assert checked(owner, ws_id, {"type": "api_key", "id": pk["id"]}, "workspace.view")[
        "allowed"] is False
    assert checked(owner, ws_id, {"type": "api_key", "id": MISSING_KEY}, "workspace.view")[
        "allowed"] is False
    assert dev.delete(keys_path(ws_id, dk["id"])).status_code == 200
    assert checked(owner, ws_id, {"type": "api_key", "id": dk["id"]}, "api_keys.create")[
        "allowed"] is False

    # A key may ask as well (bearer), about its own workspace only.
    ok = create_key(owner, ws_id, "Checker")["key"]
    r = bearer(srv, ok, "POST", "/v1/check", json={
        "workspace_id": ws_id, "subject": user(viewer), "permission": "logs.view"})
    assert r.status_code == 200, r.text
    assert r.json()["allowed"] is True and r.json()["role"] == "viewer"
    other_ws = owner.create_workspace("Other Check Co")
    r = bearer(srv, ok, "POST", "/v1/check", json={
        "workspace_id": other_ws["id"], "subject": user(owner), "permission": "logs.view"})
    assert_problem(r, 404, "not_found")

    # Errors.
    assert_problem(check(owner, ws_id, user(dev), "logs.fly"), 422, "unknown_permission",
                   "permission")
    assert_problem(check(owner, ws_id, {"type": "group", "id": "x"}, "logs.view"), 422,
                   "invalid_subject", "subject.type")
    assert_problem(owner.post("/v1/check", json={"workspace_id": ws_id, "permission": "logs.view"}),
                   422, "required", "subject")
    assert_problem(check(owner, ws_id, user(dev), "logs.view", project_id=MISSING_PROJECT), 422,
                   "invalid_project", "project_id")
    # A caller outside the workspace learns nothing about it.
    assert_problem(check(stranger, ws_id, user(dev), "logs.view"), 404, "not_found")
    assert_problem(check(stranger, "ws_" + "0" * 22, user(dev), "logs.view"), 404, "not_found")
    assert_problem(srv.client().post("/v1/check", json={
        "workspace_id": ws_id, "subject": user(dev), "permission": "logs.view"}), 401,
        "unauthenticated")


def test_check_uses_the_project_role_inside_a_project(srv, team):
    ws_id, owner, dev = team["id"], team["owner"], team["developer"]
    prj_path = f"/v1/workspaces/{ws_id}/projects"
    staging = owner.post(prj_path, json={"name": "Staging", "environment": "staging"}).json()
    prod = owner.post(prj_path, json={"name": "Production", "environment": "production"}).json()
    r = owner.put(f"{prj_path}/{staging['id']}/members/{uid(dev)}", json={"role": "admin"})
    assert r.status_code == 200, r.text
    subject = {"type": "user", "id": uid(dev)}
    a = checked(owner, ws_id, subject, "routing_rules.edit", project_id=staging["id"])
    assert (a["allowed"], a["role"]) == (True, "admin")
    a = checked(owner, ws_id, subject, "routing_rules.edit", project_id=prod["id"])
    assert (a["allowed"], a["role"]) == (False, "developer")
    a = checked(owner, ws_id, subject, "routing_rules.edit")
    assert (a["allowed"], a["role"]) == (False, "developer")


# --- audit events and usage --------------------------------------------------------------------

def test_key_lifecycle_is_audited(srv, owner_ws):
    owner, ws = owner_ws
    ws_id = ws["id"]
    k = create_key(owner, ws_id, "Audited", permissions={"allow": ["/v1/chat/*"]})
    patch_key(owner, ws_id, k["id"], name="Audited 2", permissions={"allow": ["/v1/metrics/*"]})
    rotated = owner.post(keys_path(ws_id, k["id"]) + "/rotate", json={"grace_seconds": 30}).json()
    assert owner.delete(keys_path(ws_id, k["id"])).status_code == 200
    events = [e for e in audit(owner, ws_id, action="api_key.*") if e["target"]["id"] == k["id"]]
    assert [e["action"] for e in events] == \
        ["api_key.revoked", "api_key.rotated", "api_key.updated", "api_key.created"]
    for e in events:
        assert e["actor"]["type"] == "user" and e["actor"]["id"] == uid(owner)
        assert e["target"]["type"] == "api_key"
        assert RFC3339_UTC.match(e["occurred_at"])
    by = {e["action"]: e for e in events}
    assert by["api_key.created"]["target"]["name"] == "Audited"
    assert by["api_key.revoked"]["target"]["name"] == "Audited 2"
    assert by["api_key.rotated"]["details"].get("grace_seconds") == 30
    upd = json.dumps(by["api_key.updated"]["details"])
    assert "/v1/chat/*" in upd and "/v1/metrics/*" in upd  # before and after
    text = json.dumps(audit(owner, ws_id))
    assert k["key"] not in text and rotated["key"] not in text
    # A change that fails is not audited.
    owner.patch(keys_path(ws_id, k["id"]), json={"name": "Too late"})
    assert len([e for e in audit(owner, ws_id, action="api_key.*")
                if e["target"]["id"] == k["id"]]) == 4


def test_new_ip_events_and_last_used_at(srv, owner_ws):
    owner, ws = owner_ws
    ws_id = ws["id"]
    k = create_key(owner, ws_id, "Busy", permissions={"allow": ["/v1/chat"]})
    idle = create_key(owner, ws_id, "Only refused", permissions={"allow": ["/v1/chat"]})
    assert get_key(owner, ws_id, k["id"])["last_used_at"] is None
    a, b, c = "203.0.113.10", "2001:db8::10", "198.51.100.10"

    def new_ip_events():
        return [e for e in audit(owner, ws_id, action="api_key.new_ip")
                if e["target"]["id"] == k["id"]]

    def ips(events):
        return sorted(e["details"].get("ip") or e["ip"] for e in events)

    assert code(srv, idle["key"], "/v1/logs", ip=a) == "FORBIDDEN_ENDPOINT"  # refused: no use
    for ip in (a, a, b, a):
        assert code(srv, k["key"], ip=ip) == "VALID"
    assert code(srv, k["key"], "/v1/logs", ip=c) == "FORBIDDEN_ENDPOINT"  # refused: no new IP
    events = poll(new_ip_events, lambda ev: len(ev) >= 2, "api_key.new_ip events")
    assert ips(events) == sorted([a, b])
    for e in events:
        assert e["target"]["type"] == "api_key" and e["target"]["name"] == "Busy"
        assert e["actor"]["type"] in ("system", "api_key")
    # Known addresses again, then a new one: exactly one more event (for the new one).
    for ip in (b, a, c):
        assert code(srv, k["key"], ip=ip) == "VALID"
    events = poll(new_ip_events, lambda ev: len(ev) >= 3, "third api_key.new_ip event")
    assert ips(events) == sorted([a, b, c])

    used = poll(lambda: get_key(owner, ws_id, k["id"])["last_used_at"], lambda v: v is not None,
                "last_used_at")
    assert RFC3339_UTC.match(used)
    assert parse_time(used) >= parse_time(k["created_at"])
    assert any(x["id"] == k["id"] and x["last_used_at"] == used for x in list_keys(owner, ws_id))
    # Usage was flushed in the same batch as the busy key's: the refused-only key has none.
    assert get_key(owner, ws_id, idle["id"])["last_used_at"] is None
    assert not [e for e in audit(owner, ws_id, action="api_key.new_ip")
                if e["target"]["id"] == idle["id"]]



def test_burst_of_first_uses_is_recorded_once_each_with_an_intact_chain(srv, owner_ws):
    """More first uses than one write batch holds (1,000), spread over 55 keys at their daily
    budget of 20 new addresses each: every recorded one gets its event, the chain of the
    workspace still verifies, repeats of known addresses add nothing, and addresses past a
    key's budget are not recorded at all."""
    owner, ws = owner_ws
    ws_id = ws["id"]
    fleet = [create_key(owner, ws_id, f"Fleet {n}", permissions={"allow": ["/v1/chat"]})
             for n in range(55)]
    addresses = [f"10.{i // 250}.{i % 250}.7" for i in range(21)]
    session = requests.Session()

    def use(k, ip):
        r = session.post(srv.url + "/v1/keys/verify", timeout=15,
                         json={"key": k["key"], "endpoint": "/v1/chat", "ip": ip})
        assert r.json()["code"] == "VALID", r.text

    for k in fleet:
        for ip in addresses:  # the 21st is over the budget: valid, not recorded
            use(k, ip)
    for ip in addresses[:5]:
        use(fleet[0], ip)  # known: no second event

    def count_events():
        seen, cursor = {}, None
        while True:
            params = {"limit": 200, "action": "api_key.new_ip"}
            if cursor:
                params["cursor"] = cursor
            r = owner.get(f"/v1/workspaces/{ws_id}/audit-logs", params=params)
            assert r.status_code == 200, r.text
            for e in r.json()["data"]:
                key = (e["target"]["id"], e["details"]["ip"])
                seen[key] = seen.get(key, 0) + 1
            cursor = r.json()["next_cursor"]
            if not cursor:
                return seen

    seen = poll(count_events, lambda s: len(s) >= 1100, "1,100 api_key.new_ip events")
    assert len(seen) == 1100 and set(seen.values()) == {1}
    for k in fleet:
        assert {ip for (key, ip) in seen if key == k["id"]} == set(addresses[:20])
    check = owner.get(f"/v1/workspaces/{ws_id}/audit-logs/verify")
    assert check.status_code == 200 and check.json()["valid"] is True, check.text

# --- restart: the index is rebuilt from the store ----------------------------------------------

def test_keys_usage_and_addresses_survive_a_restart(srv, start_server):
    db = srv.db if srv.db.startswith("postgres") else None
    first = start_server(db=db)
    owner = first.signup(name="Olive Owner")
    ws_id = owner.create_workspace("Restart Co")["id"]
    revoked = create_key(owner, ws_id, "Revoked")
    assert owner.delete(keys_path(ws_id, revoked["id"])).status_code == 200
    rotating = create_key(owner, ws_id, "Rotating")
    r = owner.post(keys_path(ws_id, rotating["id"]) + "/rotate", json={"grace_seconds": 3600})
    assert r.status_code == 200, r.text
    new_secret = r.json()["key"]
    quota = create_key(owner, ws_id, "Quota", rate_limit={"per_month": 3})
    ip_a, ip_b = "198.51.100.20", "2001:db8::20"
    assert [verify(first, quota["key"], ip=ip_a)["quota"]["remaining"] for _ in range(2)] == [2, 1]
    assert first.stop(signal.SIGTERM, timeout=8) == 0, first.stderr()

    second = start_server(db=first.db)
    owner = second.login(owner.email)
    assert code(second, revoked["key"]) == "REVOKED"
    assert code(second, rotating["key"]) == "VALID"  # still inside its grace period
    assert code(second, new_secret) == "VALID"
    # The month's usage was written before the first process exited: one call is left.
    v = verify(second, quota["key"], ip=ip_a)
    assert v["code"] == "VALID" and v["quota"] == {"limit": 3, "remaining": 0}
    assert code(second, quota["key"], ip=ip_a) == "QUOTA_EXCEEDED"
    assert get_key(owner, ws_id, quota["id"])["last_used_at"] is not None
    # The address known before the restart is not new; another one is.
    fresh = create_key(owner, ws_id, "Sentinel")
    assert code(second, fresh["key"], ip=ip_b) == "VALID"
    poll(lambda: [e for e in audit(owner, ws_id, action="api_key.new_ip")
                  if e["target"]["id"] == fresh["id"]], bool, "the sentinel's new_ip event")
    quota_ips = [e["details"].get("ip") for e in audit(owner, ws_id, action="api_key.new_ip")
                 if e["target"]["id"] == quota["id"]]
    assert quota_ips == [ip_a]


def test_a_second_process_follows_key_changes_made_by_the_first(srv, start_server):
    """Two servers on one store: what one changes, the other's index learns within seconds
    (it polls the store every second), without a restart."""
    db = srv.db if srv.db.startswith("postgres") else None
    first = start_server(db=db)
    second = start_server(db=first.db)
    owner = first.signup(name="Olive Owner")
    ws_id = owner.create_workspace("Two Process Co")["id"]
    r = owner.post(f"/v1/workspaces/{ws_id}/projects",
                   json={"name": "Shared", "rate_limit": {"per_minute": 5}})
    assert r.status_code == 201, r.text
    prj = r.json()

    created = create_key(owner, ws_id, "Created elsewhere", project_id=prj["id"])
    poll(lambda: code(second, created["key"]), lambda c: c == "VALID", "a key created by the first")
    assert verify(second, created["key"])["ratelimit"]["limit"] == 5

    # Project defaults, edits, rotation and revocation made through the first process.
    r = owner.patch(f"/v1/workspaces/{ws_id}/projects/{prj['id']}",
                    json={"rate_limit": {"per_minute": 40}})
    assert r.status_code == 200, r.text
    poll(lambda: verify(second, created["key"])["ratelimit"]["limit"], lambda n: n == 40,
         "the project's new default limit")
    patch_key(owner, ws_id, created["id"], permissions={"deny": ["/v1/chat"]})
    poll(lambda: code(second, created["key"]), lambda c: c == "FORBIDDEN_ENDPOINT",
         "an endpoint denied by an edit")
    rotating = create_key(owner, ws_id, "Rotating")
    r = owner.post(keys_path(ws_id, rotating["id"]) + "/rotate", json={"grace_seconds": 0})
    assert r.status_code == 200, r.text
    new_secret = r.json()["key"]
    poll(lambda: (code(second, rotating["key"]), code(second, new_secret)),
         lambda c: c == ("NOT_FOUND", "VALID"), "a rotation without grace")
    assert owner.delete(keys_path(ws_id, created["id"])).status_code == 200
    poll(lambda: code(second, created["key"]), lambda c: c == "REVOKED", "a revocation")

    # A workspace deleted through the first process: its keys stop working in the second.
    assert owner.delete(f"/v1/workspaces/{ws_id}", json={"confirm": "DELETE"}).status_code == 204
    poll(lambda: code(second, new_secret), lambda c: c == "NOT_FOUND", "a deleted workspace")


def store_dump(srv):
    """Every row of the server's store as text (sqlite3 .dump or pg_dump)."""
    if srv.db.startswith("sqlite:"):
        return srv.sql(".dump")
    r = subprocess.run(["pg_dump", "--data-only", srv.db], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_secrets_are_stored_only_as_hashes(srv, owner_ws):
    owner, ws = owner_ws
    plain = create_key(owner, ws["id"], "Plain")
    r = owner.post(keys_path(ws["id"], plain["id"]) + "/rotate", json={"grace_seconds": 60})
    assert r.status_code == 200, r.text
    rotated = r.json()["key"]
    idem = {"Idempotency-Key": "create-key-" + plain["id"]}
    first = owner.post(keys_path(ws["id"]), json={"name": "Retried"}, headers=idem)
    again = owner.post(keys_path(ws["id"]), json={"name": "Retried"}, headers=idem)
    assert first.status_code == 201 and again.status_code == 201, (first.text, again.text)
    assert again.json()["id"] == first.json()["id"]  # one key, however often the call is retried
    assert sum(x["name"] == "Retried" for x in list_keys(owner, ws["id"])) == 1
    dump = store_dump(srv)
    assert plain["id"] in dump and first.json()["id"] in dump  # the dump does hold the keys
    for name, secret in [("created", plain["key"]), ("rotated", rotated),
                         ("created with an Idempotency-Key", first.json()["key"])]:
        stored = secret[12:] in dump  # the part after the displayed prefix
        assert not stored, f"the {name} secret is stored in plain text"
