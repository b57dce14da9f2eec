"""Every class of bad input gets problem+json with a stable code, never a crash; and
Idempotency-Key replays."""
import base64
import json

import pytest

from ghtest import assert_problem, connect, read_responses

JSON = {"Content-Type": "application/json"}


def post_raw(client, path, data, headers=JSON, **kw):
    return client.post(path, data=data, headers=dict(headers), **kw)


@pytest.mark.parametrize("data", [b"{", b'{"name": "x",}', b"{'name': 'x'}", b"nul", b"{}{}",
                                  b'{"name": "x"} trailing'])
def test_malformed_json_is_400(user, data):
    assert_problem(post_raw(user, "/v1/workspaces", data), 400, "malformed_json")


@pytest.mark.parametrize("data", [b'{"name": "\xff\xfe"}', b'{"name": "\xc3\x28"}',
                                  b'{"name": "\xed\xa0\x80"}', b'{"name": "\xc0\xaf"}'])
def test_invalid_utf8_is_400(user, data):
    assert_problem(post_raw(user, "/v1/workspaces", data), 400, "invalid_utf8")


@pytest.mark.parametrize("data", [b"[]", b'[{"name": "x"}]', b'"name"', b"42", b"null"])
def test_non_object_json_is_400(user, data):
    assert_problem(post_raw(user, "/v1/workspaces", data), 400, "malformed_json")


@pytest.mark.parametrize("data", [
    b'{"name": ' + b"[" * 30000 + b"]" * 30000 + b"}",
    b"[" * 60000,
    b'{"a":' * 10000 + b"1" + b"}" * 10000,
])
def test_deeply_nested_json_is_refused_without_crashing(server, user, data):
    r = post_raw(user, "/v1/workspaces", data)
    assert r.status_code in (400, 422), r.text
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert user.get("/healthz").status_code == 200


def test_signup_malformed_json_is_400(anon):
    assert_problem(post_raw(anon, "/v1/auth/signup", b'{"email":'), 400, "malformed_json")
    assert_problem(post_raw(anon, "/v1/auth/login", b"[]"), 400, "malformed_json")


@pytest.mark.parametrize("value", [5, True, ["x"], {"a": 1}, 1.5])
def test_wrong_type_is_422_naming_the_field(user, value):
    r = user.post("/v1/workspaces", json={"name": value})
    assert_problem(r, 422, "invalid_type", "name")


def test_unknown_field_is_422_naming_the_field(user):
    r = user.post("/v1/workspaces", json={"name": "Fine Name", "colour": "red"})
    assert_problem(r, 422, "unknown_field", "colour")


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded",
                                   "multipart/form-data; boundary=x", None])
def test_non_json_content_type_is_415(user, ctype):
    headers = {} if ctype is None else {"Content-Type": ctype}
    r = user.post("/v1/workspaces", data=b'{"name": "Plain Text"}', headers=headers)
    assert_problem(r, 415, "unsupported_media_type")
    assert "Plain Text" not in user.get("/v1/workspaces").text


def test_json_content_type_with_charset_is_accepted(user):
    r = user.post("/v1/workspaces", data=b'{"name": "Charset Co"}',
                  headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 201, r.text


def test_body_over_64_kib_is_413(user):
    body = json.dumps({"name": "x" * (64 * 1024)}).encode()
    assert_problem(post_raw(user, "/v1/workspaces", body), 413, "body_too_large")
    # The connection was closed, the server is fine and the session still works.
    assert user.get("/v1/me").status_code == 200


def test_body_just_under_64_kib_reaches_validation(user):
    body = json.dumps({"name": "x" * (64 * 1024 - 100)}).encode()
    assert len(body) <= 64 * 1024
    assert_problem(post_raw(user, "/v1/workspaces", body), 422, "invalid_name", "name")


def test_chunked_body_over_64_kib_is_413(user):
    def chunks():
        yield b'{"name": "'
        for _ in range(80):
            yield b"x" * 1024
        yield b'"}'
    assert_problem(post_raw(user, "/v1/workspaces", chunks()), 413, "body_too_large")


def test_oversized_body_is_refused_before_it_is_sent(server):
    """A huge Content-Length is refused from the headers alone (no need to send the body)."""
    s = connect(server)
    try:
        s.sendall(b"POST /v1/auth/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 10000000\r\nX-Request-Id: big-1\r\n\r\n")
        (status, headers, body), = read_responses(s, 1)
    finally:
        s.close()
    assert status == 413
    assert json.loads(body)["code"] == "body_too_large"
    assert headers["content-type"].startswith("application/problem+json")
    assert headers.get("x-content-type-options") == "nosniff"


@pytest.mark.parametrize("path", ["/v1/nothing", "/v1/workspaces/ws_x/nothing-here", "/healthz/",
                                  "/v1//me", "/V1/ME", "/v1/me/sessions/ses_x/extra"])
def test_unknown_routes_are_404(anon, path):
    assert_problem(anon.get(path), 404, "route_not_found")


def test_wrong_method_has_allow_header(user):
    ws = user.create_workspace("Method Co")
    r = user.put(f"/v1/workspaces/{ws['id']}/logo", data=b"")
    assert_problem(r, 405, "method_not_allowed")
    assert {m.strip() for m in r.headers["Allow"].split(",")} == {"GET", "HEAD", "POST"}
    r = user.request("PATCH", "/v1/me/sessions")
    assert_problem(r, 405, "method_not_allowed")
    assert {m.strip() for m in r.headers["Allow"].split(",")} == {"GET", "HEAD"}


@pytest.mark.parametrize("ws_id", ["ws_1", "ws_" + "0" * 21, "ws_" + "0" * 23, "WS_" + "0" * 22,
                                   "ws-" + "0" * 22, "ws_" + "é" * 11, "12345"])
def test_malformed_ids_are_404(user, ws_id):
    assert_problem(user.get(f"/v1/workspaces/{ws_id}"), 404, "not_found")
    assert_problem(user.get(f"/v1/workspaces/{ws_id}/audit-logs"), 404, "not_found")
    assert_problem(user.patch(f"/v1/workspaces/{ws_id}", json={"name": "Nope"}), 404, "not_found")


@pytest.mark.parametrize("target", [b"/v1/workspaces/%zz", b"/v1/workspaces/ws_%00",
                                    b"/v1/me%", b"/healthz%4"])
def test_broken_percent_encoding_and_nul_in_path_are_400(server, target):
    # A raw socket: HTTP clients would "fix" such targets before sending them.
    s = connect(server)
    try:
        s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nX-Request-Id: bad-path\r\n\r\n")
        (status, headers, body), = read_responses(s, 1)
    finally:
        s.close()
    assert status == 400
    assert headers["content-type"].startswith("application/problem+json")
    assert json.loads(body)["code"] == "malformed_path"


def test_percent_encoded_path_is_routed_after_decoding(user):
    ws = user.create_workspace("Encoded Co")
    encoded = "".join(f"%{ord(c):02X}" for c in ws["id"])
    r = user.get(f"/v1/workspaces/{encoded}")
    assert r.status_code == 200 and r.json()["id"] == ws["id"]


# --- Idempotency-Key ----------------------------------------------------------------------

def test_idempotent_create_returns_the_first_response(user):
    key = {"Idempotency-Key": "create-ws-1"}
    r1 = user.post("/v1/workspaces", json={"name": "Once Only"}, headers=key)
    r2 = user.post("/v1/workspaces", json={"name": "Once Only"}, headers=key)
    assert r1.status_code == 201 and r2.status_code == 201, (r1.text, r2.text)
    assert r2.json()["id"] == r1.json()["id"]
    assert r2.json() == r1.json()
    assert r2.headers["Content-Type"].startswith("application/json")
    names = [w["name"] for w in user.get("/v1/workspaces").json()["data"]]
    assert names.count("Once Only") == 1
    events = user.get(f"/v1/workspaces/{r1.json()['id']}/audit-logs").json()["data"]
    # one workspace, created once: its event and its publishable key's
    assert [e["action"] for e in events] == ["api_key.created", "workspace.created"]


def test_idempotency_key_reused_with_a_different_body_is_422(user):
    key = {"Idempotency-Key": "create-ws-2"}
    assert user.post("/v1/workspaces", json={"name": "First Body"}, headers=key).status_code == 201
    r = user.post("/v1/workspaces", json={"name": "Second Body"}, headers=key)
    assert_problem(r, 422, "idempotency_key_reused")
    names = [w["name"] for w in user.get("/v1/workspaces").json()["data"]]
    assert names == ["First Body"]


def test_idempotency_keys_are_per_user(user, other_user):
    key = {"Idempotency-Key": "shared-key"}
    mine = user.post("/v1/workspaces", json={"name": "Same Key"}, headers=key)
    theirs = other_user.post("/v1/workspaces", json={"name": "Same Key"}, headers=key)
    assert mine.status_code == 201 and theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert other_user.get(f"/v1/workspaces/{mine.json()['id']}").status_code == 404


def test_idempotent_replay_of_an_error(user):
    key = {"Idempotency-Key": "bad-create"}
    r1 = user.post("/v1/workspaces", json={"name": "A"}, headers=key)
    r2 = user.post("/v1/workspaces", json={"name": "A"}, headers=key)
    assert_problem(r1, 422, "invalid_name", "name")
    assert r2.status_code == 422 and r2.json()["code"] == "invalid_name"


def test_different_idempotency_keys_create_twice(user):
    a = user.post("/v1/workspaces", json={"name": "Twice"}, headers={"Idempotency-Key": "k-a"})
    b = user.post("/v1/workspaces", json={"name": "Twice"}, headers={"Idempotency-Key": "k-b"})
    assert a.json()["id"] != b.json()["id"]


def test_idempotency_key_too_long_is_400(user):
    r = user.post("/v1/workspaces", json={"name": "Long Key"},
                  headers={"Idempotency-Key": "k" * 256})
    assert_problem(r, 400, "invalid_idempotency_key")


@pytest.mark.parametrize("payload", [b"m1:9999999999999999999:mem_x", b"m1:99999999999999999999:mem_x",
                                     b"m1::mem_x", b"m1:12a:mem_x"])
def test_members_cursor_out_of_range_is_400(user, payload):
    """19 digits overflowed the joined_at parse (signed overflow, found by fuzz/fuzz_cursor.cpp)."""
    ws = user.create_workspace("Cursor Co")
    cursor = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    r = user.get(f"/v1/workspaces/{ws['id']}/members", params={"cursor": cursor})
    assert_problem(r, 400, "invalid_cursor", "cursor")
