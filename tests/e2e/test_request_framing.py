"""Request framing the server refuses before any handler runs: a Transfer-Encoding other than
exactly `chunked`, several of them, or one together with Content-Length. Front ends disagree
on such requests (one reads the length, the next the chunks): request smuggling's raw material
(RFC 9112 6.1 and 6.3). Sent as raw bytes, since HTTP libraries will not write them."""
import json

import pytest
import requests

from ghtest import connect, read_responses, wait_closed

BODY = b'{"key":"sk_live_nothing","endpoint":"/v1/chat"}'
LENGTH = b"Content-Length: %d\r\n" % len(BODY)
CHUNKED_BODY = b"%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY)

REFUSED = {
    "xchunked_with_length": (b"Transfer-Encoding: xchunked\r\n" + LENGTH, BODY),
    "length_with_xchunked": (LENGTH + b"Transfer-Encoding: xchunked\r\n", BODY),
    "chunked_with_length": (b"Transfer-Encoding: chunked\r\n" + LENGTH, CHUNKED_BODY),
    "length_with_chunked": (LENGTH + b"Transfer-Encoding: chunked\r\n", CHUNKED_BODY),
    "xchunked": (b"Transfer-Encoding: xchunked\r\n", BODY),
    "gzip_then_chunked": (b"Transfer-Encoding: gzip, chunked\r\n", CHUNKED_BODY),
    "chunked_then_identity": (b"Transfer-Encoding: chunked, identity\r\n", CHUNKED_BODY),
    "identity": (b"Transfer-Encoding: identity\r\n" + LENGTH, BODY),
    "two_fields": (b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", CHUNKED_BODY),
    "empty": (b"Transfer-Encoding: \r\n" + LENGTH, BODY),
}


def send(server, headers, body, then=b"", count=1):
    s = connect(server)
    try:
        s.sendall(b"POST /v1/keys/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  + headers + b"\r\n" + body + then)
        got = read_responses(s, count)
        closed = wait_closed(s, timeout=5)
    finally:
        s.close()
    return got, closed


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_transfer_encoding_other_than_chunked_or_with_content_length_is_400(server, case):
    got, _ = send(server, *REFUSED[case])
    (status, headers, body), = got
    problem = json.loads(body)
    assert status == 400, body
    assert headers["content-type"].startswith("application/problem+json")
    assert problem["code"] == "invalid_transfer_encoding", problem
    assert problem["errors"][0]["field"] == "Transfer-Encoding", problem
    assert requests.get(server.url + "/healthz", timeout=5).status_code == 200


@pytest.mark.parametrize("case", ["xchunked_with_length", "chunked_with_length"])
def test_the_connection_is_closed_after_the_refusal(server, case):
    got, closed = send(server, *REFUSED[case])
    assert got and got[0][0] == 400
    assert closed, "a connection whose framing is in doubt must not be reused"


@pytest.mark.parametrize("te", [b"chunked", b"Chunked", b"CHUNKED"])
def test_plain_chunked_is_still_read(server, te):
    # A request pipelined after the body proves where the server thought the body ended.
    got, _ = send(server, b"Transfer-Encoding: " + te + b"\r\n", CHUNKED_BODY,
                  then=b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", count=2)
    assert [g[0] for g in got] == [200, 200], got
    assert json.loads(got[0][2])["code"] == "NOT_FOUND"  # the body was read as JSON
