"""Real identity providers for the SSO end-to-end tests, on loopback, and the browser's part of
a login through them.

- `SamlIdp`: a pysaml2 SAML 2.0 IdP (idp/saml_idp.py, run with /usr/bin/python3).
- `OidcProvider`: an OpenID Provider on npm oidc-provider 9 (idp/oidc_op.mjs, run with node).
- `saml_login`, `oidc_login`: walk a login from Gatehouse's authorize URL through the IdP and
  back, as a browser would, with a requests.Session; `read_saml_form` reads the IdP's
  auto-submit form.

Both classes start their process in the constructor (on a free port chosen by the child) and are
context managers; `stop()` ends the process (SIGTERM, then SIGKILL). Processes still running at
interpreter exit are killed by an atexit guard, and each child also exits by itself within half a
second of its parent dying.
"""
import atexit
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
IDP_DIR = os.path.join(HERE, "idp")
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
REDIRECTS = (301, 302, 303, 307, 308)

_live = set()
_live_lock = threading.Lock()


def _kill_all():
    with _live_lock:
        children = list(_live)
    for child in children:
        child.stop()


atexit.register(_kill_all)


def _origin(url):
    u = urlsplit(url)
    return f"{u.scheme}://{u.netloc}".lower()


class _Child:
    """A child process that prints "listening URL" as its first stdout line when ready."""

    name = "child"
    health_path = "/"

    def _spawn(self, cmd, workdir, owns_workdir, start_timeout):
        self.workdir = workdir
        self._owns_workdir = owns_workdir
        self.log_path = os.path.join(workdir, f"{self.name}.log")
        self._log = open(self.log_path, "wb")
        self._http = requests.Session()
        self._http.trust_env = False  # never through a proxy from the environment
        self.proc = subprocess.Popen(
            cmd + ["--parent-pid", str(os.getpid())],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log, cwd=IDP_DIR)
        with _live_lock:
            _live.add(self)
        try:
            self.base_url = self._read_listening_line(start_timeout)
            self._wait_healthy(start_timeout)
        except BaseException:
            self.stop()
            raise

    def _read_listening_line(self, timeout):
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
            raise RuntimeError(f"{self.name} did not start (exit code {self.proc.poll()}); "
                               f"stdout {buf[:500]!r}; log:\n{self.log()}")
        return line.split(" ", 1)[1].rstrip("/")

    def _wait_healthy(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            try:
                r = self._http.get(self.base_url + self.health_path, timeout=2)
                if r.status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} at {self.base_url} did not answer "
                                   f"{self.health_path}; log:\n{self.log()}")
            time.sleep(0.05)

    def log(self):
        """What the child wrote to stderr so far."""
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def _control(self, method, path, **kw):
        r = self._http.request(method, self.base_url + path, timeout=10, **kw)
        if r.status_code != 200:
            raise RuntimeError(f"{self.name} {method} {path}: {r.status_code} {r.text[:1000]}")
        return r

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
        if getattr(self, "_owns_workdir", False):
            shutil.rmtree(self.workdir, ignore_errors=True)
            self._owns_workdir = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __del__(self):
        try:
            self.stop()
        except Exception:
            pass


class SamlIdp(_Child):
    """A real SAML 2.0 IdP (pysaml2) on 127.0.0.1. Signs with RSA-SHA256 / SHA-256; the
    assertion is signed, the Response not (see set_options).

    Attributes: base_url ("http://127.0.0.1:PORT"), entity_id (base_url + "/metadata"), sso_url
    (HTTP-Redirect SingleSignOnService), certificate_pem (its signing certificate), metadata_xml.
    `workdir` (a temporary directory by default, removed at stop) holds key.pem, cert.pem and
    saml_idp.log (its stderr).
    """

    name = "saml_idp"
    health_path = "/metadata"

    def __init__(self, workdir=None, start_timeout=20.0):
        owns = workdir is None
        workdir = workdir or tempfile.mkdtemp(prefix="saml-idp-")
        os.makedirs(workdir, exist_ok=True)
        self._spawn(["/usr/bin/python3", os.path.join(IDP_DIR, "saml_idp.py"), "--port", "0",
                     "--workdir", workdir], workdir, owns, start_timeout)
        self.entity_id = self.base_url + "/metadata"
        self.sso_url = self.base_url + "/sso/redirect"
        self.metadata_xml = self._control("GET", "/metadata").text
        with open(os.path.join(workdir, "cert.pem")) as f:
            self.certificate_pem = f.read()
        self.certificate_path = os.path.join(workdir, "cert.pem")

    def set_identity(self, email, first_name="", last_name="", groups=(), role=None, name_id=None):
        """The identity of the following logins. NameID is `name_id` or else `email` (format
        emailAddress); attributes email, first_name, last_name (left out when empty), groups
        (one value each, left out when empty) and role (when not None)."""
        body = {"email": email, "first_name": first_name, "last_name": last_name,
                "groups": list(groups), "role": role, "name_id": name_id}
        return self._control("POST", "/__control/identity", json=body).json()["identity"]

    def trust_sp(self, sp_metadata_xml):
        """Trusts the SP(s) of that metadata (an SP's metadata XML, str or bytes); the same entity
        id again replaces the earlier metadata. Returns the trusted entity ids."""
        data = sp_metadata_xml.encode() if isinstance(sp_metadata_xml, str) else sp_metadata_xml
        return self._control("POST", "/__control/sp", data=data,
                             headers={"Content-Type": "application/samlmetadata+xml"}).json()["trusted"]

    def set_options(self, sign_response=False, sign_assertion=True):
        body = {"sign_response": bool(sign_response), "sign_assertion": bool(sign_assertion)}
        return self._control("POST", "/__control/options", json=body).json()["options"]

    def last_response_xml(self):
        """The last Response issued (decoded XML), or None before the first."""
        r = self._http.get(self.base_url + "/__control/last", timeout=10)
        return r.text if r.status_code == 200 else None

    def last_request_xml(self):
        """The last AuthnRequest received (inflated XML), or None before the first."""
        r = self._http.get(self.base_url + "/__control/last_request", timeout=10)
        return r.text if r.status_code == 200 else None


class OidcProvider(_Child):
    """A real OpenID Provider (npm oidc-provider 9) on 127.0.0.1: issuer "http://127.0.0.1:PORT",
    authorization code flow with PKCE S256 required, ID tokens RS256 (ES256 per client),
    userinfo, claims email, email_verified, name, given_name, family_name, groups (groups always
    in the ID token). Every authorization logs in the current identity (or the one whose email is
    the login_hint) and grants consent without a page.
    """

    name = "oidc_op"
    health_path = "/.well-known/openid-configuration"

    def __init__(self, workdir=None, start_timeout=20.0):
        node = shutil.which("node")
        if not node:
            raise RuntimeError("node is not installed: run `make test-deps`")
        if not os.path.isdir(os.path.join(IDP_DIR, "node_modules", "oidc-provider")):
            subprocess.run(["bash", os.path.join(REPO, "scripts", "e2e-idp-deps.sh")], check=True,
                           stdout=sys.stderr)
        owns = workdir is None
        workdir = workdir or tempfile.mkdtemp(prefix="oidc-op-")
        os.makedirs(workdir, exist_ok=True)
        self._spawn([node, os.path.join(IDP_DIR, "oidc_op.mjs"), "--port", "0"], workdir, owns,
                    start_timeout)
        self.issuer = self.base_url
        self.discovery_url = self.issuer + "/.well-known/openid-configuration"

    def discovery(self):
        return self._control("GET", "/.well-known/openid-configuration").json()

    def add_client(self, client_id, client_secret, redirect_uris, id_token_alg="RS256",
                   token_endpoint_auth_method=None):
        """Registers (or replaces) a confidential client. With token_endpoint_auth_method None
        the token endpoint takes client_secret_basic and client_secret_post alike."""
        if isinstance(redirect_uris, str):
            redirect_uris = [redirect_uris]
        body = {"client_id": client_id, "client_secret": client_secret,
                "redirect_uris": list(redirect_uris), "id_token_signed_response_alg": id_token_alg}
        if token_endpoint_auth_method:
            body["token_endpoint_auth_method"] = token_endpoint_auth_method
        return self._control("POST", "/__control/client", json=body).json()["client"]

    def set_identity(self, email, name="", given_name="", family_name="", groups=(),
                     email_verified=True, sub=None):
        """The identity of the following logins. Returns it, with its `sub` (by default derived
        from the email, so the same email keeps the same sub)."""
        body = {"email": email, "name": name, "given_name": given_name,
                "family_name": family_name, "groups": list(groups),
                "email_verified": bool(email_verified)}
        if sub:
            body["sub"] = sub
        return self._control("POST", "/__control/identity", json=body).json()["identity"]


class _FormReader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.action = None
        self.fields = {}
        self._in_form = False
        self._done = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self._done:
            return
        if tag == "form" and not self._in_form:
            self._in_form = True
            self.action = a.get("action") or ""
        elif tag == "input" and self._in_form and a.get("name"):
            self.fields[a["name"]] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form" and self._in_form:
            self._in_form = False
            self._done = True


def read_saml_form(html):
    """(action, fields) of the first form in an auto-submit page, values unescaped."""
    p = _FormReader()
    p.feed(html)
    p.close()
    if p.action is None:
        raise AssertionError(f"no form in the page:\n{html[:2000]}")
    return p.action, p.fields


def saml_login(http, authorize_url, timeout=15):
    """A browser's SP-initiated SAML login: GET authorize_url (no redirects followed), expect a
    redirect to the IdP; GET that; read the auto-post form (action, SAMLResponse, RelayState) and
    POST it to the action without following redirects. Returns that response (the ACS's answer)."""
    r = http.get(authorize_url, allow_redirects=False, timeout=timeout)
    if r.status_code not in REDIRECTS:
        raise AssertionError(f"GET {authorize_url}: expected a redirect to the IdP, got "
                             f"{r.status_code}: {r.text[:1000]}")
    idp_url = urljoin(authorize_url, r.headers["Location"])
    page = http.get(idp_url, allow_redirects=False, timeout=timeout)
    if page.status_code != 200:
        raise AssertionError(f"GET {idp_url}: the IdP answered {page.status_code}: {page.text[:1000]}")
    action, fields = read_saml_form(page.text)
    if "SAMLResponse" not in fields:
        raise AssertionError(f"the IdP's form has no SAMLResponse: {fields}")
    return http.post(urljoin(idp_url, action), data=fields, allow_redirects=False, timeout=timeout)


def _is_authorization_request(url):
    q = parse_qs(urlsplit(url).query)
    return "client_id" in q and "response_type" in q


def oidc_login(http, authorize_url, op_origin=None, max_hops=20, timeout=15):
    """A browser's OIDC login: follow redirects by hand from authorize_url (Gatehouse's GET
    /v1/sso/authorize, or the OP's authorization URL itself) through the OP until a redirect
    leaves the OP's origin (the client's callback); GET that callback without following redirects
    and return its response. The OP's origin is `op_origin`, or else that of the first URL of the
    chain that carries client_id and response_type (the authorization request)."""
    url = authorize_url
    op = op_origin.rstrip("/").lower() if op_origin else None
    for _ in range(max_hops):
        if op is None and _is_authorization_request(url):
            op = _origin(url)
        r = http.get(url, allow_redirects=False, timeout=timeout)
        if r.status_code not in REDIRECTS:
            raise AssertionError(f"GET {url}: expected a redirect, got {r.status_code}: {r.text[:1000]}")
        nxt = urljoin(url, r.headers["Location"])
        if op is not None and _origin(nxt) != op:
            return http.get(nxt, allow_redirects=False, timeout=timeout)
        url = nxt
    raise AssertionError(f"no redirect back to the client within {max_hops} hops (last {url})")
