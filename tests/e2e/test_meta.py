"""Health, readiness, metrics, the OpenAPI document, and what every response carries."""
import email.utils
import re

import pytest
import requests

from ghtest import assert_problem, metric_value

# Every route that API.md's "Conventions", "Health and metadata", "Accounts and sessions",
# "Email verification and password reset" and "Workspaces" sections name and that this server implements (TOTP, /v1/permissions,
# transfer-ownership and /v1/workspaces/{ws}/permissions come with later issues).
EXPECTED_ROUTES = {
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("post", "/v1/auth/signup"),
    ("post", "/v1/auth/login"),
    ("post", "/v1/auth/logout"),
    ("get", "/v1/me"),
    ("patch", "/v1/me"),
    ("get", "/v1/me/sessions"),
    ("delete", "/v1/me/sessions/{ses}"),
    ("post", "/v1/me/sessions/revoke-all"),
    ("post", "/v1/auth/password-reset"),
    ("post", "/v1/auth/password-reset/confirm"),
    ("post", "/v1/auth/verify-email"),
    ("post", "/v1/me/verify-email"),
    ("post", "/v1/workspaces"),
    ("get", "/v1/workspaces"),
    ("get", "/v1/workspaces/{ws}"),
    ("patch", "/v1/workspaces/{ws}"),
    ("delete", "/v1/workspaces/{ws}"),
    ("post", "/v1/workspaces/{ws}/logo"),
    ("get", "/v1/workspaces/{ws}/logo"),
    ("get", "/v1/workspaces/{ws}/audit-logs"),
}

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def assert_common_headers(r):
    for k, v in SECURITY_HEADERS.items():
        assert r.headers.get(k) == v, (k, r.headers)
    assert r.headers.get("Referrer-Policy"), r.headers
    assert r.headers.get("X-Request-Id"), r.headers
    date = r.headers.get("Date")
    assert date, r.headers
    assert email.utils.parsedate_to_datetime(date) is not None


def test_healthz(anon):
    r = anon.get("/healthz")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == {"status": "ok"}


def test_readyz_reports_the_store(anon):
    r = anon.get("/readyz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["store"] == "sqlite"


def test_metrics_counts_requests_by_route_template_and_status(server, user, anon):
    ws = user.create_workspace("Metrics Co")
    assert user.get(f"/v1/workspaces/{ws['id']}").status_code == 200
    before = anon.get("/metrics")
    assert before.status_code == 200
    assert before.headers["Content-Type"].startswith("text/plain")
    n0 = metric_value(before.text, "gatehouse_http_requests_total",
                      method="GET", route="/healthz", status="200") or 0
    for _ in range(3):
        assert anon.get("/healthz").status_code == 200
    assert anon.get("/no/such/route").status_code == 404
    text = anon.get("/metrics").text
    assert "# TYPE gatehouse_http_requests_total counter" in text
    n1 = metric_value(text, "gatehouse_http_requests_total",
                      method="GET", route="/healthz", status="200")
    assert n1 is not None and n1 >= n0 + 3
    # Labelled by the route template, never by the raw path with its ids.
    assert metric_value(text, "gatehouse_http_requests_total", method="GET",
                        route="/v1/workspaces/{ws}", status="200") >= 1
    assert ws["id"] not in text
    assert metric_value(text, "gatehouse_http_requests_total", method="POST",
                        route="/v1/auth/signup", status="201") >= 1
    assert metric_value(text, "gatehouse_http_requests_total", method="GET",
                        status="404") is not None
    # Latency histograms for requests and for the store.
    assert "# TYPE gatehouse_http_request_duration_seconds histogram" in text
    assert metric_value(text, "gatehouse_http_request_duration_seconds_count",
                        method="GET", route="/healthz") >= 3
    assert metric_value(text, "gatehouse_http_request_duration_seconds_bucket",
                        method="GET", route="/healthz", le="+Inf") >= 3
    assert "# TYPE gatehouse_store_query_duration_seconds histogram" in text
    assert metric_value(text, "gatehouse_store_query_duration_seconds_count",
                        backend="sqlite") >= 1
    assert metric_value(text, "gatehouse_store_query_duration_seconds_bucket",
                        backend="sqlite", le="+Inf") >= 1


def test_metrics_histogram_buckets_are_cumulative(anon):
    anon.get("/healthz")
    text = anon.get("/metrics").text
    buckets = []
    for line in text.splitlines():
        m = re.match(r'^gatehouse_http_request_duration_seconds_bucket\{method="GET",'
                     r'route="/healthz",le="([^"]+)"\} (\d+)$', line)
        if m:
            buckets.append((m.group(1), int(m.group(2))))
    assert len(buckets) >= 2 and buckets[-1][0] == "+Inf"
    counts = [n for _, n in buckets]
    assert counts == sorted(counts), buckets


def test_openapi_document_lists_the_implemented_routes(anon):
    r = anon.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["title"] and doc["info"]["version"]
    served = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    missing = EXPECTED_ROUTES - served
    assert not missing, f"routes API.md names that /openapi.json lacks: {sorted(missing)}"
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op.get("operationId"), (method, path)
            assert "responses" in op, (method, path)
    assert "Problem" in doc["components"]["schemas"]


def test_every_openapi_route_is_actually_served(anon):
    """Each documented method+path reaches a handler: never route_not_found or 405."""
    doc = anon.get("/openapi.json").json()
    for path, ops in doc["paths"].items():
        concrete = re.sub(r"\{(\w+)\}", lambda m: m.group(1)[:3] + "_" + "0" * 22, path)
        for method in ops:
            r = anon.request(method.upper(), concrete)
            if r.status_code in (404, 405):
                body = r.json()
                assert body["code"] not in ("route_not_found", "method_not_allowed"), \
                    (method, path, body)


def test_request_id_is_echoed_when_sane(anon):
    r = anon.get("/healthz", headers={"X-Request-Id": "abc-123_x.y:z"})
    assert r.headers["X-Request-Id"] == "abc-123_x.y:z"
    r = anon.get("/healthz", headers={"X-Request-Id": "r" * 128})
    assert r.headers["X-Request-Id"] == "r" * 128
    r = anon.get("/v1/me", headers={"X-Request-Id": "trace-42"})
    assert r.status_code == 401
    assert r.headers["X-Request-Id"] == "trace-42"
    assert r.json()["request_id"] == "trace-42"


@pytest.mark.parametrize("incoming", [None, "has space", "x" * 129, "semi;colon", "<script>"])
def test_request_id_is_generated_otherwise(anon, incoming):
    headers = {} if incoming is None else {"X-Request-Id": incoming}
    r1 = anon.get("/healthz", headers=headers)
    r2 = anon.get("/healthz", headers=headers)
    rid1, rid2 = r1.headers.get("X-Request-Id"), r2.headers.get("X-Request-Id")
    assert rid1 and rid2 and rid1 != rid2
    assert incoming is None or incoming not in rid1
    assert re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", rid1), rid1


def test_security_headers_and_date_on_every_kind_of_response(server, user, anon):
    responses = [
        anon.get("/healthz"),                                  # 200
        anon.get("/metrics"),                                  # text/plain
        anon.get("/openapi.json"),
        anon.get("/v1/me"),                                    # 401
        anon.get("/nope"),                                     # 404
        anon.delete("/healthz"),                               # 405
        user.post("/v1/workspaces", data="{", headers={"Content-Type": "application/json"}),
        user.post("/v1/workspaces", json={"name": "x"}, headers={"X-CSRF-Token": "bad"}),
        user.get("/v1/me"),
    ]
    for r in responses:
        assert_common_headers(r)


def test_api_responses_are_not_cached(user):
    r = user.get("/v1/me")
    assert r.headers.get("Cache-Control") == "no-store"


def test_unknown_route_is_404_route_not_found(anon):
    assert_problem(anon.get("/v2/nothing"), 404, "route_not_found")
    assert_problem(anon.get("/v1/workspaces/"), 404, "route_not_found")


@pytest.mark.parametrize("method,path,allow", [
    ("DELETE", "/healthz", {"GET", "HEAD"}),
    ("POST", "/metrics", {"GET", "HEAD"}),
    ("PUT", "/v1/workspaces", {"GET", "HEAD", "POST"}),
    ("GET", "/v1/auth/signup", {"POST"}),
    ("POST", "/v1/me", {"GET", "HEAD", "PATCH", "DELETE"}),
    ("PUT", "/v1/workspaces/ws_0000000000000000000000", {"GET", "HEAD", "PATCH", "DELETE"}),
])
def test_wrong_method_is_405_with_allow(anon, method, path, allow):
    r = anon.request(method, path)
    assert_problem(r, 405, "method_not_allowed")
    got = {m.strip() for m in r.headers["Allow"].split(",")}
    assert got == allow


def test_problem_body_shape(anon):
    r = anon.get("/v1/me", headers={"X-Request-Id": "shape-1"})
    body = assert_problem(r, 401, "unauthenticated")
    assert body["type"].startswith("urn:") or body["type"].startswith("http")
    assert body["title"] == "Unauthorized"
    assert body["detail"]
    assert body["instance"] == "/v1/me"


def test_keep_alive_serves_many_requests_on_one_connection(server):
    s = requests.Session()
    for _ in range(20):
        assert s.get(server.url + "/healthz", timeout=5).status_code == 200


def test_head_answers_the_get_headers_without_a_body(anon):
    get = anon.get("/healthz")
    head = anon.request("HEAD", "/healthz")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["Content-Length"] == str(len(get.content))
    assert head.headers["Content-Type"] == get.headers["Content-Type"]
