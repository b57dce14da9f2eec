"""The HTTP server itself: pipelining, slow and hostile clients, limits, graceful shutdown,
and the access log."""
import json
import signal
import socket
import time

import pytest
import requests

from ghtest import (PASSWORD, connect, metric_values, read_responses, unique_email, wait_closed)


def test_pipelined_requests_are_answered_in_order(server):
    s = connect(server)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: first\r\n\r\n"
                  b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: second\r\n\r\n"
                  b"GET /nope HTTP/1.1\r\nHost: x\r\nX-Request-Id: third\r\n\r\n")
        got = read_responses(s, 3)
    finally:
        s.close()
    assert [g[0] for g in got] == [200, 200, 404]
    assert [g[1]["x-request-id"] for g in got] == ["first", "second", "third"]
    assert json.loads(got[0][2]) == {"status": "ok"}
    assert json.loads(got[2][2])["code"] == "route_not_found"


def test_pipelined_post_with_body_then_get(server):
    body = json.dumps({"email": unique_email(), "password": PASSWORD, "name": "Pipe"}).encode()
    s = connect(server)
    try:
        s.sendall(b"POST /v1/auth/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body +
                  b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        got = read_responses(s, 2)
    finally:
        s.close()
    assert [g[0] for g in got] == [201, 200]
    assert got[0][1]["set-cookie"].startswith("gh_session=")


def test_http_1_0_without_keep_alive_is_closed_after_the_response(server):
    s = connect(server)
    try:
        s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        (status, _, body), = read_responses(s, 1)
        assert status == 200 and json.loads(body) == {"status": "ok"}
        assert wait_closed(s, timeout=5)
    finally:
        s.close()


def test_slow_client_does_not_block_others(server):
    slow = [connect(server) for _ in range(20)]
    try:
        for i, s in enumerate(slow):
            s.sendall(b"GET /hea" if i % 2 else b"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"em")
        for _ in range(5):
            assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
        c = server.signup()
        assert c.get("/v1/me").status_code == 200
        # The half-sent request line still completes into a normal answer.
        slow[1].sendall(b"lthz HTTP/1.1\r\nHost: x\r\n\r\n")
        (status, _, _), = read_responses(slow[1], 1)
        assert status == 200
    finally:
        for s in slow:
            s.close()


@pytest.mark.parametrize("garbage", [
    b"\x00\x01\x02\x03\xff\xfe\r\n\r\n",
    b"HELLO\r\n\r\n",
    b"GET / HTTP/9.9\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost x\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    b"POST /v1/auth/login HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)),  # a TLS hello
])
def test_garbage_on_a_raw_socket_is_refused_and_the_server_survives(server, garbage):
    s = connect(server)
    try:
        s.sendall(garbage)
        got = read_responses(s, 1)
        if got:  # an answer is optional for garbage, but if there is one it is a 4xx problem
            status, headers, body = got[0]
            assert 400 <= status < 500, (status, body)
            assert headers.get("x-content-type-options") == "nosniff"
            assert json.loads(body)["code"]
        assert wait_closed(s, timeout=5)
    finally:
        s.close()
    assert requests.get(server.url + "/healthz", timeout=5).status_code == 200


def test_unparseable_request_gets_a_400_problem(server):
    s = connect(server)
    try:
        s.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        (status, headers, body), = read_responses(s, 1)
    finally:
        s.close()
    assert status == 400
    assert headers["content-type"].startswith("application/problem+json")
    assert json.loads(body)["code"] == "malformed_request"
    assert headers.get("x-request-id")


EARLY_REQUESTS = {
    # Refused by the server before routing: oversized body, undecodable path.
    "body_too_large": b"POST /v1/workspaces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                      b"\r\nContent-Length: 10000000\r\n",
    "malformed_path": b"GET /v1/workspaces/%zz HTTP/1.1\r\nHost: x\r\n",
}


@pytest.mark.parametrize("kind", sorted(EARLY_REQUESTS))
def test_request_id_is_echoed_on_early_refusals(server, kind):
    s = connect(server)
    try:
        s.sendall(EARLY_REQUESTS[kind] + b"X-Request-Id: early-" + kind.encode() + b"\r\n\r\n")
        (status, headers, body), = read_responses(s, 1)
    finally:
        s.close()
    assert json.loads(body)["code"] == kind
    assert headers.get("x-request-id") == "early-" + kind
    assert json.loads(body).get("request_id") == "early-" + kind


@pytest.mark.parametrize("kind", sorted(EARLY_REQUESTS))
def test_request_id_is_unique_on_early_refusals_without_one(server, kind):
    ids = []
    for _ in range(2):
        s = connect(server)
        try:
            s.sendall(EARLY_REQUESTS[kind] + b"\r\n")
            (status, headers, body), = read_responses(s, 1)
        finally:
            s.close()
        assert json.loads(body)["code"] == kind
        ids.append(headers.get("x-request-id"))
    assert all(ids) and ids[0] != ids[1], ids


def test_early_refusals_are_counted_in_metrics(server):
    """/metrics counts requests by status: a 413 refused from its headers is a request too."""
    def refused_413():
        text = requests.get(server.url + "/metrics", timeout=5).text
        return sum(metric_values(text, "gatehouse_http_requests_total", status="413"))
    before = refused_413()
    s = connect(server)
    try:
        s.sendall(EARLY_REQUESTS["body_too_large"] + b"\r\n")
        assert read_responses(s, 1)[0][0] == 413
    finally:
        s.close()
    assert refused_413() >= before + 1


def test_client_that_connects_and_vanishes(server):
    for _ in range(20):
        s = connect(server)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.sendall(b"GET /heal")
        s.close()  # reset
    assert requests.get(server.url + "/healthz", timeout=5).status_code == 200


def test_oversized_headers_are_431(server):
    s = connect(server)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (20 * 1024) + b"\r\n\r\n")
        (status, headers, body), = read_responses(s, 1)
    finally:
        s.close()
    assert status == 431
    assert json.loads(body)["code"] == "headers_too_large"
    assert requests.get(server.url + "/healthz", timeout=5).status_code == 200


def test_large_cookie_header_within_limit_is_fine(server):
    r = requests.get(server.url + "/healthz", headers={"X-Pad": "a" * 8000}, timeout=5)
    assert r.status_code == 200


def test_expect_100_continue_with_oversized_body_gets_413_without_sending_it(server):
    s = connect(server)
    try:
        s.sendall(b"POST /v1/workspaces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1000000\r\nExpect: 100-continue\r\n\r\n")
        (status, _, body), = read_responses(s, 1)
    finally:
        s.close()
    assert status == 413
    assert json.loads(body)["code"] == "body_too_large"


def test_expect_100_continue_is_honoured(server):
    body = json.dumps({"email": unique_email(), "password": PASSWORD, "name": "Continue"}).encode()
    s = connect(server)
    try:
        s.sendall(b"POST /v1/auth/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Expect: 100-continue\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
        (status, _, _), = read_responses(s, 1)
        assert status == 100
        s.sendall(body)
        (status, _, _), = read_responses(s, 1)
        assert status == 201
    finally:
        s.close()


# --- shutdown -----------------------------------------------------------------------------

def test_sigterm_while_idle_exits_cleanly(start_server):
    srv = start_server()
    assert requests.get(srv.url + "/healthz", timeout=5).status_code == 200
    assert srv.stop(signal.SIGTERM, timeout=8) == 0


def test_sigint_exits_cleanly(start_server):
    srv = start_server()
    assert srv.stop(signal.SIGINT, timeout=8) == 0


def test_sigterm_with_idle_keep_alive_connections_exits_cleanly(start_server):
    srv = start_server()
    socks = [connect(srv) for _ in range(5)]
    try:
        for s in socks:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_responses(s, 1)[0][0] == 200
        # Also a connection that never said anything.
        socks.append(connect(srv))
        assert srv.stop(signal.SIGTERM, timeout=8) == 0
        for s in socks:
            assert wait_closed(s, timeout=2)
    finally:
        for s in socks:
            s.close()


def test_sigterm_finishes_the_request_in_flight(start_server):
    srv = start_server()
    body = json.dumps({"email": unique_email(), "password": PASSWORD, "name": "In Flight"}).encode()
    s = connect(srv)
    try:
        head = (b"POST /v1/auth/signup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Expect: 100-continue\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
        s.sendall(head)
        # "100 Continue" proves the server has read the headers: the request is in flight.
        assert read_responses(s, 1)[0][0] == 100
        s.sendall(body[:10])
        srv.proc.send_signal(signal.SIGTERM)
        # New connections are refused once the server drains.
        deadline = time.monotonic() + 5
        refused = False
        while time.monotonic() < deadline and not refused:
            try:
                socket.create_connection(srv.host_port, timeout=1).close()
                time.sleep(0.05)
            except OSError:
                refused = True
        assert refused, "the server kept accepting connections after SIGTERM"
        s.sendall(body[10:])
        got = read_responses(s, 1)
        assert got and got[0][0] == 201, got
        assert got[0][1].get("connection", "").lower() == "close"
        assert wait_closed(s, timeout=5)
    finally:
        s.close()
    assert srv.proc.wait(timeout=8) == 0


def test_access_log_has_one_json_line_per_request_and_no_secrets(start_server):
    srv = start_server()
    c = srv.signup(email=unique_email("logged"))
    token = c.token
    ws = c.create_workspace("Logged Co")
    c.get(f"/v1/workspaces/{ws['id']}", headers={"X-Request-Id": "log-me-1"})
    c.post("/v1/auth/login", json={"email": c.email, "password": "wrong password 123"})
    assert srv.stop(signal.SIGTERM, timeout=8) == 0  # flushes the log
    records = []
    for line in srv.stdout_lines:
        if line.startswith("{"):
            records.append(json.loads(line))
    requests_logged = [r for r in records if r.get("msg") == "request"]
    assert len(requests_logged) >= 5
    by_id = {r["request_id"]: r for r in requests_logged}
    rec = by_id["log-me-1"]
    assert rec["method"] == "GET"
    assert rec["route"] == "/v1/workspaces/{ws}"
    assert rec["status"] == 200
    assert isinstance(rec["duration_us"], int)
    routes = {(r["method"], r["route"], r["status"]) for r in requests_logged}
    assert ("POST", "/v1/auth/signup", 201) in routes
    assert ("POST", "/v1/auth/login", 401) in routes
    everything = "\n".join(srv.stdout_lines) + srv.stderr()
    for secret in (PASSWORD, "wrong password 123", token, c.csrf):
        assert secret not in everything
