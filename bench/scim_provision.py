#!/usr/bin/python3
"""Provisioning N users through the SCIM server of a running gatehouse (issue 17).

Starts the binary given (SQLite in a temp dir, or the PostgreSQL URL in GATEHOUSE_BENCH_PG),
makes a workspace and a SCIM token, then replays what Okta does for each new user:
GET /Users?filter=userName eq "…" (not found), then POST /Users — an account, a membership,
the directory record and two audit events in one transaction. C clients at a time (default
8). Then one group gets every user in PATCHes of 1,000 members (role re-evaluation of each),
and a full-list page walk (count=1000) is timed.
  /usr/bin/python3 bench/scim_provision.py build-bench/gatehouse [N] [C]
"""
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

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


def main():
    binary = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    clients = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    work = tempfile.mkdtemp()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cfg = os.path.join(work, "c.toml")
    with open(cfg, "w") as f:
        f.write("default_plan = \"bench\"\n[limits]\nscim_requests_per_workspace_per_minute = 0\n"
                "[[plans]]\nid = \"bench\"\nname = \"Bench\"\nmember_limit = 1000000\n")
    db = os.environ.get("GATEHOUSE_BENCH_PG") or f"sqlite:{work}/g.db"
    server = subprocess.Popen([binary, "serve", "--db", db, "--listen", f"127.0.0.1:{port}",
                               "--public-url", base, "--config", cfg],
                              stdout=subprocess.DEVNULL, stderr=open(f"{work}/err.log", "wb"))
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
        run = os.urandom(4).hex()  # a store may be reused (bench/run.sh's PostgreSQL)
        r = owner.post(base + "/v1/auth/signup", json={"email": f"owner-{run}@bench.test",
                                                       "password": "correct horse battery",
                                                       "name": "Owner"})
        csrf = {"X-CSRF-Token": r.json()["csrf_token"]}
        ws = owner.post(base + "/v1/workspaces", json={"name": "Bench"}, headers=csrf).json()["id"]
        t = owner.post(base + f"/v1/workspaces/{ws}/scim/tokens", json={"name": "bench"},
                       headers=csrf).json()
        scim = t["base_url"]
        hdr = {"Authorization": "Bearer " + t["token"], "Content-Type": "application/scim+json"}
        owner.put(base + f"/v1/workspaces/{ws}/scim/group-mappings", headers=csrf,
                  json=[{"group": "Everyone", "role": "developer"}])
        local = __import__("threading").local()

        def session():
            if not hasattr(local, "s"):
                local.s = requests.Session()
            return local.s

        def provision(i):
            s = session()
            email = f"user{i:06d}-{run}@bench.test"
            t0 = time.perf_counter()
            r = s.get(scim + "/Users", headers=hdr,
                      params={"filter": f'userName eq "{email}"', "startIndex": 1, "count": 100})
            assert r.status_code == 200 and r.json()["totalResults"] == 0, r.text
            r = s.post(scim + "/Users", headers=hdr, json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": email,
                "name": {"givenName": "User", "familyName": str(i)},
                "emails": [{"primary": True, "value": email, "type": "work"}],
                "password": "ignored-by-gatehouse", "active": True})
            assert r.status_code == 201, r.text
            return (time.perf_counter() - t0) * 1000, r.json()["id"]

        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            results = list(pool.map(provision, range(n)))
        elapsed = time.perf_counter() - started
        ms = [r[0] for r in results]
        ids = [r[1] for r in results]
        print(f"machine: {os.cpu_count()} cores; store {db.split(':')[0]}; {clients} clients")
        print(f"provision {n} users (lookup + create): {elapsed:.1f} s, {n / elapsed:.0f} users/s; "
              f"per user p50 {pct(ms, 50):.2f} ms p99 {pct(ms, 99):.2f} ms "
              f"mean {statistics.mean(ms):.2f} ms")

        g = requests.post(scim + "/Groups", headers=hdr, json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Everyone",
            "members": []}).json()
        started = time.perf_counter()
        for k in range(0, n, 1000):
            r = requests.patch(scim + f"/Groups/{g['id']}", headers=hdr, json={
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "members",
                                "value": [{"value": x} for x in ids[k:k + 1000]]}]})
            assert r.status_code == 200, r.text
        elapsed = time.perf_counter() - started
        print(f"group add of {n} members in PATCHes of 1,000 (each re-evaluating roles): "
              f"{elapsed:.1f} s")
        started = time.perf_counter()
        seen = 0
        start = 1
        while True:
            r = requests.get(scim + "/Users", headers=hdr, params={"startIndex": start, "count": 1000})
            page = r.json()["Resources"]
            seen += len(page)
            if len(page) < 1000:
                break
            start += 1000
        elapsed = time.perf_counter() - started
        print(f"list all {seen} users, pages of 1,000: {elapsed:.2f} s")
        roles = owner.get(base + f"/v1/workspaces/{ws}/members", params={"limit": 100},
                          headers=csrf).json()["data"]
        assert any(m["role"] == "developer" for m in roles)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
