#!/usr/bin/python3
"""Login latency through the SAML ACS of a running gatehouse (issue 16).

Starts the binary given (SQLite in a temp dir, --public-url its real URL, pinned to core 0
with --threads 1 unless NO_PIN is set), makes a SAML connection that trusts a throwaway key,
then for N logins: GET /v1/sso/authorize (not timed), signs a response to that request with
xmlsec1 (not timed), and times the POST to the ACS — signature check, request use, JIT
account on the first login, membership, session and audit events in one transaction. Then N responses tampered
after signing (refused at the signature check: what the check itself costs, plus the
refusal's audit write) and a concurrent run of genuine logins.
  /usr/bin/python3 bench/sso_acs.py build-bench/gatehouse [N]
"""
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "e2e"))
import requests  # noqa: E402

import saml_forge as forge  # noqa: E402
from test_sso_forged import request_id_of  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def report(name, ms):
    print(f"{name:44s} n={len(ms):4d}  p50 {pct(ms, 50):6.2f} ms  p90 {pct(ms, 90):6.2f} ms  "
          f"p99 {pct(ms, 99):6.2f} ms  max {max(ms):6.2f} ms  mean {statistics.mean(ms):6.2f} ms")


def main():
    binary = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    work = tempfile.mkdtemp()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cfg = os.path.join(work, "c.toml")
    with open(cfg, "w") as f:
        f.write("[limits]\nsso_requests_per_ip_per_minute = 0\nsignups_per_ip_per_hour = 0\n")
    pin = [] if os.environ.get("NO_PIN") else ["taskset", "-c", "0"]
    server = subprocess.Popen(pin + [binary, "serve", "--db", f"sqlite:{work}/g.db", "--listen",
                                     f"127.0.0.1:{port}", "--public-url", base, "--threads", "1",
                                     "--config", cfg],
                              stdout=subprocess.DEVNULL, stderr=open(f"{work}/err.log", "wb"))
    try:
        for _ in range(200):
            try:
                if requests.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.05)
        owner = requests.Session()
        r = owner.post(base + "/v1/auth/signup", json={"email": "owner@bench.test",
                                                       "password": "correct horse battery",
                                                       "name": "Owner"})
        csrf = {"X-CSRF-Token": r.json()["csrf_token"]}
        ws = owner.post(base + "/v1/workspaces", json={"name": "Bench"}, headers=csrf).json()["id"]
        kp = forge.make_keypair(os.path.join(work, "idp"))
        idp = "https://idp.bench.test/metadata"
        conn = owner.post(base + f"/v1/workspaces/{ws}/sso/connections", headers=csrf, json={
            "type": "saml", "provider": "custom", "domains": ["bench.test"],
            "saml": {"idp_entity_id": idp, "idp_sso_url": "https://idp.bench.test/sso",
                     "idp_certificate": kp.cert_pem}}).json()

        def claims(request_id, local):
            return forge.Claims(idp_entity_id=idp, sp_entity_id=conn["sp"]["entity_id"],
                                acs_url=conn["sp"]["acs_url"], in_response_to=request_id,
                                email=f"{local}@bench.test",
                                attributes={"first_name": ["Bench"], "groups": ["eng"]})

        acs = base + f"/v1/sso/saml/{conn['id']}/acs"
        url = owner.post(base + f"/v1/workspaces/{ws}/sso/connections/{conn['id']}/test",
                         headers=csrf).json()["url"]
        requests.post(acs, data={"SAMLResponse": forge.encode(
            forge.sign(forge.build_response(claims(request_id_of(url), "t")), kp))})
        owner.patch(base + f"/v1/workspaces/{ws}/sso/connections/{conn['id']}",
                    json={"status": "active"}, headers=csrf).raise_for_status()

        def prepared(count, tamper=False):
            out = []
            for _ in range(count):
                loc = requests.get(base + f"/v1/sso/authorize?connection={conn['id']}",
                                   allow_redirects=False).headers["Location"]
                # One member signing in again and again: the plan's seat limit stops JIT of
                # hundreds of new people, and a returning member is the common case.
                xml = forge.sign(forge.build_response(claims(request_id_of(loc), "member")), kp)
                if tamper:
                    xml = forge.tamper_after_signing(xml, "mallory@bench.test")
                out.append({"SAMLResponse": forge.encode(xml)})
            return out

        print(f"== SAML ACS, {os.cpu_count()} cores; server {'pinned to core 0, ' if pin else ''}"
              f"--threads 1, SQLite; responses signed RSA-2048/SHA-256")
        genuine = prepared(n)
        http = requests.Session()
        ms = []
        for form in genuine:
            t = time.perf_counter()
            r = http.post(acs, data=form, allow_redirects=False)
            ms.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 302, r.text
        report("login through the ACS (returning member)", ms)
        forged = prepared(n, tamper=True)
        ms = []
        for form in forged:
            t = time.perf_counter()
            r = http.post(acs, data=form, allow_redirects=False)
            ms.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 403, r.text
        report("refused at the signature (tampered)", ms)
        concurrent = prepared(n)
        lock = threading.Lock()
        ms = []

        def worker(forms):
            s = requests.Session()
            for form in forms:
                t = time.perf_counter()
                r = s.post(acs, data=form, allow_redirects=False)
                with lock:
                    ms.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 302, r.text

        threads = [threading.Thread(target=worker, args=(concurrent[i::8],)) for i in range(8)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        report("8 concurrent clients, logins", ms)
        print(f"{'throughput':44s} {len(ms) / elapsed:.0f} logins/s")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
