"""Gatehouse side of the SCIM tests: a server per store, a workspace with a SCIM token and group
mappings, and the check hooks that the replays (scim_replay.py) call to look at the team through
the normal API."""
import json
import os
import uuid

import pytest
import requests

from ghtest import (PASSWORD, TEST_CONFIG, Server, assert_problem, start_with_public_url,
                    unique_email, verify_email)
from scim_replay import SCIM_JSON

# The default plan allows 25 members; the negative tests provision a thousand and more.
SCIM_TEST_CONFIG = ('default_plan = "big"\n\n' + TEST_CONFIG + """
[[plans]]
id = "big"
name = "Big"
member_limit = 5000
max_audit_retention_days = 365
features = ["projects", "bulk_invitations", "custom_roles", "sso", "scim", "ip_allowlist"]
""")

MAPPINGS = lambda prj: [  # noqa: E731
    {"group": "Admins", "role": "admin"},
    {"group": "Engineering", "role": "developer", "projects": [{"project_id": prj, "role": "developer"}]},
    # Matched case-insensitively against the group's displayName ("Release Managers").
    {"group": "release managers", "role": "admin"},
]


def scim_server(request, tmp_path_factory, tag):
    """A server on the store named by request.param ("sqlite" | "postgres"), with --public-url
    equal to the URL it serves on, so that a token's base_url is reachable as is."""
    db = None
    if request.param == "postgres":
        db = os.environ.get("GATEHOUSE_TEST_PG")
        if not db:
            pytest.skip("GATEHOUSE_TEST_PG is not set")

    def start(db=None, extra_args=(), listen="127.0.0.1:0"):
        d = tmp_path_factory.mktemp(tag)
        cfg = d / "scim-test.toml"
        cfg.write_text(SCIM_TEST_CONFIG)
        return Server(db or f"sqlite:{d}/g.db", d, [*extra_args, "--config", str(cfg)],
                      listen=listen).start()

    return start_with_public_url(start, db=db)


def create_token(owner, ws, name="directory"):
    r = owner.post(f"/v1/workspaces/{ws}/scim/tokens", json={"name": name})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id"].startswith("scim_"), body
    assert body["token"].startswith("scim_") and len(body["token"]) >= 30, body
    assert body["base_url"] == f"{owner.base}/scim/v2/{ws}", body
    listed = owner.get(f"/v1/workspaces/{ws}/scim/tokens")
    assert listed.status_code == 200, listed.text
    assert body["id"] in listed.text and body["token"] not in listed.text, listed.text
    return body


def put_mappings(owner, ws, mappings):
    r = owner.put(f"/v1/workspaces/{ws}/scim/group-mappings", json=mappings)
    assert r.status_code == 200, r.text
    got = r.json()
    assert [(m["group"], m["role"]) for m in got] == [(m["group"], m["role"]) for m in mappings], got
    read = owner.get(f"/v1/workspaces/{ws}/scim/group-mappings")
    assert read.status_code == 200, read.text
    assert [(m["group"], m["role"]) for m in read.json()] == [(m["group"], m["role"]) for m in mappings]
    return got


class Directory:
    """A workspace wired to a directory: owner, project, mappings, SCIM token."""

    def __init__(self, srv, name="Directory Co", mappings=True):
        self.srv = srv
        self.owner = srv.signup(name="Owner " + name)
        self.ws = self.owner.create_workspace(name)["id"]
        r = self.owner.post(f"/v1/workspaces/{self.ws}/projects", json={"name": "Analytics"})
        assert r.status_code == 201, r.text
        self.prj = r.json()["id"]
        if mappings:
            put_mappings(self.owner, self.ws, MAPPINGS(self.prj))
        tok = create_token(self.owner, self.ws)
        self.token, self.token_id, self.base_url = tok["token"], tok["id"], tok["base_url"]
        self.logins = {}   # email -> signed-in Client of an account provisioned by the directory
        self.own_ws = {}   # email -> a workspace that account owns (to show other sessions keep working)

    # -- plain SCIM calls for the Python-side tests
    def call(self, method, path, token=..., session=None, **kw):
        headers = {"Accept": SCIM_JSON, **kw.pop("headers", {})}
        token = self.token if token is ... else token
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        if "json" in kw:
            kw["data"] = json.dumps(kw.pop("json")).encode()
            headers.setdefault("Content-Type", SCIM_JSON)
        kw.setdefault("timeout", 60)
        return (session or requests).request(method, self.base_url + path, headers=headers, **kw)

    def create_user(self, email, session=None, **extra):
        body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": email,
                "name": {"givenName": "Dir", "familyName": "User"},
                "emails": [{"primary": True, "type": "work", "value": email}], "active": True, **extra}
        return self.call("POST", "/Users", session=session, json=body)

    def linked_account(self, tag="linked"):
        """A verified account that owns a workspace of its own; the directory links it."""
        c = self.srv.signup(email=unique_email(tag), name="Ada Linked")
        verify_email(self.srv, c)
        self.logins[c.email] = c
        self.own_ws[c.email] = c.create_workspace("Own Workspace")["id"]
        return c

    def members(self):
        r = self.owner.get(f"/v1/workspaces/{self.ws}/members", params={"limit": 200})
        assert r.status_code == 200, r.text
        return r.json()["data"]

    def member(self, email):
        found = [m for m in self.members() if m["email"].lower() == email.lower()]
        return found[0] if found else None

    def events(self, action):
        r = self.owner.get(f"/v1/workspaces/{self.ws}/audit-logs", params={"action": action, "limit": 200})
        assert r.status_code == 200, r.text
        return r.json()["data"]

    def variables(self, linked):
        u2 = unique_email("scim-two")
        return {"u1_email": linked.email, "u2_email": u2, "u2_email_upper": u2.upper(),
                "u3_email": unique_email("scim-three"), "prj": self.prj, "ws": self.ws,
                "u1_ext": str(uuid.uuid4()), "u2_ext": str(uuid.uuid4()), "u3_ext": str(uuid.uuid4()),
                "dup_ext": str(uuid.uuid4()), "eng_ext": str(uuid.uuid4()), "adm_ext": str(uuid.uuid4()),
                "probe_guid": str(uuid.uuid4())}


# --- check hooks: fn(replay, **args); replay.context["dir"] is the Directory -------------------

def _dir(replay):
    return replay.context["dir"]


def hook_member(replay, email, role=None, status=None, directory_managed=None, project=None,
                project_role=None):
    d = _dir(replay)
    m = d.member(email)
    assert m is not None, f"{email} is not in the members list: {d.members()}"
    if role is not None:
        assert m["role"] == role, m
    if status is not None:
        assert m.get("status") == status, m
    if directory_managed is not None:
        assert m.get("directory_managed") is directory_managed, m
    if project is not None:
        grants = {p["project_id"]: p["role"] for p in m.get("projects", [])}
        assert project in grants, m
        if project_role is not None:
            assert grants[project] == project_role, m


def hook_not_member(replay, email):
    d = _dir(replay)
    assert d.member(email) is None, d.member(email)


def hook_password_login(replay, email):
    r = _dir(replay).srv.client().post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, f"the account's own password no longer signs in: {r.text}"


def hook_audit(replay, action, target=None):
    events = _dir(replay).events(action)
    assert events, f"no {action} event"
    assert all(e["action"] == action for e in events), events
    if target is not None:
        assert any(target in json.dumps(e) for e in events), f"no {action} event names {target}: {events}"


def hook_no_audit(replay, action):
    assert _dir(replay).events(action) == []


def hook_role_changed(replay, email):
    d = _dir(replay)
    usr = d.member(email)["user_id"]
    events = [e for e in d.events("member.role_changed") if (e.get("target") or {}).get("id") == usr]
    assert events, f"no member.role_changed for {usr}"
    assert all(e["details"].get("via") == "scim" for e in events), events


def hook_make_key(replay, email, var):
    d = _dir(replay)
    r = d.logins[email].post(f"/v1/workspaces/{d.ws}/api-keys", json={"name": "replay key"})
    assert r.status_code == 201, r.text
    replay.vars[var] = r.json()["key"]


def verify_key(srv, key):
    r = requests.post(srv.url + "/v1/keys/verify", json={"key": key, "endpoint": "/v1/chat"}, timeout=15)
    assert r.status_code == 200, r.text
    return r.json()


def hook_key(replay, var, code):
    body = verify_key(_dir(replay).srv, replay.vars[var])
    assert body["code"] == code, body
    assert body["valid"] is (code == "VALID"), body


def hook_access(replay, email, expect):
    """expect: ok | deactivated (403 member_deactivated, reads and writes) | gone (not a member).
    Whatever the state, the same session keeps working for the account's own workspace."""
    d = _dir(replay)
    c = d.logins[email]
    r = c.get(f"/v1/workspaces/{d.ws}")
    if expect == "ok":
        assert r.status_code == 200, r.text
    elif expect == "deactivated":
        assert_problem(r, 403, "member_deactivated")
        w = c.post(f"/v1/workspaces/{d.ws}/api-keys", json={"name": "while deactivated"})
        assert_problem(w, 403, "member_deactivated")
    else:
        assert r.status_code in (403, 404), r.text
        me = c.get("/v1/me")
        assert me.status_code == 200, me.text
        assert d.ws not in [m["workspace_id"] for m in me.json()["memberships"]], me.json()
    own = c.get(f"/v1/workspaces/{d.own_ws[email]}")
    assert own.status_code == 200, own.text


HOOKS = {
    "member": hook_member, "not_member": hook_not_member, "password_login": hook_password_login,
    "audit": hook_audit, "no_audit": hook_no_audit, "role_changed": hook_role_changed,
    "make_key": hook_make_key, "key": hook_key, "access": hook_access,
}
