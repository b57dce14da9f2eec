"""Workspaces: create, list, get, update, delete, logos, and tenant isolation."""
import struct
import zlib

import pytest

from ghtest import JPEG, PNG, RFC3339_UTC, WEBP, assert_problem

MISSING_WS = "ws_" + "0" * 22


def upload(client, ws_id, data, filename="logo.png", ctype="application/octet-stream",
           part="file", **kw):
    return client.post(f"/v1/workspaces/{ws_id}/logo",
                       files={part: (filename, data, ctype)}, **kw)


# --- create -------------------------------------------------------------------------------

def test_create_workspace_makes_the_caller_owner(user):
    r = user.post("/v1/workspaces", json={"name": "  Acme Inc  "})
    assert r.status_code == 201, r.text
    ws = r.json()
    assert ws["id"].startswith("ws_")
    assert ws["name"] == "Acme Inc"
    assert ws["role"] == "owner"
    assert ws["region"] == "us-east-1"
    assert ws["timezone"] == "UTC"
    assert ws["language"] == "en"
    assert ws["logo_url"] is None
    assert ws["plan"] == "pro"
    assert ws["subscription_status"] == "trialing"
    assert ws["member_count"] == 1
    assert isinstance(ws["member_limit"], int) and ws["member_limit"] >= 1
    assert RFC3339_UTC.match(ws["created_at"])


def test_create_workspace_with_region_timezone_language(user):
    r = user.post("/v1/workspaces", json={"name": "Euro GmbH", "region": "eu-central-1",
                                          "timezone": "Europe/Berlin", "language": "de"})
    assert r.status_code == 201, r.text
    ws = r.json()
    assert (ws["region"], ws["timezone"], ws["language"]) == ("eu-central-1", "Europe/Berlin", "de")
    got = user.get(f"/v1/workspaces/{ws['id']}").json()
    assert (got["region"], got["timezone"], got["language"]) == ("eu-central-1", "Europe/Berlin", "de")


@pytest.mark.parametrize("body,code,field", [
    ({"name": "Moon", "region": "moon-base-1"}, "invalid_region", "region"),
    ({"name": "Moon", "region": "US-EAST-1"}, "invalid_region", "region"),
    ({"name": "A"}, "invalid_name", "name"),
    ({"name": " B "}, "invalid_name", "name"),
    ({"name": ""}, "invalid_name", "name"),
    ({"name": "x" * 101}, "invalid_name", "name"),
    ({"name": "Mars", "timezone": "Mars/Base"}, "invalid_timezone", "timezone"),
    ({"name": "Mars", "timezone": "../../etc/passwd"}, "invalid_timezone", "timezone"),
    ({"name": "Mars", "timezone": "Europe"}, "invalid_timezone", "timezone"),
    ({"name": "Mars", "language": "klingon!"}, "invalid_language", "language"),
    ({}, "required", "name"),
    ({"name": 5}, "invalid_type", "name"),
    ({"name": "Typed", "region": 1}, "invalid_type", "region"),
    ({"name": "Retention", "audit_retention_days": 30}, "unknown_field", "audit_retention_days"),
    ({"name": "Owner", "owner_id": "usr_x"}, "unknown_field", "owner_id"),
])
def test_create_workspace_validation(user, body, code, field):
    assert_problem(user.post("/v1/workspaces", json=body), 422, code, field)
    assert user.get("/v1/workspaces").json()["data"] == []


def test_list_workspaces_returns_only_mine(user, other_user):
    a = user.create_workspace("Alpha One")
    b = user.create_workspace("Beta Two")
    theirs = other_user.create_workspace("Theirs Ltd")
    r = user.get("/v1/workspaces")
    assert r.status_code == 200
    body = r.json()
    ids = {w["id"] for w in body["data"]}
    assert ids == {a["id"], b["id"]}
    assert body["total"] == 2
    assert body["next_cursor"] is None
    assert all(w["role"] == "owner" for w in body["data"])
    assert {w["id"] for w in other_user.get("/v1/workspaces").json()["data"]} == {theirs["id"]}


def test_get_workspace(user):
    ws = user.create_workspace("Gettable")
    r = user.get(f"/v1/workspaces/{ws['id']}")
    assert r.status_code == 200
    got = r.json()
    for key in ("id", "name", "logo_url", "region", "timezone", "language", "plan",
                "subscription_status", "member_count", "member_limit", "created_at"):
        assert key in got, key
    assert got["id"] == ws["id"] and got["name"] == "Gettable"


@pytest.mark.parametrize("bad_id", [MISSING_WS, "ws_123", "nonsense", "usr_" + "0" * 22,
                                    "ws_" + "!" * 22, "ws_%20"])
def test_get_unknown_or_malformed_workspace_is_404(user, bad_id):
    assert_problem(user.get(f"/v1/workspaces/{bad_id}"), 404, "not_found")


# --- update -------------------------------------------------------------------------------

def test_patch_workspace_name_timezone_language(user):
    ws = user.create_workspace("Before Name")
    r = user.patch(f"/v1/workspaces/{ws['id']}",
                   json={"name": "After Name", "timezone": "America/Sao_Paulo", "language": "pt-BR"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["name"], got["timezone"], got["language"]) == \
        ("After Name", "America/Sao_Paulo", "pt-BR")
    again = user.get(f"/v1/workspaces/{ws['id']}").json()
    assert (again["name"], again["timezone"], again["language"]) == \
        ("After Name", "America/Sao_Paulo", "pt-BR")
    assert again["region"] == "us-east-1"


def test_patch_region_is_immutable(user):
    ws = user.create_workspace("Fixed Region", region="eu-west-1")
    r = user.patch(f"/v1/workspaces/{ws['id']}", json={"region": "us-east-1"})
    assert_problem(r, 422, "region_immutable", "region")
    # A rename that also tries to move the region changes nothing.
    r = user.patch(f"/v1/workspaces/{ws['id']}", json={"name": "Moved", "region": "us-west-2"})
    assert_problem(r, 422, "region_immutable", "region")
    got = user.get(f"/v1/workspaces/{ws['id']}").json()
    assert got["region"] == "eu-west-1" and got["name"] == "Fixed Region"
    # Restating the current region is not a change.
    r = user.patch(f"/v1/workspaces/{ws['id']}", json={"region": "eu-west-1"})
    assert r.status_code == 200 and r.json()["region"] == "eu-west-1"


@pytest.mark.parametrize("body,code,field", [
    ({"name": "A"}, "invalid_name", "name"),
    ({"name": "   "}, "invalid_name", "name"),
    ({"timezone": "Mars/Base"}, "invalid_timezone", "timezone"),
    ({"timezone": ""}, "invalid_timezone", "timezone"),
    ({"language": "123"}, "invalid_language", "language"),
    ({"audit_retention_days": 0}, "invalid_retention", "audit_retention_days"),
    ({"audit_retention_days": -5}, "invalid_retention", "audit_retention_days"),
    ({"audit_retention_days": 366}, "invalid_retention", "audit_retention_days"),
    ({"audit_retention_days": 10**9}, "invalid_retention", "audit_retention_days"),
    ({"audit_retention_days": "30"}, "invalid_type", "audit_retention_days"),
    ({"audit_retention_days": 30.5}, "invalid_type", "audit_retention_days"),
    ({"name": None, "plan": "enterprise"}, "unknown_field", "plan"),
])
def test_patch_workspace_validation(user, body, code, field):
    ws = user.create_workspace("Validated")
    assert_problem(user.patch(f"/v1/workspaces/{ws['id']}", json=body), 422, code, field)
    got = user.get(f"/v1/workspaces/{ws['id']}").json()
    assert got["name"] == "Validated" and got["timezone"] == "UTC"
    assert got["audit_retention_days"] == 365


def test_patch_audit_retention_days_bounds(user):
    ws = user.create_workspace("Retention")
    for days in (1, 30, 365):
        r = user.patch(f"/v1/workspaces/{ws['id']}", json={"audit_retention_days": days})
        assert r.status_code == 200, r.text
        assert r.json()["audit_retention_days"] == days


# --- delete -------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [None, {}, {"confirm": "delete"}, {"confirm": "yes"},
                                  {"confirm": " DELETE"}])
def test_delete_needs_typed_confirmation(user, body):
    ws = user.create_workspace("Keep Me")
    kw = {} if body is None else {"json": body}
    r = user.delete(f"/v1/workspaces/{ws['id']}", **kw)
    assert_problem(r, 422, "confirmation_required", "confirm")
    assert user.get(f"/v1/workspaces/{ws['id']}").status_code == 200


def test_delete_with_confirmation(user):
    ws = user.create_workspace("Delete Me")
    r = user.delete(f"/v1/workspaces/{ws['id']}", json={"confirm": "DELETE"})
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert_problem(user.get(f"/v1/workspaces/{ws['id']}"), 404, "not_found")
    assert_problem(user.patch(f"/v1/workspaces/{ws['id']}", json={"name": "Ghost"}), 404, "not_found")
    assert_problem(user.get(f"/v1/workspaces/{ws['id']}/audit-logs"), 404, "not_found")
    assert_problem(user.delete(f"/v1/workspaces/{ws['id']}", json={"confirm": "DELETE"}),
                   404, "not_found")
    assert ws["id"] not in {w["id"] for w in user.get("/v1/workspaces").json()["data"]}


def test_delete_confirm_wrong_type(user):
    ws = user.create_workspace("Typed Confirm")
    r = user.delete(f"/v1/workspaces/{ws['id']}", json={"confirm": True})
    assert_problem(r, 422, "invalid_type", "confirm")


# --- tenant isolation ---------------------------------------------------------------------

def test_another_users_workspace_is_404_never_403(user, other_user):
    ws = other_user.create_workspace("Private Co")
    assert upload(other_user, ws["id"], PNG).status_code == 200
    wid = ws["id"]
    assert_problem(user.get(f"/v1/workspaces/{wid}"), 404, "not_found")
    assert_problem(user.patch(f"/v1/workspaces/{wid}", json={"name": "Hijacked"}), 404, "not_found")
    assert_problem(user.delete(f"/v1/workspaces/{wid}", json={"confirm": "DELETE"}), 404, "not_found")
    assert_problem(user.get(f"/v1/workspaces/{wid}/logo"), 404, "not_found")
    assert_problem(upload(user, wid, JPEG), 404, "not_found")
    assert_problem(user.get(f"/v1/workspaces/{wid}/audit-logs"), 404, "not_found")
    # The same answer as for a workspace that does not exist at all.
    a = user.get(f"/v1/workspaces/{wid}").json()
    b = user.get(f"/v1/workspaces/{MISSING_WS}").json()
    for body in (a, b):
        body.pop("request_id", None)
        body.pop("instance", None)
    assert a == b
    # And nothing changed for the owner.
    got = other_user.get(f"/v1/workspaces/{wid}").json()
    assert got["name"] == "Private Co"
    r = other_user.get(f"/v1/workspaces/{wid}/logo")
    assert r.status_code == 200 and r.content == PNG


# --- logo ---------------------------------------------------------------------------------

@pytest.mark.parametrize("data,ctype", [(PNG, "image/png"), (JPEG, "image/jpeg"),
                                        (WEBP, "image/webp")])
def test_logo_upload_is_judged_by_content_and_served_back(user, data, ctype):
    ws = user.create_workspace("Logo Co")
    # The declared part type and file name are deliberately wrong: content decides.
    r = upload(user, ws["id"], data, filename="logo.bin", ctype="text/plain")
    assert r.status_code == 200, r.text
    logo_url = r.json()["logo_url"]
    assert logo_url.startswith(f"/v1/workspaces/{ws['id']}/logo")
    assert user.get(f"/v1/workspaces/{ws['id']}").json()["logo_url"] == logo_url
    got = user.get(logo_url)
    assert got.status_code == 200
    assert got.headers["Content-Type"] == ctype
    assert got.content == data
    assert "max-age" in got.headers.get("Cache-Control", "")
    assert got.headers.get("X-Content-Type-Options") == "nosniff"


def test_logo_replacement_serves_the_new_image(user):
    ws = user.create_workspace("Replace Logo")
    assert upload(user, ws["id"], PNG).status_code == 200
    assert upload(user, ws["id"], JPEG).status_code == 200
    got = user.get(f"/v1/workspaces/{ws['id']}/logo")
    assert got.headers["Content-Type"] == "image/jpeg" and got.content == JPEG


def test_logo_before_upload_is_404(user):
    ws = user.create_workspace("No Logo")
    assert_problem(user.get(f"/v1/workspaces/{ws['id']}/logo"), 404, "not_found")


def test_logo_text_file_named_png_is_415(user):
    ws = user.create_workspace("Fake Logo")
    r = upload(user, ws["id"], b"this is just text, not an image\n" * 4,
               filename="logo.png", ctype="image/png")
    assert_problem(r, 415, "unsupported_image", "file")
    r = upload(user, ws["id"], b"GIF89a" + b"\x00" * 32, filename="logo.gif", ctype="image/gif")
    assert_problem(r, 415, "unsupported_image", "file")
    r = upload(user, ws["id"], b"", filename="empty.png", ctype="image/png")
    assert_problem(r, 415, "unsupported_image", "file")
    assert user.get(f"/v1/workspaces/{ws['id']}").json()["logo_url"] is None


def png_declaring(width, height):
    """A valid PNG header (signature, IHDR with its CRC) declaring width×height, then IEND."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data)))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def jpeg_declaring(width, height):
    return (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" +
            b"\xff\xc0\x00\x11\x08" + struct.pack(">HH", height, width) + b"\x03" +
            b"\x01\x22\x00\x02\x11\x01\x03\x11\x01\xff\xd9")


def webp_declaring(width, height):
    vp8x = b"\x10\x00\x00\x00" + (width - 1).to_bytes(3, "little") + \
        (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + 8 + len(vp8x)) + b"WEBPVP8X" + \
        struct.pack("<I", len(vp8x)) + vp8x


@pytest.mark.parametrize("data,declared", [
    (png_declaring(60000, 60000), "60000×60000"),  # the attack: 57 bytes, 14.4 GB of pixels
    (png_declaring(4097, 1), "4097×1"),
    (png_declaring(1, 100000), "1×100000"),
    (jpeg_declaring(65535, 65535), "65535×65535"),
    (webp_declaring(60000, 60000), "60000×60000"),
])
def test_logo_declaring_huge_dimensions_is_422(user, data, declared):
    ws = user.create_workspace("Bomb Logo")
    body = assert_problem(upload(user, ws["id"], data), 422, "image_too_large", "file")
    assert declared in body["detail"] and "4096×4096" in body["detail"], body
    assert user.get(f"/v1/workspaces/{ws['id']}").json()["logo_url"] is None


@pytest.mark.parametrize("data", [png_declaring(4096, 4096), jpeg_declaring(4096, 1),
                                  webp_declaring(1, 4096), png_declaring(1, 1)])
def test_logo_up_to_4096_pixels_a_side_is_accepted(user, data):
    ws = user.create_workspace("Fine Logo")
    r = upload(user, ws["id"], data)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n" + b"garbage, no IHDR chunk at all",
    png_declaring(0, 10),
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64,  # no frame header
    b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 64,  # no VP8 start code
])
def test_logo_whose_dimensions_cannot_be_read_is_422(user, data):
    ws = user.create_workspace("Odd Logo")
    assert_problem(upload(user, ws["id"], data), 422, "invalid_image", "file")


def test_logo_of_exactly_2_mib_is_accepted(user):
    ws = user.create_workspace("Big Logo")
    data = PNG + b"\x00" * (2 * 1024 * 1024 - len(PNG))
    r = upload(user, ws["id"], data)
    assert r.status_code == 200, r.text
    assert user.get(f"/v1/workspaces/{ws['id']}/logo").content == data


def test_logo_just_over_2_mib_is_413(user):
    ws = user.create_workspace("Too Big Logo")
    data = PNG + b"\x00" * (2 * 1024 * 1024 + 1 - len(PNG))
    assert_problem(upload(user, ws["id"], data), 413, "file_too_large")


def test_logo_far_over_the_limit_is_413(user):
    ws = user.create_workspace("Huge Logo")
    data = PNG + b"\x00" * (3 * 1024 * 1024)
    assert_problem(upload(user, ws["id"], data), 413, "file_too_large")
    assert user.get(f"/v1/workspaces/{ws['id']}").status_code == 200


def test_logo_far_over_the_limit_chunked_is_413_file_too_large(user):
    ws = user.create_workspace("Chunked Logo")
    boundary = "gatehouseboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"big.png\"\r\nContent-Type: image/png\r\n\r\n").encode() + \
        PNG + b"\x00" * (3 * 1024 * 1024) + f"\r\n--{boundary}--\r\n".encode()

    def chunks():
        for i in range(0, len(body), 256 * 1024):
            yield body[i:i + 256 * 1024]

    r = user.post(f"/v1/workspaces/{ws['id']}/logo", data=chunks(),
                  headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert_problem(r, 413, "file_too_large")


def test_logo_upload_must_be_multipart(user):
    ws = user.create_workspace("Raw Logo")
    r = user.post(f"/v1/workspaces/{ws['id']}/logo", data=PNG,
                  headers={"Content-Type": "image/png"})
    assert_problem(r, 415, "unsupported_media_type")
    r = user.post(f"/v1/workspaces/{ws['id']}/logo", json={"file": "iVBORw0KGgo="})
    assert_problem(r, 415, "unsupported_media_type")


def test_logo_upload_needs_the_file_part(user):
    ws = user.create_workspace("Partless")
    assert_problem(upload(user, ws["id"], PNG, part="image"), 422, "required", "file")


def test_logo_upload_malformed_multipart_is_400(user):
    ws = user.create_workspace("Broken Multipart")
    r = user.post(f"/v1/workspaces/{ws['id']}/logo", data=b"--nope\r\nno headers here",
                  headers={"Content-Type": "multipart/form-data; boundary=nope"})
    assert_problem(r, 400, "malformed_multipart")


def test_logo_upload_needs_csrf(user):
    ws = user.create_workspace("CSRF Logo")
    assert_problem(upload(user, ws["id"], PNG, csrf=False), 403, "csrf_token_invalid")
