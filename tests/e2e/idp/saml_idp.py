#!/usr/bin/python3
"""A real SAML 2.0 identity provider (pysaml2, Debian's python3-pysaml2) for Gatehouse's
end-to-end SSO tests.

    /usr/bin/python3 tests/e2e/idp/saml_idp.py --port P --workdir DIR [--parent-pid PID]

P may be 0: the chosen port is printed as the only stdout line, "listening http://127.0.0.1:P".
At start it makes a throwaway RSA-2048 key and self-signed certificate in DIR (key.pem,
cert.pem) and serves, on 127.0.0.1:

  GET  /metadata             IdP metadata: entity id http://127.0.0.1:P/metadata, the signing
                             certificate, SingleSignOnService HTTP-Redirect at /sso/redirect.
  GET  /sso/redirect         HTTP-Redirect binding: SAMLRequest (deflated AuthnRequest, unsigned
                             is fine) and RelayState. Logs in the current identity at once and
                             answers the usual auto-submit form that POSTs SAMLResponse and
                             RelayState to the SP's AssertionConsumerService.
  POST /__control/identity   JSON {email, first_name?, last_name?, groups?: [..], role?: str|null,
                             name_id?: str}: the identity of the following logins.
  POST /__control/sp         body: an SP's metadata XML; that SP is trusted from now on (several
                             may be; the same entity id again replaces the earlier one).
  POST /__control/options    JSON {sign_response?: bool, sign_assertion?: bool}.
  GET  /__control/last       the last issued Response, XML (404 before the first).
  GET  /__control/last_request  the last AuthnRequest received, XML.

Responses and assertions are signed RSA-SHA256 with SHA-256 digests; the assertion is signed by
default, the response only when asked. NameID is the identity's email (format emailAddress)
unless name_id is set; attributes email, first_name, last_name, groups (multi-valued) and role
(when set) go out with NameFormat basic. Control endpoints answer loopback peers only.

It writes nothing to stdout but that one line, exits with 0 on SIGTERM/SIGINT, and exits by
itself when its parent process dies.
"""
import argparse
import base64
import html
import ipaddress
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import types
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def parse_args():
    ap = argparse.ArgumentParser(description="A pysaml2 identity provider for Gatehouse's SSO tests.")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--parent-pid", type=int, default=0)
    return ap.parse_args()


def start_keygen(workdir):
    """The throwaway RSA-2048 key and self-signed certificate, made by the openssl CLI while this
    process imports pysaml2 (which alone takes about a second)."""
    os.makedirs(workdir, exist_ok=True)
    return subprocess.Popen(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "30",
         "-subj", "/CN=Gatehouse test IdP", "-keyout", os.path.join(workdir, "key.pem"),
         "-out", os.path.join(workdir, "cert.pem")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


if __name__ == "__main__":
    ARGS = parse_args()
    KEYGEN = start_keygen(ARGS.workdir)

# saml2/__init__ reads its own version through pkg_resources, which costs a third of a second
# to import; importlib.metadata gives the same answer at once.
if "saml2.version" not in sys.modules:
    from importlib.metadata import version as _dist_version
    _v = types.ModuleType("saml2.version")
    _v.version = _dist_version("pysaml2")
    _v.version_info = tuple(int(p) if p.isdigit() else p for p in _v.version.split("."))
    sys.modules["saml2.version"] = _v

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT  # noqa: E402
from saml2.attribute_converter import AttributeConverterNOOP  # noqa: E402
from saml2.config import IdPConfig  # noqa: E402
from saml2.metadata import entity_descriptor, metadata_tostring_fix  # noqa: E402
from saml2.saml import AUTHN_PASSWORD_PROTECTED, NAME_FORMAT_BASIC  # noqa: E402
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID  # noqa: E402
from saml2.server import Server  # noqa: E402
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256  # noqa: E402

logging.getLogger("saml2").setLevel(logging.CRITICAL)


class Idp:
    """The pysaml2 Server and the test state. pysaml2 is not meant for concurrent use: every use
    of it holds `lock`."""

    def __init__(self, base_url, workdir):
        self.base_url = base_url
        self.entity_id = f"{base_url}/metadata"
        self.sso_url = f"{base_url}/sso/redirect"
        key_path = os.path.join(workdir, "key.pem")
        cert_path = os.path.join(workdir, "cert.pem")
        conf = {
            "entityid": self.entity_id,
            "xmlsec_binary": shutil.which("xmlsec1") or "/usr/bin/xmlsec1",
            "key_file": key_path,
            "cert_file": cert_path,
            "metadata": {},
            "accepted_time_diff": 60,
            # pysaml2 7 signs with RSA-SHA1 and digests with SHA-1 unless told otherwise.
            "signing_algorithm": SIG_RSA_SHA256,
            "digest_algorithm": DIGEST_SHA256,
            "service": {
                "idp": {
                    "name": "Gatehouse test IdP",
                    "endpoints": {
                        "single_sign_on_service": [(self.sso_url, BINDING_HTTP_REDIRECT)],
                    },
                    "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                    "want_authn_requests_signed": False,
                    "sign_response": False,
                    "sign_assertion": True,
                    "policy": {
                        "default": {
                            "lifetime": {"minutes": 15},
                            "attribute_restrictions": None,
                            # Attribute names go out as given, NameFormat basic (with the URI
                            # default and pysaml2's maps, "email" would be renamed).
                            "name_form": NAME_FORMAT_BASIC,
                        },
                    },
                },
            },
        }
        config = IdPConfig()
        config.load(conf)
        config.attribute_converters = [AttributeConverterNOOP(NAME_FORMAT_BASIC)]
        self.server = Server(config=config)
        ed = entity_descriptor(config)
        # pysaml2 lists every algorithm xmlsec1 knows (MD5 and SHA-1 too) in an algsupport
        # Extensions block; what this IdP really uses is RSA-SHA256 and SHA-256.
        ed.extensions = None
        xml = metadata_tostring_fix(ed, {"xs": "http://www.w3.org/2001/XMLSchema"})
        self.metadata_xml = xml.decode() if isinstance(xml, bytes) else xml
        with open(cert_path) as f:
            self.certificate_pem = f.read()
        self.lock = threading.Lock()
        self.identity = {"email": "user@example.test", "first_name": "Test", "last_name": "User",
                         "groups": [], "role": None, "name_id": None}
        self.options = {"sign_response": False, "sign_assertion": True}
        self.last_response = None
        self.last_request = None

    def trust_sp(self, xml):
        with self.lock:
            md = self.server.metadata
            before = set(md.metadata)
            md.load("inline", xml)
            (key,) = set(md.metadata) - before
            entities = md.metadata[key].entity
            sps = [eid for eid, ent in entities.items() if ent.get("spsso_descriptor")]
            if not sps:
                del md.metadata[key]
                raise ValueError("no EntityDescriptor with an SPSSODescriptor in that metadata")
            # The same entity id again replaces the earlier metadata.
            for k in before:
                if set(md.metadata[k].entity) & set(entities):
                    del md.metadata[k]
            return sorted(sps)

    def sso(self, saml_request, relay_state):
        """Returns (acs_url, response_b64, relay_state)."""
        with self.lock:
            req = self.server.parse_authn_request(saml_request, BINDING_HTTP_REDIRECT)
            if req is None:
                raise ValueError("unreadable AuthnRequest")
            self.last_request = req.xmlstr.decode() if isinstance(req.xmlstr, bytes) else str(req.xmlstr)
            sp_entity_id = req.message.issuer.text if req.message.issuer is not None else None
            if not sp_entity_id or sp_entity_id not in self.server.metadata.keys():
                raise PermissionError(f"unknown service provider {sp_entity_id!r}: POST its metadata "
                                      "to /__control/sp first")
            resp_args = self.server.response_args(req.message, [BINDING_HTTP_POST])
            ident = self.identity
            ava = {
                "email": [ident["email"]],
                "first_name": [ident["first_name"] or ""],
                "last_name": [ident["last_name"] or ""],
                "groups": list(ident["groups"]),
            }
            if ident.get("role") is not None:
                ava["role"] = [ident["role"]]
            ava = {k: v for k, v in ava.items() if v and v != [""]}
            name_id = NameID(format=NAMEID_FORMAT_EMAILADDRESS,
                             text=ident.get("name_id") or ident["email"])
            args = {k: v for k, v in resp_args.items() if k != "binding"}
            resp = self.server.create_authn_response(
                identity=ava,
                userid=ident["email"],
                name_id=name_id,
                authn={"class_ref": AUTHN_PASSWORD_PROTECTED, "authn_auth": self.entity_id},
                sign_response=self.options["sign_response"],
                sign_assertion=self.options["sign_assertion"],
                sign_alg=SIG_RSA_SHA256,
                digest_alg=DIGEST_SHA256,
                **args,
            )
            xml = resp if isinstance(resp, str) else str(resp)
            if not xml.lstrip().startswith("<?xml"):
                xml = '<?xml version="1.0" encoding="UTF-8"?>' + xml
            self.last_response = xml
            return resp_args["destination"], base64.b64encode(xml.encode()).decode(), relay_state


def auto_post_form(action, fields):
    inputs = "\n".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}"/>'
        for k, v in fields.items() if v is not None)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Signing in</title></head>
<body onload="document.forms[0].submit()">
<form method="post" action="{html.escape(action)}">
{inputs}
<noscript><button type="submit">Continue</button></noscript>
</form>
</body></html>
"""


def make_handler(idp):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "GatehouseTestIdP/1"

        def log_message(self, *args):
            pass

        def send(self, status, body, ctype="text/plain; charset=utf-8"):
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def send_json(self, status, obj):
            self.send(status, json.dumps(obj), "application/json")

        def body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def loopback(self):
            try:
                return ipaddress.ip_address(self.client_address[0]).is_loopback
            except ValueError:
                return False

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/metadata":
                return self.send(200, idp.metadata_xml, "application/samlmetadata+xml")
            if url.path == "/sso/redirect":
                q = urllib.parse.parse_qs(url.query)
                if "SAMLRequest" not in q:
                    return self.send(400, "SAMLRequest is missing\n")
                try:
                    action, response, relay = idp.sso(q["SAMLRequest"][0], q.get("RelayState", [None])[0])
                except PermissionError as e:
                    return self.send(403, f"{e}\n")
                except Exception as e:  # a bad request from the SP under test: say why
                    return self.send(400, f"AuthnRequest refused: {type(e).__name__}: {e}\n")
                return self.send(200, auto_post_form(action, {"SAMLResponse": response, "RelayState": relay}),
                                 "text/html; charset=utf-8")
            if url.path.startswith("/__control/"):
                if not self.loopback():
                    return self.send_json(403, {"error": "loopback only"})
                if url.path == "/__control/last":
                    if idp.last_response is None:
                        return self.send(404, "no response issued yet\n")
                    return self.send(200, idp.last_response, "application/xml")
                if url.path == "/__control/last_request":
                    if idp.last_request is None:
                        return self.send(404, "no request received yet\n")
                    return self.send(200, idp.last_request, "application/xml")
            return self.send(404, "not found\n")

        def do_POST(self):
            url = urllib.parse.urlsplit(self.path)
            body = self.body()
            if not url.path.startswith("/__control/"):
                return self.send(404, "not found\n")
            if not self.loopback():
                return self.send_json(403, {"error": "loopback only"})
            try:
                if url.path == "/__control/sp":
                    return self.send_json(200, {"ok": True, "trusted": idp.trust_sp(body.decode())})
                data = json.loads(body or b"{}")
                if url.path == "/__control/identity":
                    if not isinstance(data.get("email"), str) or not data["email"]:
                        raise ValueError("email is required")
                    role = data.get("role")
                    ident = {
                        "email": data["email"],
                        "first_name": str(data.get("first_name") or ""),
                        "last_name": str(data.get("last_name") or ""),
                        "groups": [str(g) for g in data.get("groups") or []],
                        "role": None if role is None else str(role),
                        "name_id": data.get("name_id") or None,
                    }
                    with idp.lock:
                        idp.identity = ident
                    return self.send_json(200, {"ok": True, "identity": ident})
                if url.path == "/__control/options":
                    with idp.lock:
                        for k in ("sign_response", "sign_assertion"):
                            if k in data:
                                idp.options[k] = bool(data[k])
                        opts = dict(idp.options)
                    return self.send_json(200, {"ok": True, "options": opts})
            except Exception as e:
                return self.send_json(400, {"error": f"{type(e).__name__}: {e}"})
            return self.send_json(404, {"error": f"no control route {url.path}"})

    return Handler


def watch_parent(parent_pid):
    start_ppid = os.getppid()
    while True:
        time.sleep(0.5)
        gone = os.getppid() != start_ppid
        if not gone and parent_pid:
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                gone = True
            except PermissionError:
                pass
        if gone:
            os._exit(0)


def main(a, keygen):
    def stop(*_):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=watch_parent, args=(a.parent_pid,), daemon=True).start()

    ThreadingHTTPServer.daemon_threads = True
    httpd = ThreadingHTTPServer((a.host, a.port), BaseHTTPRequestHandler)
    port = httpd.server_address[1]
    _, err = keygen.communicate()
    if keygen.returncode != 0:
        sys.stderr.write(f"openssl could not make the IdP key and certificate:\n{err.decode()}")
        sys.exit(1)
    os.chmod(os.path.join(a.workdir, "key.pem"), 0o600)
    idp = Idp(f"http://{a.host}:{port}", a.workdir)
    httpd.RequestHandlerClass = make_handler(idp)
    sys.stdout.write(f"listening http://{a.host}:{port}\n")
    sys.stdout.flush()
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()


if __name__ == "__main__":
    main(ARGS, KEYGEN)
