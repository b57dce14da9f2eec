"""A webhook receiver for the end-to-end tests (webhook_receiver/receiver.mjs, run with node): it
verifies Standard Webhooks signatures with the official npm `standardwebhooks` library, records
every attempt, answers per a plan set at run time, and sinks Slack messages under /slack/.

    with WebhookReceiver() as rx:
        rx.secrets([secret])                 # the whsec_ secret(s) Gatehouse gave, current first
        rx.plan("/hook", [503, 503, 200])    # then 200
        ... point a webhook at rx.url("/hook") ...
        got = rx.wait_for("/hook", 3, timeout=30)
        assert got[-1]["verified"]

An attempt is a dict {path, query, method, headers (names lower-case), body (text), verified,
verified_with (index into the secrets, or None), verify_error, slack_valid (None outside /slack/),
answered (the status sent), at (Unix seconds)}. Plan entries are statuses or
{status, body?, retry_after?, delay_ms?}. See receiver.mjs for the whole contract.

The process is started in the constructor on a free loopback port; `stop()` ends it (SIGTERM,
then SIGKILL), an atexit guard ends any left running, and the child exits by itself within half
a second of its parent dying.
"""
import atexit
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
RECEIVER_DIR = os.path.join(HERE, "webhook_receiver")

_live = set()
_live_lock = threading.Lock()


@atexit.register
def _stop_all():
    with _live_lock:
        receivers = list(_live)
    for rx in receivers:
        rx.stop()


class WebhookReceiver:
    def __init__(self, start_timeout=20.0):
        node = shutil.which("node")
        if not node:
            raise RuntimeError("node is not installed: run `make test-deps`")
        if not os.path.isdir(os.path.join(RECEIVER_DIR, "node_modules", "standardwebhooks")):
            raise RuntimeError("npm standardwebhooks is missing: run "
                               "`bash scripts/npm-ci.sh tests/e2e/webhook_receiver e2e-webhooks`")
        self._workdir = tempfile.mkdtemp(prefix="webhook-receiver-")
        self.log_path = os.path.join(self._workdir, "receiver.log")
        self._log = open(self.log_path, "wb")
        self._http = requests.Session()
        self._http.trust_env = False  # never through a proxy from the environment
        self.proc = subprocess.Popen(
            [node, os.path.join(RECEIVER_DIR, "receiver.mjs"), "--port", "0",
             "--parent-pid", str(os.getpid())],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log, cwd=RECEIVER_DIR)
        with _live_lock:
            _live.add(self)
        try:
            self.port = self._read_port(start_timeout)
            self.base_url = f"http://127.0.0.1:{self.port}"
            self._control("GET", "/__health")
        except BaseException:
            self.stop()
            raise

    def _read_port(self, timeout):
        deadline = time.monotonic() + timeout
        buf = b""
        fd = self.proc.stdout.fileno()
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                break
            ready, _, _ = select.select([fd], [], [], min(left, 0.1))
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                buf += chunk
        line = buf.split(b"\n", 1)[0].decode(errors="replace").strip()
        if not line.startswith("listening "):
            raise RuntimeError(f"webhook receiver did not start (exit code {self.proc.poll()}); "
                               f"stdout {buf[:500]!r}; log:\n{self.log()}")
        return int(line.split(" ", 1)[1])

    def _control(self, method, path, **kw):
        r = self._http.request(method, self.base_url + path, timeout=10, **kw)
        if r.status_code != 200:
            raise RuntimeError(f"webhook receiver {method} {path}: {r.status_code} {r.text[:1000]}")
        return r.json()

    def url(self, path="/hook"):
        """The URL of `path` on the receiver (give it to Gatehouse as the endpoint)."""
        return self.base_url + path

    def plan(self, path, statuses):
        """Answers for the next attempts at `path`, in order (then 200 / Slack's "ok")."""
        self._control("POST", "/__plan", json={"path": path, "statuses": list(statuses)})

    def secrets(self, secrets, reject_unverified=False):
        """The whsec_ secrets to verify with, current first; with `reject_unverified`, attempts
        that no plan entry answers get 401 when they do not verify."""
        self._control("POST", "/__secrets",
                      json={"secrets": list(secrets), "reject_unverified": reject_unverified})

    def attempts(self, path=None):
        """Every attempt so far at `path` (at every path when None), in arrival order."""
        return self._control("GET", "/__attempts", params={} if path is None else {"path": path})

    def wait_for(self, path, count, timeout=10.0):
        """The attempts at `path` once there are at least `count`; AssertionError after
        `timeout` seconds, listing what did arrive."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.attempts(path)
            if len(got) >= count:
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(got)} attempt(s) at {path} after {timeout} s, "
                                     f"wanted {count}: {got}")
            time.sleep(0.05)

    def reset(self):
        """Forgets attempts, plans and secrets."""
        self._control("POST", "/__reset")

    def log(self):
        """What the receiver wrote to stderr so far."""
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        proc = getattr(self, "proc", None)
        if proc is not None and proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        if proc is not None and proc.stdout is not None and not proc.stdout.closed:
            proc.stdout.close()
        log = getattr(self, "_log", None)
        if log is not None and not log.closed:
            log.close()
        with _live_lock:
            _live.discard(self)
        workdir = getattr(self, "_workdir", None)
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __del__(self):
        try:
            self.stop()
        except Exception:
            pass
