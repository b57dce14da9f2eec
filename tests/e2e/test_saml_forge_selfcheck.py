"""Self-check of saml_forge: its valid responses really verify (xmlsec1 --verify with the IdP
certificate), its tampered ones really do not, and every wrapping attack still holds a validly
signed element while a naive reader sees the evil identity, so that a refusal by the server is
a refusal of a real attack. Needs no gatehouse binary; a few seconds (openssl, xmlsec1)."""
import base64
import copy
import shutil

import pytest
from lxml import etree

import saml_forge as sf

pytestmark = pytest.mark.skipif(not (shutil.which(sf.XMLSEC1) and shutil.which(sf.OPENSSL)),
                                reason="xmlsec1 and openssl are needed (scripts/deps.sh --test)")

IDP = "https://idp.example.org/metadata"
SP = "https://gatehouse.example.com/v1/sso/saml/sso_1/metadata"
ACS = "https://gatehouse.example.com/v1/sso/saml/sso_1/acs"
REQ = "_0123456789abcdef0123456789abcdef"
VICTIM = "ada@acme.com"
EVIL = "mallory@evil.example"
NS = {"samlp": sf.NS_P, "saml": sf.NS_A, "ds": sf.NS_DS}
ASSERTION_ONLY = (f"{sf.NS_A}:Assertion",)
RESPONSE_ONLY = (f"{sf.NS_P}:Response",)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("saml-keys")
    # The attacker's certificate has the same subject: only the key tells them apart.
    return sf.make_keypair(d, cn="idp.example.org"), sf.make_keypair(d, cn="idp.example.org")


@pytest.fixture(scope="module")
def idp(keys):
    return keys[0]


@pytest.fixture(scope="module")
def attacker(keys):
    return keys[1]


def claims(**kw):
    base = dict(idp_entity_id=IDP, sp_entity_id=SP, acs_url=ACS, in_response_to=REQ,
                email=VICTIM, attributes={"first_name": ["Ada"], "groups": ["eng", "admins"]})
    base.update(kw)
    return sf.Claims(**base)


@pytest.fixture(scope="module")
def unsigned():
    return sf.build_response(claims())


@pytest.fixture(scope="module")
def signed(idp, unsigned):
    return sf.sign(unsigned, idp)


@pytest.fixture(scope="module")
def variants(idp, attacker):
    return sf.all_variants(claims(), idp, attacker, EVIL)


def parse(xml):
    return etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))


def sig_xpath(ref_id):
    """The ds:Signature whose Reference points at ref_id."""
    return (f"//*[local-name()='Signature' and namespace-uri()='{sf.NS_DS}']"
            f"[*[local-name()='SignedInfo']/*[local-name()='Reference'][@URI='#{ref_id}']]")


def verifies(xml, kp, **kw):
    ok, out = sf.xmlsec_verify(xml, kp.cert_path, **kw)
    return ok


def some_signature_on(xml, ref_id, kp):
    """True when one of the ds:Signatures whose Reference points at ref_id verifies."""
    n = len(parse(xml).xpath(sig_xpath(ref_id)))
    return any(verifies(xml, kp, node_xpath=f"({sig_xpath(ref_id)})[{i}]") for i in range(1, n + 1))


def b64(text):
    return "".join(text.split())


def naive_name_id(xml):
    """What a naive SP reads: the Response's first Assertion child, its NameID's first text."""
    return parse(xml).find("saml:Assertion/saml:Subject/saml:NameID", NS).text


def assertion_id(xml):
    return parse(xml).find("saml:Assertion", NS).get("ID")


# ---- the valid response ------------------------------------------------------------------------------
def test_built_response_has_every_part(unsigned):
    root = parse(unsigned)
    assert root.tag == f"{{{sf.NS_P}}}Response" and root.get("Version") == "2.0"
    assert root.get("Destination") == ACS and root.get("InResponseTo") == REQ
    a = root.find("saml:Assertion", NS)
    assert [etree.QName(c).localname for c in a] == [
        "Issuer", "Subject", "Conditions", "AuthnStatement", "AttributeStatement"]
    assert a.findtext("saml:Issuer", namespaces=NS) == IDP == root.findtext("saml:Issuer", namespaces=NS)
    nid = a.find("saml:Subject/saml:NameID", NS)
    assert nid.text == VICTIM and nid.get("Format") == sf.NAMEID_EMAIL
    scd = a.find("saml:Subject/saml:SubjectConfirmation/saml:SubjectConfirmationData", NS)
    assert scd.getparent().get("Method") == sf.BEARER
    assert scd.get("Recipient") == ACS and scd.get("InResponseTo") == REQ and scd.get("NotOnOrAfter")
    assert a.findtext("saml:Conditions/saml:AudienceRestriction/saml:Audience", namespaces=NS) == SP
    attrs = {at.get("Name"): [v.text for v in at] for at in a.iterfind(".//saml:Attribute", NS)}
    assert attrs == {"email": [VICTIM], "first_name": ["Ada"], "groups": ["eng", "admins"]}


def test_idp_initiated_has_no_in_response_to():
    xml = sf.build_response(claims(in_response_to=None))
    assert b"InResponseTo" not in xml


def test_valid_assertion_signature_verifies_with_the_idp_certificate_only(signed, idp, attacker):
    assert verifies(signed, idp, id_attrs=ASSERTION_ONLY)  # the brief's exact command
    assert not verifies(signed, attacker)
    a = parse(signed).find("saml:Assertion", NS)
    children = [etree.QName(c).localname for c in a]
    assert children[:2] == ["Issuer", "Signature"]  # where the schema wants it
    sig = a.find("ds:Signature", NS)
    assert sig.find("ds:SignedInfo/ds:Reference", NS).get("URI") == "#" + a.get("ID")
    assert sig.find("ds:SignedInfo/ds:CanonicalizationMethod", NS).get("Algorithm") == sf.C14N_METHODS["exc"]
    assert [t.get("Algorithm") for t in sig.iterfind(".//ds:Transform", NS)] == [
        sf.ENVELOPED, sf.C14N_METHODS["exc"]]
    assert b64(sig.find(".//ds:X509Certificate", NS).text) == idp.cert_b64
    assert parse(signed).find("ds:Signature", NS) is None  # the Response is not signed


def test_response_and_both_targets_verify(idp, unsigned):
    r = sf.sign(unsigned, idp, target="response")
    root = parse(r)
    assert [etree.QName(c).localname for c in root][:2] == ["Issuer", "Signature"]
    assert root.find("saml:Assertion/ds:Signature", NS) is None
    assert verifies(r, idp, id_attrs=RESPONSE_ONLY)
    both = sf.sign(unsigned, idp, target="both")
    root = parse(both)
    assert verifies(both, idp, node_xpath=sig_xpath(root.get("ID")))
    assert verifies(both, idp, node_xpath=sig_xpath(assertion_id(both)))


def test_algorithms_and_no_embedded_certificate(idp, unsigned):
    x = sf.sign(unsigned, idp, algorithm="rsa-sha512", digest="sha512", embed_cert=False)
    sig = parse(x).find("saml:Assertion/ds:Signature", NS)
    assert sig.find("ds:KeyInfo", NS) is None
    assert sig.find(".//ds:SignatureMethod", NS).get("Algorithm").endswith("#rsa-sha512")
    assert verifies(x, idp)


def test_sha1_variant_is_a_real_sha1_signature(variants, idp):
    sig = parse(variants["sha1"]).find("saml:Assertion/ds:Signature", NS)
    assert sig.find(".//ds:SignatureMethod", NS).get("Algorithm") == "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
    assert sig.find(".//ds:DigestMethod", NS).get("Algorithm") == "http://www.w3.org/2000/09/xmldsig#sha1"
    assert verifies(variants["sha1"], idp)
    assert verifies(variants["sha1_digest_only"], idp)
    assert verifies(variants["inclusive_c14n"], idp)


def test_encode_and_form(signed):
    form = sf.post_form(signed, relay_state="/next")
    assert base64.b64decode(form["SAMLResponse"], validate=True) == signed
    assert form["RelayState"] == "/next"


def test_idp_metadata_names_the_certificate(idp):
    md = parse(sf.idp_metadata(idp, IDP, "https://idp.example.org/sso"))
    assert md.get("entityID") == IDP
    assert md.find(".//{%s}X509Certificate" % sf.NS_DS).text == idp.cert_b64


# ---- breaking the signature -------------------------------------------------------------------------------
def test_tampering_after_signing_fails(signed, idp):
    t = sf.tamper_after_signing(signed, EVIL)
    assert naive_name_id(t) == EVIL
    assert not verifies(t, idp)


def test_removed_and_stripped_signatures(signed, idp):
    assert not verifies(sf.remove_signature_value(signed), idp)
    assert not verifies(sf.remove_signature_value(signed, delete_element=True), idp)
    assert parse(sf.strip_signature(signed)).find(".//ds:Signature", NS) is None


def test_reference_retargeted(signed):
    refs = parse(sf.reference_whole_document(signed)).findall(".//ds:Reference", NS)
    assert refs and all(r.get("URI") == "" for r in refs)


def test_attacker_key_signs_validly_but_not_as_the_idp(variants, idp, attacker):
    x = variants["attacker_key_embedded_cert"]
    assert b64(parse(x).find(".//ds:X509Certificate", NS).text) == attacker.cert_b64
    assert verifies(x, attacker) and not verifies(x, idp)


# ---- comments in NameID -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["comment_in_nameid", "comment_inserted_after_signing"])
def test_comment_in_nameid_is_validly_signed(variants, idp, name):
    x = variants[name]
    assert verifies(x, idp)  # the canonical form drops the comment
    nid = parse(x).find("saml:Assertion/saml:Subject/saml:NameID", NS)
    assert nid.text == VICTIM  # the first text node: what a vulnerable SP reads
    assert len(nid) == 1 and isinstance(nid[0], etree._Comment) and nid[0].tail == ".evil.example"
    assert nid.xpath("string()") == VICTIM + ".evil.example"
    assert b"ada@acme.com<!---->.evil.example</saml:NameID>" in x


# ---- wrapping --------------------------------------------------------------------------------------------
XSW_ON_ASSERTION = ["xsw_evil_assertion_first", "xsw_wrapped_in_evil", "xsw_evil_carries_signature",
                    "xsw_original_in_extensions", "xsw_original_in_signature_object"]
XSW_ON_RESPONSE = ["xsw_response_in_signature_object", "xsw_response_before_signature"]


def signed_id_of(variants, name):
    base = variants["valid_response_signed" if name in XSW_ON_RESPONSE else "valid_assertion_signed"]
    root = parse(base)
    return root.get("ID") if name in XSW_ON_RESPONSE else root.find("saml:Assertion", NS).get("ID")


@pytest.mark.parametrize("name", XSW_ON_ASSERTION + XSW_ON_RESPONSE)
def test_wrapping_keeps_a_valid_signature_and_shows_the_evil_identity(variants, idp, name):
    x = variants[name]
    ref_id = signed_id_of(variants, name)
    assert naive_name_id(x) == EVIL
    # A signature on the original element still verifies in the attacked document.
    assert some_signature_on(x, ref_id, idp)
    root = parse(x)
    target = root.xpath("//*[@ID=$id]", id=ref_id)
    assert len(target) == 1
    assert VICTIM in target[0].xpath("string(.//saml:NameID)", namespaces=NS)
    assert len(root.findall(".//saml:Assertion", NS)) == 2


def test_wrapped_in_evil_subject_and_duplicate_id_variants(variants, idp):
    signed = variants["valid_assertion_signed"]
    x = sf.xsw_wrapped_in_evil(signed, EVIL, where="subject")
    assert naive_name_id(x) == EVIL and some_signature_on(x, assertion_id(signed), idp)
    for evil_first in (True, False):
        d = sf.xsw_duplicate_id(signed, EVIL, evil_first=evil_first)
        root = parse(d)
        same = root.findall("saml:Assertion", NS)
        assert len(same) == 2 and same[0].get("ID") == same[1].get("ID") == assertion_id(signed)
        assert naive_name_id(d) == (EVIL if evil_first else VICTIM)
        # xmlsec1 refuses duplicate IDs: the signed copy, cut out alone, verifies.
        assert not verifies(d, idp)
        real = [a for a in same if a.find("ds:Signature", NS) is not None]
        assert len(real) == 1
        alone = etree.tostring(copy.deepcopy(real[0]))
        assert verifies(alone, idp)


def test_response_in_evil_extensions(variants, idp):
    x = variants["xsw_response_in_evil_extensions"]
    assert naive_name_id(x) == EVIL
    assert some_signature_on(x, assertion_id(variants["valid_assertion_signed"]), idp)


@pytest.mark.parametrize("which", ["assertion", "response"])
def test_object_variants_in_the_papers_form(variants, idp, which):
    """strip_inner=True: the original in ds:Object without its signature. Its digest matches
    once the copied signature is put back in it (what an SP whose enveloped transform only
    removes an enclosed Signature computes), though not per the spec's enveloped transform."""
    if which == "assertion":
        signed = variants["valid_assertion_signed"]
        ref_id = assertion_id(signed)
        x = sf.xsw_original_in_signature_object(signed, EVIL, strip_inner=True)
    else:
        signed = variants["valid_response_signed"]
        ref_id = parse(signed).get("ID")
        x = sf.xsw_response_in_signature_object(signed, EVIL, strip_inner=True)
    assert naive_name_id(x) == EVIL
    root = parse(x)
    assert len(root.xpath(sig_xpath(ref_id))) == 1 and not some_signature_on(x, ref_id, idp)
    sig = root.xpath(sig_xpath(ref_id))[0]
    original = copy.deepcopy(root.xpath("//*[@ID=$id]", id=ref_id)[0])
    assert original.find("ds:Signature", NS) is None
    sig = copy.deepcopy(sig)
    for obj in sig.findall("ds:Object", NS):
        sig.remove(obj)
    original.find("saml:Issuer", NS).addnext(sig)
    assert verifies(etree.tostring(original), idp)


def test_xsw1_and_2_need_a_signed_response(signed):
    with pytest.raises(ValueError):
        sf.xsw_response_in_signature_object(signed, EVIL)


# ---- parser attacks ------------------------------------------------------------------------------------
def test_doctype_xxe_is_a_real_external_entity(variants):
    x = variants["doctype_xxe"]
    assert b'<!ENTITY xxe SYSTEM "file:///etc/passwd">' in x and b"&xxe;</saml:NameID>" in x
    # A parser that substitutes entities (lxml's default) reads the file into the NameID.
    root = etree.fromstring(x, etree.XMLParser(resolve_entities=True, load_dtd=True, no_network=True))
    assert "root:" in root.find("saml:Assertion/saml:Subject/saml:NameID", NS).text


def test_billion_laughs_is_exponential(variants):
    x = variants["billion_laughs"]
    assert x.count(b"<!ENTITY lol") == 10 and b"&lol9;</saml:NameID>" in x
    assert x.index(b"<!DOCTYPE samlp:Response [") < x.index(b"<samlp:Response ")
    assert b"<!DOCTYPE samlp:Response" in sf.billion_laughs()


def test_encrypted_assertion_placeholder(variants):
    root = parse(variants["encrypted_assertion"])
    assert root.find("saml:Assertion", NS) is None
    assert root.find("saml:EncryptedAssertion/{%s}EncryptedData" % sf.NS_XENC, NS) is not None


# ---- the reasons the C++ verifier is expected to give ------------------------------------------------------
def structural_reason(xml):
    """The first refusal saml_response.cpp can give before verifying signature values, from the
    document's structure alone (None when its verdict depends on the signature value)."""
    if b"<!DOCTYPE" in xml:
        return "doctype"
    root = parse(xml)
    ids = [v for el in root.iter() if isinstance(el.tag, str)
           for k, v in el.attrib.items() if k in ("ID", "Id", "id")]
    if len(ids) != len(set(ids)):
        return "duplicate_id"
    if root.find(".//saml:EncryptedAssertion", NS) is not None:
        return "encrypted_assertion"
    if len(root.findall(".//saml:Assertion", NS)) != 1:
        return "assertion_count"
    sigs = root.findall("ds:Signature", NS) + root.findall("saml:Assertion/ds:Signature", NS)
    if not sigs:
        return "signature_missing"
    for s in reversed(sigs):  # the assertion's first
        if s.find(".//ds:CanonicalizationMethod", NS).get("Algorithm") not in (
                sf.C14N_METHODS["exc"], sf.C14N_METHODS["exc-comments"]):
            return "signature_transform"
        if s.find(".//ds:SignatureMethod", NS).get("Algorithm").endswith("sha1"):
            return "signature_algorithm"
        if s.find(".//ds:Reference", NS).get("URI") != "#" + s.getparent().get("ID"):
            return "signature_reference"
        if s.find(".//ds:DigestMethod", NS).get("Algorithm").endswith("sha1"):
            return "signature_algorithm"
    return None


def test_every_variant_has_an_expected_reason_consistent_with_its_structure(variants, idp):
    assert set(variants) == set(sf.EXPECTED_REASON)
    for name, xml in variants.items():
        want = sf.EXPECTED_REASON[name]
        assert len(sf.encode(xml)) < 256 * 1024, name
        got = structural_reason(xml)
        if want in ("accepted", "signature_invalid"):
            assert got is None, name
            assert verifies(xml, idp) == (want == "accepted"), name
        else:
            assert got == want, name
