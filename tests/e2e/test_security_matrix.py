"""The cross-tenant and privilege matrix, generated from the route table (GET /openapi.json):
every route that needs a caller × {no credentials, another workspace's owner, a publishable
key, a secret key whose endpoint permissions exclude the route, a secret key of another
workspace} → never a 2xx; 401 without credentials; 404 (never 403) for a workspace the caller
is not in and for an object of another workspace under the caller's own workspace.

A new route is covered by adding it to the router: the test fails when a route has a path
parameter it cannot fill, so nobody forgets to think about it.
"""
import os
import re
import tempfile
import time
import uuid

import pytest

import saml_forge
from ghtest import PNG, invite, join, unique_email

# A body that would pass validation for the routes that need one, so that the answer shows the
# authorisation decision rather than a 422. Keyed by (method, route template).
BODIES = {
    ("POST", "/v1/workspaces/{ws}/invitations"): {"email": "matrix@example.com", "role": "viewer"},
    ("PATCH", "/v1/workspaces/{ws}/members/{usr}"): {"role": "viewer"},
    ("POST", "/v1/workspaces/{ws}/transfer-ownership"): None,  # filled with a user id below
    ("POST", "/v1/workspaces/{ws}/roles"): {"name": "Matrix role", "permissions": ["workspace.view"]},
    ("PATCH", "/v1/workspaces/{ws}/roles/{role}"): {"name": "Renamed"},
    ("PATCH", "/v1/workspaces/{ws}"): {"name": "Renamed Co"},
    ("PUT", "/v1/workspaces/{ws}/ip-allowlist"): {"enabled": False,
                                                  "entries": [{"cidr": "203.0.113.0/24"}]},
    ("POST", "/v1/workspaces/{ws}/api-keys"): {"name": "Matrix key"},
    ("PATCH", "/v1/workspaces/{ws}/api-keys/{key}"): {"name": "Renamed key"},
    ("POST", "/v1/workspaces/{ws}/projects"): {"name": "Matrix project"},
    ("PATCH", "/v1/workspaces/{ws}/projects/{prj}"): {"name": "Renamed project"},
    ("PUT", "/v1/workspaces/{ws}/projects/{prj}/members/{usr}"): {"role": "viewer"},
    ("POST", "/v1/workspaces"): {"name": "Matrix Co"},
    ("PATCH", "/v1/me"): {"name": "Matrix"},
    ("POST", "/v1/me/password"): {"current_password": "not the password",
                                  "new_password": "a long enough new password"},
    ("POST", "/v1/keys/verify"): {"key": "sk_live_x", "endpoint": "/"},
    ("POST", "/v1/workspaces/{ws}/webhooks"): {"url": "https://hooks.example.com/matrix"},
    ("PATCH", "/v1/workspaces/{ws}/webhooks/{whk}"): {"description": "Renamed"},
    ("PUT", "/v1/workspaces/{ws}/notification-rules/{type}"): {"channels": ["in_app"]},
    ("PUT", "/v1/workspaces/{ws}/slack"): {"webhook_url": "https://hooks.example.com/services/T/B/x"},
    ("POST", "/v1/workspaces/{ws}/notification-events"): {"type": "quality.degraded",
                                                          "title": "Matrix"},
    ("PUT", "/v1/me/notification-preferences"): {"email": {"system": "off"}},
}


def routes(server):
    doc = server.client().get("/openapi.json").json()
    out = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            out.append((method.upper(), path, op))
    return out


def needs_caller(op):
    """Routes whose security list has no anonymous alternative."""
    return op["security"] and {} not in op["security"]


def params_of(path):
    return re.findall(r"{(\w+)}", path)


@pytest.fixture(scope="module")
def world(server):
    """Workspace A with one object of every kind; workspace B owned by someone else."""
    owner_a = server.signup(name="Alice Tenant")
    ws_a = owner_a.create_workspace("Tenant A")["id"]
    member_a = join(server, owner_a, ws_a, role="developer", name="Dev A")
    prj_a = owner_a.post(f"/v1/workspaces/{ws_a}/projects", json={"name": "Secret Project"})
    assert prj_a.status_code == 201, prj_a.text
    role_a = owner_a.post(f"/v1/workspaces/{ws_a}/roles",
                          json={"name": "Tenant A role", "permissions": ["workspace.view"]})
    assert role_a.status_code == 201, role_a.text
    inv_a = invite(owner_a, ws_a, unique_email("pending"), role="viewer")
    key_a = owner_a.post(f"/v1/workspaces/{ws_a}/api-keys", json={"name": "A full key"})
    assert key_a.status_code == 201, key_a.text
    pub_a = owner_a.post(f"/v1/workspaces/{ws_a}/api-keys",
                         json={"name": "A publishable", "type": "publishable"})
    assert pub_a.status_code == 201, pub_a.text
    # A secret key that may call nothing but one path no route has.
    narrow_a = owner_a.post(f"/v1/workspaces/{ws_a}/api-keys",
                            json={"name": "A narrow key",
                                  "permissions": {"allow": ["/v1/nowhere/*"]}})
    assert narrow_a.status_code == 201, narrow_a.text
    sessions = owner_a.get("/v1/me/sessions").json()["data"]
    idp_key = saml_forge.make_keypair(os.path.join(tempfile.mkdtemp(), "idp"))
    sso_a = owner_a.post(f"/v1/workspaces/{ws_a}/sso/connections", json={
        "type": "saml", "provider": "custom", "domains": [f"{uuid.uuid4().hex[:8]}.test"],
        "saml": {"idp_entity_id": "https://idp.a.test", "idp_sso_url": "https://idp.a.test/sso",
                 "idp_certificate": idp_key.cert_pem}})
    assert sso_a.status_code == 201, sso_a.text
    scim_a = owner_a.post(f"/v1/workspaces/{ws_a}/scim/tokens", json={"name": "A directory"})
    assert scim_a.status_code == 201, scim_a.text
    hook_a = owner_a.post(f"/v1/workspaces/{ws_a}/webhooks",
                          json={"url": "https://hooks.example.com/a", "event_types": ["webhook.test"]})
    assert hook_a.status_code == 201, hook_a.text
    msg_a = owner_a.post(f"/v1/workspaces/{ws_a}/webhooks/{hook_a.json()['id']}/test")
    assert msg_a.status_code == 202, msg_a.text

    # Dev A's joining is in owner A's inbox (member.joined: in-app to admins by default).
    inbox = []
    for _ in range(100):
        inbox = owner_a.get("/v1/me/notifications").json()["data"]
        if inbox:
            break
        time.sleep(0.1)
    assert inbox, "no in-app notification for owner A"

    owner_b = server.signup(name="Bob Tenant")
    ws_b = owner_b.create_workspace("Tenant B")["id"]
    key_b = owner_b.post(f"/v1/workspaces/{ws_b}/api-keys", json={"name": "B full key"})
    assert key_b.status_code == 201, key_b.text

    objects_a = {
        "ws": ws_a,
        "usr": member_a.user["id"],
        "prj": prj_a.json()["id"],
        "role": role_a.json()["id"],
        "inv": inv_a["id"],
        "key": key_a.json()["id"],
        "ses": sessions[0]["id"],
        "sso": sso_a.json()["id"],
        "id": scim_a.json()["id"],  # a SCIM token; in SCIM paths, an id no directory has
        "whk": hook_a.json()["id"],
        "msg": msg_a.json()["id"],
        "type": "member.invited",
        "ntf": inbox[0]["id"],
        "token": "not-a-real-invitation-token",
    }
    return {
        "server": server,
        "owner_a": owner_a,
        "routes": routes(server),
        "a": objects_a,
        "ws_b": ws_b,
        "owner_b": owner_b,
        "pub_a": pub_a.json()["key"],
        "narrow_a": narrow_a.json()["key"],
        "full_b": key_b.json()["key"],
    }


def fill(path, values):
    missing = [p for p in params_of(path) if p not in values]
    assert not missing, f"{path}: the matrix does not know how to fill {missing}; add it to world()"
    for name in params_of(path):
        path = path.replace("{" + name + "}", values[name])
    return path


def call(client, method, template, path, headers=None, a=None):
    body = BODIES.get((method, template), {})
    if template == "/v1/check":  # asks about workspace A: only A's members may
        body = {"workspace_id": a["ws"], "permission": "workspace.view",
                "subject": {"type": "user", "id": a["usr"]}}
    kw = {"headers": headers or {}}
    if template.endswith("/logo") and method == "POST":
        kw["files"] = {"file": ("logo.png", PNG, "image/png")}
    elif template.endswith("/invitations/bulk"):
        kw["data"] = "email,role\nbulk@example.com,viewer\n"
        kw["headers"]["Content-Type"] = "text/csv"
    elif method not in ("GET", "DELETE"):
        kw["json"] = body if body is not None else {"user_id": "usr_x"}
    return client.request(method, path, **kw)


def describe(method, path, r):
    return f"{method} {path} -> {r.status_code} {r.text[:200]}"


def test_matrix_covers_every_workspace_route(world):
    ws_routes = [(m, p) for m, p, _ in world["routes"] if "{ws}" in p]
    assert len(ws_routes) >= 25, ws_routes
    for m, p in ws_routes:
        fill(p, world["a"])  # every parameter is known


def test_no_credentials_is_401_everywhere(world):
    anon = world["server"].client()
    for method, template, op in world["routes"]:
        if not needs_caller(op):
            continue
        path = fill(template, world["a"])
        r = call(anon, method, template, path, a=world["a"])
        assert r.status_code == 401, describe(method, path, r)


def test_another_workspaces_owner_gets_404_for_the_workspace_and_its_objects(world):
    b = world["owner_b"]
    for method, template, op in world["routes"]:
        if "{ws}" not in template or is_scim(template):
            continue
        # Workspace A's URL: not B's workspace.
        path = fill(template, world["a"])
        r = call(b, method, template, path, a=world["a"])
        assert r.status_code == 404, describe(method, path, r)
        # B's own workspace with A's object ids: not B's objects.
        if len(params_of(template)) > 1:
            path = fill(template, {**world["a"], "ws": world["ws_b"]})
            r = call(b, method, template, path, a=world["a"])
            assert r.status_code == 404, describe(method, path, r)


def is_scim(template):
    """The SCIM server's routes take a workspace's SCIM token and nothing else: sessions and
    API keys are no credential there (401). Tokens across workspaces: test_scim_negative.py."""
    return template.startswith("/scim/")


def test_sessions_and_api_keys_are_no_scim_credential(world):
    client = world["server"].client()
    for method, template, op in world["routes"]:
        if not is_scim(template):
            continue
        path = fill(template, world["a"])
        for who, c, headers in [("owner A", world["owner_a"], {}), ("owner B", world["owner_b"], {}),
                                ("A's secret key", client, {"Authorization": "Bearer " + world["narrow_a"]}),
                                ("A's publishable key", client, {"Authorization": "Bearer " + world["pub_a"]}),
                                ("B's secret key", client, {"Authorization": "Bearer " + world["full_b"]})]:
            r = call(c, method, template, path, headers=dict(headers), a=world["a"])
            assert r.status_code == 401, (who, describe(method, path, r))
            assert r.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"], r.text


def test_publishable_key_calls_no_management_route(world):
    client = world["server"].client()
    auth = {"Authorization": "Bearer " + world["pub_a"]}
    for method, template, op in world["routes"]:
        if not needs_caller(op) or is_scim(template):
            continue
        path = fill(template, world["a"])
        r = call(client, method, template, path, headers=dict(auth), a=world["a"])
        assert r.status_code == 401, describe(method, path, r)
        assert r.json()["code"] == "publishable_key_not_allowed", describe(method, path, r)


def test_secret_key_without_the_route_in_its_permissions_is_refused(world):
    client = world["server"].client()
    auth = {"Authorization": "Bearer " + world["narrow_a"]}
    for method, template, op in world["routes"]:
        if not needs_caller(op) or is_scim(template):
            continue
        path = fill(template, world["a"])
        r = call(client, method, template, path, headers=dict(auth), a=world["a"])
        assert r.status_code == 403, describe(method, path, r)


def test_secret_key_of_another_workspace_gets_404(world):
    client = world["server"].client()
    auth = {"Authorization": "Bearer " + world["full_b"]}
    for method, template, op in world["routes"]:
        if not needs_caller(op) or is_scim(template):
            continue
        path = fill(template, world["a"])
        r = call(client, method, template, path, headers=dict(auth), a=world["a"])
        assert not 200 <= r.status_code < 300, describe(method, path, r)
        if "{ws}" in template or template == "/v1/check":
            assert r.status_code == 404, describe(method, path, r)
        else:
            assert r.status_code == 403, describe(method, path, r)
            assert r.json()["code"] == "api_key_not_allowed", describe(method, path, r)


def test_objects_of_workspace_a_are_untouched(world):
    """After every refused call above, A's objects are all still there and unchanged."""
    owner_a, a = world["owner_a"], world["a"]
    ws = f"/v1/workspaces/{a['ws']}"
    r = owner_a.get(ws)
    assert r.status_code == 200 and r.json()["name"] == "Tenant A", r.text
    assert a["prj"] in [p["id"] for p in owner_a.get(ws + "/projects").json()["data"]]
    assert a["usr"] in [m["user_id"] for m in owner_a.get(ws + "/members").json()["data"]]
    assert a["key"] in [k["id"] for k in owner_a.get(ws + "/api-keys").json()["data"]]
    assert a["inv"] in [i["id"] for i in owner_a.get(ws + "/invitations").json()["data"]]
    assert a["role"] in [r["id"] for r in owner_a.get(ws + "/roles").json()["data"]]
