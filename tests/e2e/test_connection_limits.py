"""Connections one client can hold: header and idle timeouts, the connection cap, and running
out of descriptors ([limits] max_connections, header_timeout_seconds, idle_connection_seconds).

The soak tests hold the real binary to 256 descriptors, open far more idle sockets than that
(some silent, some with half a request, some with headers and a body that never comes), and
check that /healthz and a signed-in request are still answered within seconds and that the
process burns no CPU meanwhile (no accept loop spinning on EMFILE). The limits' timeouts are
set long here, so that only the cap and the eviction of idle connections can save the server.
"""
import os
import resource
import socket
import time

import pytest
import requests

from ghtest import connect, read_responses, wait_closed

NOFILE = 256
IDLE_SOCKETS = 700
HALF_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
ENDLESS_BODY = (b"POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100\r\n\r\n{")


def limits_config(tmp_path, **limits):
    path = tmp_path / "limits.toml"
    path.write_text("[limits]\n" + "".join(f"{k} = {v}\n" for k, v in limits.items()))
    return ["--config", str(path)]


def cpu_seconds(pid):
    """utime + stime of the process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.fixture
def many_descriptors():
    """Lets this test process open more sockets than its default soft limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = IDLE_SOCKETS + 400
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def open_idle_socket(srv, i):
    s = socket.create_connection(srv.host_port, timeout=5)
    if i % 3 == 1:
        s.sendall(HALF_REQUEST)
    elif i % 3 == 2:
        s.sendall(ENDLESS_BODY)
    return s


def timed(call):
    """(result, seconds) of call()."""
    t = time.monotonic()
    out = call()
    return out, time.monotonic() - t


def fresh_get(srv, path, cookies=None):
    """A GET on a new connection (no pooled keep-alive connection to hide behind)."""
    with requests.Session() as s:
        if cookies:
            s.cookies.update(cookies)
        return s.get(srv.url + path, headers={"Connection": "close"}, timeout=5)


def check_served(srv, cookies, label):
    health, t_health = timed(lambda: fresh_get(srv, "/healthz"))
    me, t_me = timed(lambda: fresh_get(srv, "/v1/me", cookies))
    print(f"{label}: /healthz {health.status_code} in {t_health:.3f}s, "
          f"/v1/me {me.status_code} in {t_me:.3f}s")
    assert health.status_code == 200 and t_health < 3
    assert me.status_code == 200 and t_me < 3


# max_connections = 0: the cap is derived from the descriptor limit. 5000: a cap the descriptor
# limit cannot honour, so the server meets EMFILE and must back off and make room instead.
@pytest.mark.parametrize("max_connections", [0, 5000])
def test_idle_sockets_beyond_the_descriptor_limit_leave_the_server_serving(
        start_server, tmp_path, many_descriptors, max_connections):
    srv = start_server(nofile=NOFILE, extra_args=limits_config(
        tmp_path, max_connections=max_connections, header_timeout_seconds=60,
        idle_connection_seconds=60))
    signed_in = srv.signup()
    cookies = signed_in.s.cookies
    socks = []
    try:
        for i in range(IDLE_SOCKETS):
            socks.append(open_idle_socket(srv, i))
        time.sleep(1)
        check_served(srv, cookies, f"max_connections={max_connections}, saturated")

        # A window while saturated, with a few more idle sockets arriving every second.
        before, started = cpu_seconds(srv.proc.pid), time.monotonic()
        i = 0
        while time.monotonic() - started < 5:
            socks.append(open_idle_socket(srv, i))
            i += 1
            time.sleep(0.05)
        cpu = cpu_seconds(srv.proc.pid) - before
        window = time.monotonic() - started
        print(f"max_connections={max_connections}: {cpu:.2f}s of CPU in {window:.1f}s "
              f"with {len(socks)} idle sockets")
        check_served(srv, cookies, f"max_connections={max_connections}, after the window")
        assert cpu < 1.0, f"the server used {cpu:.2f}s of CPU in {window:.1f}s while idle"
    finally:
        for s in socks:
            s.close()
    if max_connections:
        assert "descriptor limit reached" in srv.logs()


def test_the_connections_idle_longest_make_room_silent_ones_first(start_server, tmp_path):
    srv = start_server(extra_args=limits_config(tmp_path, max_connections=20,
                                                header_timeout_seconds=60,
                                                idle_connection_seconds=60))
    served, silent = [], []
    try:
        for _ in range(10):  # keep-alive connections that have made one request
            s = connect(srv)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_responses(s, 1)[0][0] == 200
            served.append(s)
        for _ in range(40):
            silent.append(connect(srv))
            time.sleep(0.005)
        assert requests.get(srv.url + "/healthz", timeout=5).status_code == 200
        # The oldest silent connections were closed to make room ...
        for s in silent[:25]:
            assert wait_closed(s, timeout=3)
        # ... and every keep-alive connection that had sent a request is still served.
        for s in served:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_responses(s, 1)[0][0] == 200
    finally:
        for s in served + silent:
            s.close()


def test_request_headers_must_arrive_within_the_header_timeout(start_server, tmp_path):
    srv = start_server(extra_args=limits_config(tmp_path, header_timeout_seconds=2,
                                                idle_connection_seconds=60))
    silent = connect(srv)
    slow = connect(srv)
    try:
        started = time.monotonic()
        slow.sendall(b"GET /healthz HTTP/1.1\r\n")
        closed = False
        # Slowloris: one more header line every 300 ms, never the blank line.
        while time.monotonic() - started < 6 and not closed:
            try:
                slow.sendall(b"X-Slow: a\r\n")
            except OSError:
                closed = True
                break
            closed = wait_closed(slow, timeout=0.3)
        elapsed = time.monotonic() - started
        assert closed, "a client trickling headers was never cut off"
        assert 1.5 < elapsed < 4, elapsed
        assert wait_closed(silent, timeout=1)  # a connection that never said anything
    finally:
        silent.close()
        slow.close()


def test_idle_keep_alive_connections_are_closed_after_idle_connection_seconds(
        start_server, tmp_path):
    srv = start_server(extra_args=limits_config(tmp_path, header_timeout_seconds=10,
                                                idle_connection_seconds=3))
    s = connect(srv)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_responses(s, 1)[0][0] == 200
        assert not wait_closed(s, timeout=1.5), "closed before idle_connection_seconds"
        # Still usable, and the idle clock starts again after this request.
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_responses(s, 1)[0][0] == 200
        started = time.monotonic()
        assert wait_closed(s, timeout=6)
        assert 2 < time.monotonic() - started < 5
    finally:
        s.close()
