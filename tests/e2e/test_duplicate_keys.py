"""JSON objects naming a key twice are refused (400 `duplicate_key`, the field is the key's
path), at any depth and on every JSON route, the gateway's POST /v1/keys/verify included:
readers disagree on which value wins, so a proxy that checked one value must not have us act
on the other."""
import requests

from ghtest import assert_problem

JSON = {"Content-Type": "application/json"}


def post_raw(client, path, raw):
    return client.post(path, data=raw.encode(), headers=dict(JSON))


def test_duplicate_top_level_key_is_400_naming_it(user):
    r = post_raw(user, "/v1/workspaces", '{"name": "Acme", "name": "Evil Corp"}')
    assert_problem(r, 400, "duplicate_key", "name")
    # Spelled differently, decoded the same: still the same key.
    r = post_raw(user, "/v1/workspaces", '{"name": "Acme", "n\\u0061me": "Evil Corp"}')
    assert_problem(r, 400, "duplicate_key", "name")
    assert user.post("/v1/workspaces", json={"name": "Acme"}).status_code == 201


def test_duplicate_keys_are_refused_before_anything_else(anon):
    r = post_raw(anon, "/v1/auth/login",
                 '{"email": "a@example.com", "password": "x", "password": "y"}')
    assert_problem(r, 400, "duplicate_key", "password")


def test_nested_duplicates_name_their_path(user):
    ws = user.create_workspace("Nested Dupes")
    path = f"/v1/workspaces/{ws['id']}/audit-logs"
    r = post_raw(user, path, '{"action": "report.exported", '
                             '"target": {"type": "report", "id": "r1", "type": "invoice"}}')
    assert_problem(r, 400, "duplicate_key", "target.type")
    r = post_raw(user, path, '{"action": "report.exported", '
                             '"details": {"rows": [{"n": 1}, {"n": 2, "n": 3}]}}')
    assert_problem(r, 400, "duplicate_key", "details.rows[1].n")
    # The same key in sibling objects is no duplicate.
    r = post_raw(user, path, '{"action": "report.exported", '
                             '"details": {"a": {"x": 1}, "b": {"x": 2}, "list": [{"x": 1}, {"x": 2}]}}')
    assert r.status_code == 201, r.text


def test_verify_refuses_a_repeated_field(server, user):
    ws = user.create_workspace("Verify Dupes")
    k = user.post(f"/v1/workspaces/{ws['id']}/api-keys", json={"name": "Gateway"})
    assert k.status_code == 201, k.text
    secret = k.json()["key"]
    url = server.url + "/v1/keys/verify"

    def verify(raw):
        return requests.post(url, data=raw.encode(), headers=JSON, timeout=15)

    ok = verify(f'{{"key":"{secret}","endpoint":"/v1/chat"}}')
    assert ok.status_code == 200 and ok.json()["code"] == "VALID", ok.text
    for raw, field in [
        (f'{{"key":"sk_live_other","key":"{secret}","endpoint":"/v1/chat"}}', "key"),
        (f'{{"key":"{secret}","endpoint":"/v1/admin","endpoint":"/v1/chat"}}', "endpoint"),
        (f'{{"key":"{secret}","endpoint":"/v1/chat","method":"DELETE","method":"GET"}}',
         "method"),
        (f'{{"key":"{secret}","endpoint":"/v1/chat","ip":"1.2.3.4","ip":"10.0.0.1"}}', "ip"),
        (f'{{"key":"{secret}","endpoint":"/v1/chat","\\u0065ndpoint":"/v1/admin"}}', "endpoint"),
    ]:
        assert_problem(verify(raw), 400, "duplicate_key", field)
