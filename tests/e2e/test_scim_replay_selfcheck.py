"""The SCIM replay engine (scim_replay.py) checked against a stub HTTP server, without gatehouse:
requests go out as the sequence says (query encoding, headers, bearer token, substituted bodies),
captures feed later steps, and a wrong status, content type, error shape or expectation fails
with the step's name, the request and the answer."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import scim_replay as replay


class Stub:
    def __init__(self):
        self.seen = []
        self.answers = []  # (status, content type, body) popped per request
        stub = self

        class H(BaseHTTPRequestHandler):
            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                stub.seen.append((self.command, self.path, dict(self.headers), self.rfile.read(n)))
                status, ctype, body = stub.answers.pop(0)
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/scim/v2/ws_1"

    def close(self):
        self.httpd.shutdown()


@pytest.fixture
def stub():
    s = Stub()
    yield s
    s.close()


SCIM = "application/scim+json"


def test_requests_captures_and_expectations(stub):
    stub.answers = [
        (200, SCIM, {"schemas": [replay.LIST_URN], "totalResults": 0, "Resources": []}),
        (201, SCIM + "; charset=utf-8", {"id": "abc 1", "userName": "A@x.test", "active": True}),
        (204, SCIM, None),
    ]
    r = replay.Replay(stub.url, "scim_secret", headers={"Content-Type": SCIM, "User-Agent": "T"},
                      query_encoding="percent", variables={"email": "a@x.test", "flag": False})
    r.run([
        {"name": "lookup", "method": "GET", "path": "/Users",
         "query": {"filter": 'userName eq "{email}"', "startIndex": 1, "count": 100},
         "expect_status": 200, "expect": {"/totalResults": 0, "/Resources": {"$len": 0}}},
        {"name": "create", "method": "POST", "path": "/Users", "body": {"userName": "{email}", "active": "{flag}"},
         "expect_status": 201, "capture": {"uid": "/id"},
         "expect": {"/userName": {"$ieq": "{email}"}, "/active": True, "/password": {"$absent": True}}},
        {"name": "patch", "method": "PATCH", "path": "/Users/{uid}", "body": {"id": "{uid}"},
         "expect_status": [200, 204]},
    ])
    (m1, p1, h1, _), (m2, p2, h2, b2), (m3, p3, _, b3) = stub.seen
    assert (m1, p1) == ("GET", "/scim/v2/ws_1/Users?filter=userName%20eq%20%22a%40x.test%22&startIndex=1&count=100")
    assert h1["Authorization"] == "Bearer scim_secret" and h1["User-Agent"] == "T"
    assert (m2, p2, h2["Content-Type"]) == ("POST", "/scim/v2/ws_1/Users", SCIM)
    assert json.loads(b2) == {"userName": "a@x.test", "active": False}  # "{flag}" keeps its JSON type
    assert (m3, p3.startswith("/scim/v2/ws_1/Users/abc"), json.loads(b3)) == ("PATCH", True, {"id": "abc 1"})


def test_plus_encoding(stub):
    stub.answers = [(200, SCIM, {"totalResults": 0})]
    r = replay.Replay(stub.url, "t", query_encoding="plus", variables={"g": "Engineering"})
    r.run([{"name": "q", "method": "GET", "path": "/Groups",
            "query": {"excludedAttributes": "members", "filter": 'displayName eq "{g}"'}, "expect_status": 200}])
    assert stub.seen[0][1] == "/scim/v2/ws_1/Groups?excludedAttributes=members&filter=displayName+eq+%22Engineering%22"


@pytest.mark.parametrize("answer,why", [
    ((500, SCIM, {"schemas": [replay.ERROR_URN], "status": "500"}), "status 500, expected 200"),
    ((200, "application/json", {"totalResults": 1}), "Content-Type 'application/json'"),
    ((200, SCIM, {"totalResults": 2}), "/totalResults: expected 1; got 2"),
], ids=["status", "content-type", "expectation"])
def test_failures_name_the_step_and_show_both_sides(stub, answer, why):
    stub.answers = [answer]
    r = replay.Replay(stub.url, "scim_verysecrettoken")
    with pytest.raises(replay.ReplayError) as e:
        r.run([{"name": "the step", "method": "GET", "path": "/Users", "expect_status": 200,
                "expect": {"/totalResults": 1}}])
    text = str(e.value)
    assert "the step" in text and why in text and "GET http://" in text and "--- response" in text
    assert "scim_verysecrettoken" not in text


def test_error_answers_must_be_scim_shaped(stub):
    stub.answers = [(409, SCIM, {"detail": "dup", "status": 409})]
    with pytest.raises(replay.ReplayError, match="SCIM Error schema"):
        replay.Replay(stub.url, "t").run([{"name": "dup", "method": "POST", "path": "/Users", "body": {},
                                           "expect_status": 409}])
    stub.answers = [(409, SCIM, {"schemas": [replay.ERROR_URN], "detail": "dup", "status": 409})]
    with pytest.raises(replay.ReplayError, match="must be the string '409'"):
        replay.Replay(stub.url, "t").run([{"name": "dup", "method": "POST", "path": "/Users", "body": {},
                                           "expect_status": 409}])


def test_check_hooks_get_substituted_arguments():
    got = []
    r = replay.Replay("http://unused", "t", hooks={"h": lambda rp, **kw: got.append(kw)}, variables={"x": "1"})
    r.run([{"name": "c", "check": "h", "args": {"a": "{x}", "b": ["{x}"]}}])
    assert got == [{"a": "1", "b": ["1"]}]


def test_validate_catches_unknown_variables_and_bodies_on_204():
    base = {"client": "c", "sources": ["s"], "headers": {}, "inputs": ["a"]}
    with pytest.raises(ValueError, match="before they are provided"):
        replay.validate({**base, "steps": [{"name": "x", "method": "GET", "path": "/Users/{b}", "expect_status": 200}]})
    with pytest.raises(ValueError, match="204 has no body"):
        replay.validate({**base, "steps": [{"name": "x", "method": "DELETE", "path": "/Users/{a}",
                                            "expect_status": 204, "expect": {"/id": 1}}]})
    replay.validate({**base, "steps": [
        {"name": "x", "method": "POST", "path": "/Users", "body": {}, "expect_status": 201, "capture": {"b": "/id"}},
        {"name": "y", "method": "GET", "path": "/Users/{b}", "expect_status": 200}]})
