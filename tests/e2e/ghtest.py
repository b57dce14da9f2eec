"""Helpers for the end-to-end tests: start the real `gatehouse` binary, talk HTTP to it.

Imported by conftest.py and the test modules (pytest puts this directory on sys.path).
"""
import email
import email.policy
import os
import re
import signal
import socket
import subprocess
import threading
import time
import uuid
from urllib.parse import urlsplit

import requests

LISTENING_RE = re.compile(r"Gatehouse is listening on (http://\S+)")
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
PASSWORD = "correct horse battery staple"
CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"

# The suite's servers sign up hundreds of accounts (and ask for many password resets) from
# 127.0.0.1 within minutes, and re-send invitations back to back: the per-IP limits and the
# resend cooldown are lifted for them. Tests of the limits (test_abuse.py and others) pass a
# --config of their own, which replaces this one and keeps the defaults.
TEST_CONFIG = """[limits]
signups_per_ip_per_hour = 0
password_resets_per_ip_per_hour = 0
invitation_resend_cooldown_seconds = 0
sso_requests_per_ip_per_minute = 0
scim_auth_failures_per_ip_per_minute = 0
"""

# Smallest headers that the server recognises by magic bytes and whose dimensions it reads
# (1×1): PNG's IHDR, a JPEG frame header after APP0, a lossy WebP frame header.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00\x00\x00\x01" * 2 + b"\x00" * 56
JPEG = (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 9 +
        b"\xff\xc0\x00\x11\x08\x00\x01\x00\x01\x03" + b"\x00" * 49)
WEBP = (b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00" + b"\x00" * 3 + b"\x9d\x01\x2a" +
        b"\x01\x00\x01\x00" + b"\x00" * 50)


def binary():
    path = os.environ.get("GATEHOUSE_BIN") or os.path.join(
        os.path.dirname(__file__), "..", "..", "build", "gatehouse")
    path = os.path.abspath(path)
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"gatehouse binary not found at {path}; set GATEHOUSE_BIN")
    return path


def unique_email(tag="user"):
    return f"{tag}-{uuid.uuid4().hex[:16]}@example.com"


class Server:
    """One `gatehouse serve` process on a free loopback port."""

    def __init__(self, db, workdir, extra_args=(), listen="127.0.0.1:0", nofile=None):
        self.db = db
        self.nofile = nofile  # RLIMIT_NOFILE (soft and hard) of the process, when given
        self.workdir = str(workdir)
        self.extra_args = list(extra_args)
        self.listen = listen
        self.proc = None
        self.url = None
        self.stdout_lines = []
        self._listening = threading.Event()
        self._reader = None
        self._stderr = None

    def start(self, timeout=20.0):
        # The suite must not pick up the developer's or CI's own configuration.
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
        os.makedirs(self.workdir, exist_ok=True)
        self._stderr = open(os.path.join(self.workdir, "stderr.log"), "wb")
        args = list(self.extra_args)
        if "--config" not in args:
            path = os.path.join(self.workdir, "test-limits.toml")
            with open(path, "w") as f:
                f.write(TEST_CONFIG)
            args += ["--config", path]
        cmd = [binary(), "serve", "--listen", self.listen, "--db", self.db, *args]
        preexec = None
        if self.nofile:
            import resource
            preexec = lambda: resource.setrlimit(resource.RLIMIT_NOFILE,  # noqa: E731
                                                 (self.nofile, self.nofile))
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr,
                                     stdin=subprocess.DEVNULL, env=env, preexec_fn=preexec)
        # Drain stdout (the access log goes there too) so that the server never blocks on it.
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while not self._listening.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError(f"gatehouse did not start: {' '.join(cmd)}\n{self.stderr()}")
        while True:
            try:
                if requests.get(self.url + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gatehouse never answered /healthz\n" + self.stderr())
            time.sleep(0.05)
        return self

    def _read_stdout(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.stdout_lines.append(line)
            m = LISTENING_RE.search(line)
            if m and not self._listening.is_set():
                self.url = m.group(1)
                self._listening.set()

    @property
    def host_port(self):
        u = urlsplit(self.url)
        return u.hostname, u.port

    def stop(self, sig=signal.SIGTERM, timeout=8.0):
        """Sends `sig` and returns the exit code, or None when the process did not exit."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        if self._reader:
            self._reader.join(timeout=5)
        if self._stderr:
            self._stderr.close()
        return rc

    def stderr(self):
        try:
            with open(os.path.join(self.workdir, "stderr.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def client(self, ua=None):
        return Client(self.url, ua=ua)

    def logs(self):
        """Everything the process wrote: stdout (access log included) and stderr."""
        return "\n".join(self.stdout_lines) + "\n" + self.stderr()

    @property
    def db_path(self):
        assert self.db.startswith("sqlite:"), self.db
        return self.db[len("sqlite:"):]

    def sql(self, statement):
        """Runs one statement on the server's SQLite file with the sqlite3 command line tool."""
        r = subprocess.run(["sqlite3", "-cmd", ".timeout 5000", self.db_path, statement],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def mail_list(self, limit=1000):
        """The output of `gatehouse mail list` on this server's store."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
        r = subprocess.run([binary(), "mail", "list", "--db", self.db, "--limit", str(limit)],
                           capture_output=True, text=True, timeout=30, env=env)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def signup(self, email=None, password=PASSWORD, name="Test User", ua=None):
        """A new account; returns a Client signed in with its cookie and CSRF token."""
        c = self.client(ua=ua)
        email = email or unique_email()
        r = c.post("/v1/auth/signup", json={"email": email, "password": password, "name": name})
        assert r.status_code == 201, r.text
        body = r.json()
        c.csrf = body["csrf_token"]
        c.user = body["user"]
        c.email = body["user"]["email"]
        c.password = password
        return c

    def login(self, email, password=PASSWORD, ua=None):
        c = self.client(ua=ua)
        r = c.post("/v1/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        c.csrf = r.json()["csrf_token"]
        c.user = r.json()["user"]
        c.email = c.user["email"]
        c.password = password
        return c


class Client:
    """A requests.Session bound to one server; adds X-CSRF-Token to every request once known."""

    def __init__(self, base, ua=None):
        self.base = base
        self.s = requests.Session()
        if ua:
            self.s.headers["User-Agent"] = ua
        self.csrf = None
        self.user = None
        self.email = None
        self.password = None

    @property
    def token(self):
        return self.s.cookies.get("gh_session")

    def request(self, method, path, csrf=True, **kw):
        headers = dict(kw.pop("headers", None) or {})
        if csrf and self.csrf and "X-CSRF-Token" not in headers:
            headers["X-CSRF-Token"] = self.csrf
        kw.setdefault("timeout", 15)
        kw.setdefault("allow_redirects", False)
        return self.s.request(method, self.base + path, headers=headers, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def create_workspace(self, name="Acme Inc", **fields):
        r = self.post("/v1/workspaces", json={"name": name, **fields})
        assert r.status_code == 201, r.text
        return r.json()


def assert_problem(r, status, code, field=None):
    """Asserts an RFC 9457 problem+json answer with this status, `code` and first error field."""
    assert r.status_code == status, f"expected {status} {code}, got {r.status_code}: {r.text}"
    ctype = r.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip() == "application/problem+json", ctype
    body = r.json()
    assert body["status"] == status, body
    assert body["code"] == code, body
    assert isinstance(body.get("type"), str) and body["type"], body
    assert isinstance(body.get("title"), str) and body["title"], body
    if field is not None:
        assert body.get("errors"), body
        assert body["errors"][0]["field"] == field, body
        assert body["errors"][0]["message"], body
    return body


# --- raw sockets --------------------------------------------------------------------------

def connect(server, timeout=5.0):
    s = socket.create_connection(server.host_port, timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_responses(sock, count, timeout=10.0):
    """Reads `count` HTTP/1.1 responses (Content-Length framed) from `sock`.

    Returns a list of (status, headers with lower-case names, body bytes). Stops early when
    the peer closes.
    """
    sock.settimeout(timeout)
    buf = b""
    out = []
    while len(out) < count:
        head_end = buf.find(b"\r\n\r\n")
        if head_end >= 0:
            head = buf[:head_end].decode("latin-1").split("\r\n")
            status = int(head[0].split(" ")[1])
            headers = {}
            for line in head[1:]:
                k, _, v = line.partition(":")
                headers.setdefault(k.strip().lower(), v.strip())
            length = int(headers.get("content-length", "0"))
            if len(buf) >= head_end + 4 + length:
                body = buf[head_end + 4:head_end + 4 + length]
                out.append((status, headers, body))
                buf = buf[head_end + 4 + length:]
                continue
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    return out


def wait_closed(sock, timeout=10.0):
    """True when the peer closes `sock` (EOF or reset) within `timeout` seconds."""
    sock.settimeout(timeout)
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def metric_value(text, name, **labels):
    """The value of the first sample `name{labels...}` in Prometheus text, or None."""
    values = metric_values(text, name, **labels)
    return values[0] if values else None


def metric_values(text, name, **labels):
    """The values of every sample of `name` whose labels include `labels`."""
    out = []
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        if all(got.get(k) == v for k, v in labels.items()):
            out.append(float(m.group(4)))
    return out


# --- mail and invitations -----------------------------------------------------------------

INVITE_LINK_RE = re.compile(r"(https?://[^\s\"<>]+/accept-invite\?token=([A-Za-z0-9_\-]+)[^\s\"<>]*)")
INVITE_MESSAGE = "Invitation sent to {}. You can change their role after they join."


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_with_public_url(start, smtp_url=None, extra_args=(), db=None):
    """Starts a server on a port chosen here, so that --public-url can be its real URL."""
    for attempt in range(5):
        port = free_port()
        args = ["--public-url", f"http://127.0.0.1:{port}", *extra_args]
        if smtp_url:
            args += ["--smtp", smtp_url]
        try:
            return start(db=db, extra_args=args, listen=f"127.0.0.1:{port}")
        except RuntimeError:
            if attempt == 4:  # the port was taken in between, five times in a row
                raise


class SmtpSink:
    """A real SMTP server (Debian's aiosmtpd) on loopback that keeps every message it receives.

    Each message is an `email.message.EmailMessage` with `.envelope_to` and `.envelope_from`.
    """

    def __init__(self, port=None):
        self.port = port or free_port()
        self.messages = []
        self._cond = threading.Condition()
        self._controller = None

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        msg = email.message_from_bytes(envelope.original_content or envelope.content,
                                       policy=email.policy.default)
        msg.envelope_to = list(envelope.rcpt_tos)
        msg.envelope_from = envelope.mail_from
        with self._cond:
            self.messages.append(msg)
            self._cond.notify_all()
        return "250 Message accepted for delivery"

    def start(self):
        from aiosmtpd.controller import Controller
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"

    def to(self, address):
        with self._cond:
            return [m for m in self.messages if address in m.envelope_to]

    def wait_for(self, address, count=1, timeout=10.0):
        """The `count`-th message delivered to `address` (polls, bounded by `timeout`)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [m for m in self.messages if address in m.envelope_to]
                if len(got) >= count:
                    return got[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no message #{count} for {address} within {timeout}s; "
                        f"got {[m.envelope_to for m in self.messages]}")
                self._cond.wait(left)


def mail_parts(msg):
    """(text, html) of a multipart/alternative message, decoded."""
    assert msg.get_content_type() == "multipart/alternative", msg.get_content_type()
    text = html = None
    for part in msg.iter_parts():
        ctype = part.get_content_type()
        assert part["Content-Transfer-Encoding"].lower() == "base64", part["Content-Transfer-Encoding"]
        if ctype == "text/plain":
            text = part.get_content()
        elif ctype == "text/html":
            html = part.get_content()
    assert text is not None and html is not None, msg
    return text, html


def link_in(text):
    """(link, token) of the accept link in a mail body."""
    m = INVITE_LINK_RE.search(text)
    assert m, f"no accept link in:\n{text}"
    return m.group(1), m.group(2)


def link_from_mail_list(server, address, link_re=None):
    """(link, token) in the newest stored mail to `address` that has one, read from `gatehouse
    mail list`: an invitation's accept link by default, else a match of `link_re` (whose
    group 1 is the link, group 2 the token)."""
    link_re = link_re or INVITE_LINK_RE
    for block in server.mail_list().split("\n--- "):
        if f"\nTo: {address}\n" in block:
            m = link_re.search(block)
            if m:
                return m.group(1), m.group(2)
    raise AssertionError(f"no stored mail with a link to {address}")


VERIFY_LINK_RE = re.compile(r"(https?://[^\s\"<>]+/verify-email\?token=([A-Za-z0-9_\-]+))")
RESET_LINK_RE = re.compile(r"(https?://[^\s\"<>]+/reset-password\?token=([A-Za-z0-9_\-]+))")


def wait_for_stored_link(server, address, link_re, count=1, timeout=10.0):
    """(link, token) of the `count`-th newest stored mail to `address` with a `link_re` link,
    polling `gatehouse mail list` (reset mails are queued by a background job)."""
    deadline = time.monotonic() + timeout
    while True:
        found = []
        for block in server.mail_list().split("\n--- "):
            m = link_re.search(block) if f"\nTo: {address}\n" in block else None
            if m:
                found.append((m.group(1), m.group(2)))
        if len(found) >= count:
            return found[count - 1]
        if time.monotonic() > deadline:
            raise AssertionError(f"no stored mail #{count} with {link_re.pattern} to {address}")
        time.sleep(0.1)


def mailed_token(mailbox, address, link_re, count=1):
    """The token of the `count`-th mail to `address` (through SMTP) with a `link_re` link."""
    seen = 0
    for n in range(1, 100):
        text, _ = mail_parts(mailbox.wait_for(address, count=n))
        m = link_re.search(text)
        if m:
            seen += 1
            if seen == count:
                return m.group(2)
    raise AssertionError(f"no mail #{count} with {link_re.pattern} to {address}")


def verify_email(server, client, mailbox=None):
    """Verifies `client`'s address with the link mailed at sign-up: read from `mailbox` (the
    SMTP sink) when given, else from `gatehouse mail list`."""
    if mailbox is not None:
        token = mailed_token(mailbox, client.email, VERIFY_LINK_RE)
    else:
        _, token = link_from_mail_list(server, client.email, VERIFY_LINK_RE)
    r = server.client().post("/v1/auth/verify-email", json={"token": token})
    assert r.status_code == 200, r.text
    return client


def invite(client, ws_id, email_address, role=None, **fields):
    body = {"email": email_address, **fields}
    if role is not None:
        body["role"] = role
    r = client.post(f"/v1/workspaces/{ws_id}/invitations", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def accept_as_new(server, token, name="Invited Person", password=PASSWORD):
    """Accepts an invitation by creating the account; returns the signed-in client."""
    c = server.client()
    r = c.post(f"/v1/invitations/{token}/accept", json={"name": name, "password": password})
    assert r.status_code == 201, r.text
    body = r.json()
    c.csrf = body["csrf_token"]
    c.user = body["user"]
    c.email = body["user"]["email"]
    c.password = password
    return c


def join(server, inviter, ws_id, role=None, name="New Member", link_for=None):
    """A new account that joined `ws_id` through an invitation; returns its signed-in client.

    `link_for(email)` returns (link, token); by default it reads `gatehouse mail list`, which
    works for servers started without --smtp.
    """
    address = unique_email("joiner")
    invite(inviter, ws_id, address, role=role)
    _, token = (link_for or (lambda a: link_from_mail_list(server, a)))(address)
    return accept_as_new(server, token, name=name)
