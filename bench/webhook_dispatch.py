#!/usr/bin/python3
"""Webhook dispatch (issue 18): does a mutation's latency grow with the number of endpoints,
and how many deliveries a second reach a local receiver.

Starts the binary given (SQLite in a temp dir, or GATEHOUSE_BENCH_PG), a receiver on loopback
(Python's threading HTTP server answering 204, so that the receiver is not what is measured),
then:
  1. the latency of one mutation (a host event, POST …/audit-logs: one audit event, one bus
     row) with 0, 1, 5 and 20 endpoints subscribed to every event;
  2. with 20 endpoints, N events posted back to back, and the time until all N × 20
     deliveries have arrived: deliveries/s end to end (bus → dispatcher → signed POST);
  3. notification fan-out: N host-raised notifications whose rule sends in-app and email to
     every member of a workspace of 50 (`gatehouse dev seed-members`), and the time until
     the last one is in the owner's inbox: events/s and rows/s the dispatcher writes (each
     event is one transaction: 50 notifications and 50 mails).
  /usr/bin/python3 bench/webhook_dispatch.py build/gatehouse [N]
"""
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


class Counter:
    def __init__(self):
        self.lock = threading.Lock()
        self.n = 0

    def add(self):
        with self.lock:
            self.n += 1


def receiver(counter):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length", 0)))
            counter.add()
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def fan_out(binary, db, base, owner, n, members=50):
    ws = owner.post(base + "/v1/workspaces", json={"name": "Fan-out"}).json()["id"]
    subprocess.run([binary, "dev", "seed-members", "--db", db, "--workspace", ws,
                    "--count", str(members - 1)], check=True, capture_output=True)
    r = owner.put(base + f"/v1/workspaces/{ws}/notification-rules/bench.finished", json={
        "channels": ["in_app", "email"],
        "recipients": {"roles": ["owner", "admin", "developer", "viewer"], "actor": True}})
    assert r.status_code == 200, r.text
    time.sleep(2.5)  # the membership cache's TTL: the seeded members are seen
    started = time.perf_counter()
    for i in range(n):
        r = owner.post(base + f"/v1/workspaces/{ws}/notification-events",
                       json={"type": "bench.finished", "title": f"Run {i} finished"})
        assert r.status_code == 202, r.text
    posted = time.perf_counter() - started
    while time.perf_counter() - started < 600:
        got = owner.get(base + "/v1/me/notifications", params={"workspace": ws, "limit": 1}).json()
        if got["unread_count"] >= n:
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    print(f"{n} notifications × {members} recipients (in-app + email): posted in {posted:.1f} s, "
          f"all dispatched {elapsed:.1f} s after the first: {n / elapsed:.0f} events/s, "
          f"{2 * n * members / elapsed:.0f} rows/s")


def main():
    binary = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    work = tempfile.mkdtemp()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cfg = os.path.join(work, "c.toml")
    with open(cfg, "w") as f:
        f.write("[limits]\nhost_events_per_workspace_per_minute = 0\n"
                "notification_events_per_workspace_per_hour = 0\n"
                "[webhooks]\nallow_private_networks = true\n")
    db = os.environ.get("GATEHOUSE_BENCH_PG") or f"sqlite:{work}/g.db"
    server = subprocess.Popen([binary, "serve", "--db", db, "--listen", f"127.0.0.1:{port}",
                               "--config", cfg],
                              stdout=subprocess.DEVNULL, stderr=open(f"{work}/err.log", "wb"))
    counter = Counter()
    rx = receiver(counter)
    try:
        for _ in range(200):
            if server.poll() is not None:
                sys.exit(open(f"{work}/err.log").read())
            try:
                if requests.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.05)
        owner = requests.Session()
        run = os.urandom(4).hex()
        r = owner.post(base + "/v1/auth/signup", json={"email": f"owner-{run}@bench.test",
                                                       "password": "correct horse battery",
                                                       "name": "Owner"})
        owner.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        ws = owner.post(base + "/v1/workspaces", json={"name": "Bench"}).json()["id"]
        url = f"http://127.0.0.1:{rx.server_address[1]}/hook"
        print(f"machine: {os.cpu_count()} cores; store {db.split(':')[0]}")

        def mutation():
            t0 = time.perf_counter()
            r = owner.post(base + f"/v1/workspaces/{ws}/audit-logs", json={"action": "report.exported"})
            assert r.status_code == 201, r.text
            return (time.perf_counter() - t0) * 1000

        endpoints = 0
        for target in (0, 1, 5, 20):
            while endpoints < target:
                r = owner.post(base + f"/v1/workspaces/{ws}/webhooks", json={"url": url})
                assert r.status_code == 201, r.text
                endpoints += 1
            time.sleep(1)
            ms = [mutation() for _ in range(300)]
            print(f"one mutation with {target:2d} endpoints: p50 {pct(ms, 50):.2f} ms  "
                  f"p99 {pct(ms, 99):.2f} ms  mean {statistics.mean(ms):.2f} ms")
        # Let the deliveries of the latency runs drain, then measure throughput.
        settled = -1
        while settled != counter.n:
            settled = counter.n
            time.sleep(2)
        start_count = counter.n
        want = n * endpoints
        started = time.perf_counter()
        for _ in range(n):
            mutation()
        posted = time.perf_counter() - started
        while counter.n - start_count < want and time.perf_counter() - started < 600:
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        got = counter.n - start_count
        print(f"{n} events × {endpoints} endpoints = {want} deliveries: posted in {posted:.1f} s, "
              f"all {got} delivered {elapsed:.1f} s after the first: {got / elapsed:.0f} deliveries/s")
        fan_out(binary, db, base, owner, n)
    finally:
        server.terminate()
        server.wait(timeout=30)
        rx.shutdown()


if __name__ == "__main__":
    main()
