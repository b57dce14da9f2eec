"""Every mutating route records its audit event: the test walks the route table served at
/openapi.json, performs each mutation once, and finds its event. A new mutating route fails
this test until it is performed here (or exempted with a reason)."""
import base64
import re
import subprocess
import time
import uuid
import zlib
from urllib.parse import parse_qs, urlsplit

import saml_forge as forge

import requests

from ghtest import (PNG, RESET_LINK_RE, VERIFY_LINK_RE, invite, join, link_from_mail_list,
                    unique_email, wait_for_stored_link)

MUTATING = {"post", "patch", "put", "delete"}
EXEMPT = {
    ("POST", "/v1/check"): "a read-only authorization question; changes nothing",
    ("POST", "/v1/workspaces/{ws}/sso/connections/{sso}/test"):
        "starts a test login; its outcome is recorded (sso.tested) by the ACS below",
    ("POST", "/v1/me/notifications/{ntf}/read"):
        "marks one's own in-app notification read; nothing else changes (test_notifications.py)",
    ("POST", "/v1/me/notifications/read-all"):
        "marks one's own in-app notifications read; nothing else changes (test_notifications.py)",
    ("POST", "/v1/workspaces/{ws}/webhooks/{whk}/deliveries/{msg}/retry"):
        "needs a delivery whose attempts are over; test_webhooks.py retries one and finds its "
        "webhook.delivery_retried event",
}


def test_every_mutating_route_records_its_event(server, tmp_path):
    spec = server.client().get("/openapi.json").json()
    routes = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops if m in MUTATING}
    performed = {}

    def account_actions(user_id):
        out = server.sql("SELECT action FROM audit_events WHERE workspace_id='' AND "
                         f"actor_id='{user_id}' ORDER BY seq DESC LIMIT 5")
        return out.split()

    def ws_actions(ws_id):
        out = server.sql(f"SELECT action FROM audit_events WHERE workspace_id='{ws_id}' "
                         "ORDER BY seq DESC LIMIT 5")
        return out.split()

    def did(method, path, r, status, action, where):
        """Route `method path` answered `status` and recorded `action` in `where()`."""
        assert r.status_code == status, (method, path, r.text)
        actions = where()
        assert action in actions, (method, path, action, actions)
        performed[(method, path)] = action

    # --- the account ------------------------------------------------------------------------
    anon = server.client()
    email = unique_email("every")
    r = anon.post("/v1/auth/signup", json={"email": email, "password": "correct horse battery",
                                             "name": "Eve Every"})
    uid = r.json()["user"]["id"] if r.status_code == 201 else None
    did("POST", "/v1/auth/signup", r, 201, "user.signed_up", lambda: account_actions(uid))
    owner = server.login(email, password="correct horse battery")
    performed[("POST", "/v1/auth/login")] = "session.created"
    assert "session.created" in account_actions(uid)
    did("PATCH", "/v1/me", owner.patch("/v1/me", json={"name": "Eve Renamed"}), 200,
        "user.updated", lambda: account_actions(uid))
    server.login(email, password="correct horse battery")  # a second session to revoke
    other_session = next(s["id"] for s in owner.get("/v1/me/sessions").json()["data"]
                         if not s["current"])
    did("DELETE", "/v1/me/sessions/{ses}", owner.delete(f"/v1/me/sessions/{other_session}"), 204,
        "session.revoked", lambda: account_actions(uid))
    server.login(email, password="correct horse battery")
    did("POST", "/v1/me/sessions/revoke-all", owner.post("/v1/me/sessions/revoke-all"), 200,
        "session.revoked_all", lambda: account_actions(uid))
    leaving = server.login(email, password="correct horse battery")
    did("POST", "/v1/auth/logout", leaving.post("/v1/auth/logout"), 204, "session.revoked",
        lambda: account_actions(uid))
    r = owner.post("/v1/me/mfa/totp")
    did("POST", "/v1/me/mfa/totp", r, 200, "mfa.enrollment_started", lambda: account_actions(uid))
    totp = lambda: subprocess.run(["oathtool", "--totp", "-b", r.json()["secret"]],  # noqa: E731
                                  capture_output=True, text=True, check=True).stdout.strip()
    confirmed = owner.post("/v1/me/mfa/totp/verify", json={"code": totp()})
    did("POST", "/v1/me/mfa/totp/verify", confirmed, 200, "mfa.enabled",
        lambda: account_actions(uid))
    recovery = confirmed.json()["recovery_codes"][0]
    did("DELETE", "/v1/me/mfa/totp", owner.delete("/v1/me/mfa/totp", json={"code": recovery}),
        204, "mfa.disabled", lambda: account_actions(uid))

    # A second account changes its password, then deletes itself (it owns no workspace).
    leaver = server.signup(name="Lee Leaver")
    lid = leaver.user["id"]
    did("POST", "/v1/me/password",
        leaver.post("/v1/me/password", json={"current_password": leaver.password,
                                             "new_password": "another long passphrase"}),
        200, "user.password_changed", lambda: account_actions(lid))
    did("DELETE", "/v1/me",
        leaver.delete("/v1/me", json={"password": "another long passphrase",
                                      "confirm": "DELETE"}),
        204, "user.deleted", lambda: account_actions(lid))

    # A third verifies its address, then forgets its password and resets it.
    verifier = server.signup(name="Reese Reset")
    vid = verifier.user["id"]
    did("POST", "/v1/me/verify-email", verifier.post("/v1/me/verify-email"), 202,
        "user.email_verification_requested", lambda: account_actions(vid))
    _, token = link_from_mail_list(server, verifier.email, VERIFY_LINK_RE)
    did("POST", "/v1/auth/verify-email",
        server.client().post("/v1/auth/verify-email", json={"token": token}), 200,
        "user.email_verified", lambda: account_actions(vid))
    r = server.client().post("/v1/auth/password-reset", json={"email": verifier.email})
    _, token = wait_for_stored_link(server, verifier.email, RESET_LINK_RE)  # mailed off the path
    did("POST", "/v1/auth/password-reset", r, 202, "user.password_reset_requested",
        lambda: account_actions(vid))
    did("POST", "/v1/auth/password-reset/confirm",
        server.client().post("/v1/auth/password-reset/confirm",
                             json={"token": token, "new_password": "a reset long passphrase"}),
        200, "user.password_reset", lambda: account_actions(vid))

    # --- the workspace ----------------------------------------------------------------------
    r = owner.post("/v1/workspaces", json={"name": "Every Co"})
    ws = r.json()
    w = ws["id"]
    base = f"/v1/workspaces/{w}"
    in_ws = lambda: ws_actions(w)  # noqa: E731
    did("POST", "/v1/workspaces", r, 201, "workspace.created", in_ws)
    did("PATCH", "/v1/workspaces/{ws}", owner.patch(base, json={"timezone": "Europe/Paris"}), 200,
        "workspace.updated", in_ws)
    did("POST", "/v1/workspaces/{ws}/logo",
        owner.post(base + "/logo", files={"file": ("l.png", PNG, "image/png")}), 200,
        "workspace.logo_updated", in_ws)
    did("PUT", "/v1/workspaces/{ws}/ip-allowlist",
        owner.put(base + "/ip-allowlist",
                  json={"enabled": False, "entries": [{"cidr": "203.0.113.0/24", "label": "Office"}]}),
        200, "workspace.ip_allowlist_updated", in_ws)

    r = owner.post(base + "/invitations", json={"email": unique_email("inv"), "role": "viewer"})
    inv = r.json()
    did("POST", "/v1/workspaces/{ws}/invitations", r, 201, "member.invited", in_ws)
    did("POST", "/v1/workspaces/{ws}/invitations/{inv}/resend",
        owner.post(f"{base}/invitations/{inv['id']}/resend"), 200, "invitation.resent", in_ws)
    did("DELETE", "/v1/workspaces/{ws}/invitations/{inv}",
        owner.delete(f"{base}/invitations/{inv['id']}"), 200, "invitation.revoked", in_ws)
    did("POST", "/v1/workspaces/{ws}/invitations/bulk",
        owner.post(base + "/invitations/bulk", data=f"email\n{unique_email('bulk')}\n".encode(),
                   headers={"Content-Type": "text/csv"}), 200, "member.invited", in_ws)
    address = unique_email("joiner")
    invite(owner, w, address, role="viewer")
    _, token = link_from_mail_list(server, address)
    r = server.client().post(f"/v1/invitations/{token}/accept",
                             json={"name": "Jo Joiner", "password": "correct horse battery"})
    did("POST", "/v1/invitations/{token}/accept", r, 201, "member.joined", in_ws)
    joiner_id = r.json()["user"]["id"]

    r = owner.post(base + "/roles", json={"name": "Every Role", "permissions": ["workspace.view"]})
    role = r.json()
    did("POST", "/v1/workspaces/{ws}/roles", r, 201, "role.created", in_ws)
    did("PATCH", "/v1/workspaces/{ws}/roles/{role}",
        owner.patch(f"{base}/roles/{role['id']}", json={"name": "Every Role 2"}), 200,
        "role.updated", in_ws)
    did("DELETE", "/v1/workspaces/{ws}/roles/{role}", owner.delete(f"{base}/roles/{role['id']}"),
        204, "role.deleted", in_ws)
    did("PATCH", "/v1/workspaces/{ws}/members/{usr}",
        owner.patch(f"{base}/members/{joiner_id}", json={"role": "developer"}), 200,
        "member.role_changed", in_ws)
    did("POST", "/v1/workspaces/{ws}/members/{usr}/suspend",
        owner.post(f"{base}/members/{joiner_id}/suspend", json={"reason": "Review"}), 200,
        "member.suspended", in_ws)
    did("POST", "/v1/workspaces/{ws}/members/{usr}/unsuspend",
        owner.post(f"{base}/members/{joiner_id}/unsuspend"), 200, "member.unsuspended", in_ws)
    leaver = join(server, owner, w, role="viewer", name="Lee Leaver")
    did("DELETE", "/v1/workspaces/{ws}/members/{usr}",
        owner.delete(f"{base}/members/{leaver.user['id']}"), 204, "member.removed", in_ws)

    r = owner.post(base + "/projects", json={"name": "Every Project"})
    prj = r.json()
    pbase = f"{base}/projects/{prj['id']}"
    did("POST", "/v1/workspaces/{ws}/projects", r, 201, "project.created", in_ws)
    did("PATCH", "/v1/workspaces/{ws}/projects/{prj}", owner.patch(pbase, json={"name": "Every P2"}),
        200, "project.updated", in_ws)
    did("PUT", "/v1/workspaces/{ws}/projects/{prj}/members/{usr}",
        owner.put(f"{pbase}/members/{joiner_id}", json={"role": "viewer"}), 200,
        "project.member_added", in_ws)
    did("DELETE", "/v1/workspaces/{ws}/projects/{prj}/members/{usr}",
        owner.delete(f"{pbase}/members/{joiner_id}"), 204, "project.member_removed", in_ws)
    did("DELETE", "/v1/workspaces/{ws}/projects/{prj}", owner.delete(pbase), 204,
        "project.deleted", in_ws)

    r = owner.post(base + "/api-keys", json={"name": "Every key"})
    key = r.json()
    kbase = f"{base}/api-keys/{key['id']}"
    did("POST", "/v1/workspaces/{ws}/api-keys", r, 201, "api_key.created", in_ws)
    did("PATCH", "/v1/workspaces/{ws}/api-keys/{key}", owner.patch(kbase, json={"name": "Renamed"}),
        200, "api_key.updated", in_ws)
    r = owner.post(kbase + "/rotate", json={"grace_seconds": 0})
    did("POST", "/v1/workspaces/{ws}/api-keys/{key}/rotate", r, 200, "api_key.rotated", in_ws)
    fresh = r.json()["key"]
    r = requests.post(server.url + "/v1/keys/verify", json={"key": fresh, "endpoint": "/v1/chat", "ip": "203.0.113.9"},
                      timeout=15)
    for _ in range(100):  # the first use from an address is recorded off the request path
        if "api_key.new_ip" in ws_actions(w):
            break
        time.sleep(0.05)
    did("POST", "/v1/keys/verify", r, 200, "api_key.new_ip", in_ws)
    did("DELETE", "/v1/workspaces/{ws}/api-keys/{key}", owner.delete(kbase), 200,
        "api_key.revoked", in_ws)
    did("POST", "/v1/workspaces/{ws}/audit-logs",
        owner.post(base + "/audit-logs", json={"action": "report.exported"}), 201,
        "report.exported", in_ws)

    # --- single sign-on (a SAML response signed with a throwaway IdP key) --------------------
    kp = forge.make_keypair(str(tmp_path / "idp"))
    r = owner.post(base + "/sso/connections", json={
        "type": "saml", "provider": "custom", "domains": [f"{uuid.uuid4().hex[:8]}.test"],
        "saml": {"idp_entity_id": "https://idp.every.test", "idp_sso_url": "https://idp.every.test/sso",
                 "idp_certificate": kp.cert_pem}})
    did("POST", "/v1/workspaces/{ws}/sso/connections", r, 201, "sso.connection_created", in_ws)
    conn = r.json()
    sbase = f"{base}/sso/connections/{conn['id']}"
    url = owner.post(sbase + "/test").json()["url"]
    saml_request = zlib.decompress(base64.b64decode(parse_qs(urlsplit(url).query)["SAMLRequest"][0]), -15)
    claims = forge.Claims(idp_entity_id="https://idp.every.test", sp_entity_id=conn["sp"]["entity_id"],
                          acs_url=conn["sp"]["acs_url"], email="t@" + conn["domains"][0],
                          in_response_to=re.search(rb'ID="([^"]+)"', saml_request).group(1).decode())
    r = server.client().post(f"/v1/sso/saml/{conn['id']}/acs", csrf=False, data={
        "SAMLResponse": forge.encode(forge.sign(forge.build_response(claims), kp))})
    did("POST", "/v1/sso/saml/{sso}/acs", r, 302, "sso.tested", in_ws)
    did("PATCH", "/v1/workspaces/{ws}/sso/connections/{sso}",
        owner.patch(sbase, json={"name": "Renamed IdP"}), 200, "sso.updated", in_ws)
    did("DELETE", "/v1/workspaces/{ws}/sso/connections/{sso}", owner.delete(sbase), 204,
        "sso.connection_deleted", in_ws)

    # --- directory sync (SCIM) ----------------------------------------------------------------
    r = owner.post(base + "/scim/tokens", json={"name": "Okta"})
    did("POST", "/v1/workspaces/{ws}/scim/tokens", r, 201, "directory.token_created", in_ws)
    scim = r.json()["base_url"]
    bearer = {"Authorization": "Bearer " + r.json()["token"], "Content-Type": "application/scim+json"}
    did("PUT", "/v1/workspaces/{ws}/scim/group-mappings",
        owner.put(base + "/scim/group-mappings", json=[{"group": "Devs", "role": "developer"}]),
        200, "directory.group_mappings_updated", in_ws)
    r = requests.post(scim + "/Users", headers=bearer, timeout=15, json={
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": unique_email("scim"), "active": True})
    did("POST", "/scim/v2/{ws}/Users", r, 201, "directory.user_created", in_ws)
    scim_user = r.json()
    did("PATCH", "/scim/v2/{ws}/Users/{id}",
        requests.patch(f"{scim}/Users/{scim_user['id']}", headers=bearer, timeout=15, json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": False}}]}),
        200, "directory.user_deactivated", in_ws)
    did("POST", "/v1/workspaces/{ws}/members/{usr}/reactivate",
        owner.post(f"{base}/members/{scim_user['id']}/reactivate", json={"override_directory": True}),
        200, "member.reactivated", in_ws)
    scim_user["name"] = {"givenName": "Put", "familyName": "Replaced"}
    did("PUT", "/scim/v2/{ws}/Users/{id}",
        requests.put(f"{scim}/Users/{scim_user['id']}", headers=bearer, timeout=15, json=scim_user),
        200, "directory.user_updated", in_ws)
    r = requests.post(scim + "/Groups", headers=bearer, timeout=15, json={
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Devs"})
    did("POST", "/scim/v2/{ws}/Groups", r, 201, "directory.group_created", in_ws)
    gid = r.json()["id"]
    did("PATCH", "/scim/v2/{ws}/Groups/{id}",
        requests.patch(f"{scim}/Groups/{gid}", headers=bearer, timeout=15, json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": scim_user["id"]}]}]}),
        200, "directory.group_updated", in_ws)
    did("PUT", "/scim/v2/{ws}/Groups/{id}",
        requests.put(f"{scim}/Groups/{gid}", headers=bearer, timeout=15, json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Devs EU",
            "members": []}),
        200, "directory.group_updated", in_ws)
    did("DELETE", "/scim/v2/{ws}/Groups/{id}",
        requests.delete(f"{scim}/Groups/{gid}", headers=bearer, timeout=15), 204,
        "directory.group_deleted", in_ws)
    did("DELETE", "/scim/v2/{ws}/Users/{id}",
        requests.delete(f"{scim}/Users/{scim_user['id']}", headers=bearer, timeout=15), 204,
        "directory.user_deleted", in_ws)
    token_id = owner.get(base + "/scim/tokens").json()["data"][0]["id"]
    did("DELETE", "/v1/workspaces/{ws}/scim/tokens/{id}", owner.delete(f"{base}/scim/tokens/{token_id}"),
        204, "directory.token_revoked", in_ws)

    # --- notifications -----------------------------------------------------------------------
    did("PUT", "/v1/workspaces/{ws}/notification-rules/{type}",
        owner.put(base + "/notification-rules/member.invited", json={"channels": ["in_app"]}),
        200, "notification_rule.updated", in_ws)
    did("DELETE", "/v1/workspaces/{ws}/notification-rules/{type}",
        owner.delete(base + "/notification-rules/member.invited"), 204,
        "notification_rule.reset", in_ws)
    did("PUT", "/v1/workspaces/{ws}/slack",
        owner.put(base + "/slack", json={"webhook_url": "https://hooks.example.com/services/T0/B0/x"}),
        200, "slack.connected", in_ws)
    # Nobody answers there: the test fails (502) and is recorded all the same.
    did("POST", "/v1/workspaces/{ws}/slack/test", owner.post(base + "/slack/test"), 502,
        "slack.tested", in_ws)
    did("DELETE", "/v1/workspaces/{ws}/slack", owner.delete(base + "/slack"), 204,
        "slack.disconnected", in_ws)
    did("POST", "/v1/workspaces/{ws}/notification-events",
        owner.post(base + "/notification-events",
                   json={"type": "budget.threshold_reached", "title": "80 % of the budget"}),
        202, "notification.raised", in_ws)
    did("PUT", "/v1/me/notification-preferences",
        owner.put("/v1/me/notification-preferences", json={"email": {"system": "daily_digest"}}),
        200, "user.notification_preferences_updated", lambda: account_actions(uid))

    # --- webhooks (to an address nobody answers: only the management is checked here) ---------
    r = owner.post(base + "/webhooks", json={"url": "https://hooks.example.com/in",
                                              "event_types": ["webhook.test"]})
    did("POST", "/v1/workspaces/{ws}/webhooks", r, 201, "webhook.created", in_ws)
    hbase = f"{base}/webhooks/{r.json()['id']}"
    did("PATCH", "/v1/workspaces/{ws}/webhooks/{whk}", owner.patch(hbase, json={"description": "CI"}),
        200, "webhook.updated", in_ws)
    did("POST", "/v1/workspaces/{ws}/webhooks/{whk}/rotate-secret", owner.post(hbase + "/rotate-secret"),
        200, "webhook.secret_rotated", in_ws)
    did("POST", "/v1/workspaces/{ws}/webhooks/{whk}/test", owner.post(hbase + "/test"), 202,
        "webhook.tested", in_ws)
    did("DELETE", "/v1/workspaces/{ws}/webhooks/{whk}", owner.delete(hbase), 204, "webhook.deleted",
        in_ws)

    heir = server.login(address, password="correct horse battery")
    did("POST", "/v1/workspaces/{ws}/transfer-ownership",
        owner.post(base + "/transfer-ownership", json={"user_id": joiner_id}), 200,
        "workspace.ownership_transferred", in_ws)
    did("DELETE", "/v1/workspaces/{ws}", heir.delete(base, json={"confirm": "DELETE"}), 204,
        "workspace.deleted", in_ws)

    missing = routes - set(performed) - set(EXEMPT)
    assert not missing, f"mutating routes without an audit check here: {sorted(missing)}"
    assert not set(performed) - routes, "performed routes the server does not serve"
