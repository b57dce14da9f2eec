"""The dashboard's static files: served at / from --web-dir, with the single-page-app
fallback for browser navigations, content types, cache headers, and the API namespace kept
out of it (unknown /v1/… paths stay 404 problem+json)."""
import pytest

from ghtest import assert_problem

INDEX = b"<!doctype html><title>Gatehouse</title><div id=app></div>"
SCRIPT = b"console.log('gatehouse');"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture(scope="module")
def web_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("web")
    (d / "index.html").write_bytes(INDEX)
    (d / "assets").mkdir()
    (d / "assets" / "index-3f2a9c.js").write_bytes(SCRIPT)
    (d / "assets" / "index-77aa01.css").write_bytes(b"body{margin:0}")
    (d / "favicon.svg").write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    (d / ".secret").write_bytes(b"hidden")
    return d


@pytest.fixture
def web(start_server, web_dir):
    return start_server(extra_args=["--web-dir", str(web_dir)])


def test_root_serves_index_html_with_the_html_security_policy(web):
    r = web.client().get("/")
    assert r.status_code == 200
    assert r.content == INDEX
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.headers["Cache-Control"] == "no-cache"
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_hashed_assets_are_cached_for_a_year_with_their_content_type(web):
    c = web.client()
    js = c.get("/assets/index-3f2a9c.js")
    assert js.status_code == 200 and js.content == SCRIPT
    assert js.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert js.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    css = c.get("/assets/index-77aa01.css")
    assert css.headers["Content-Type"] == "text/css; charset=utf-8"
    svg = c.get("/favicon.svg")
    assert svg.headers["Content-Type"] == "image/svg+xml"
    assert svg.headers["Cache-Control"] == "public, max-age=3600"
    head = c.s.head(web.url + "/assets/index-3f2a9c.js")
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(SCRIPT))


@pytest.mark.parametrize("path", ["/accept-invite?token=abc", "/settings/team", "/w/ws_x/api-keys",
                                  "/login"])
def test_browser_navigations_get_the_app(web, path):
    r = web.client().get(path, headers={"Accept": BROWSER_ACCEPT})
    assert r.status_code == 200
    assert r.content == INDEX
    assert r.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("path", ["/v1/nothing", "/v1", "/V1/ME", "/v1/workspaces/ws_x/nothing-here"])
def test_the_api_namespace_never_falls_back_to_the_app(web, path):
    assert_problem(web.client().get(path, headers={"Accept": BROWSER_ACCEPT}), 404, "route_not_found")


def test_non_browser_requests_for_unknown_paths_stay_404_problems(web):
    assert_problem(web.client().get("/nope"), 404, "route_not_found")
    assert_problem(web.client().get("/assets/missing.js"), 404, "route_not_found")


def test_no_file_outside_the_directory_or_hidden_is_served(web):
    c = web.client()
    for path in ["/.secret", "/assets/../.secret", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc%2fpasswd"]:
        r = c.get(path)
        assert r.status_code == 404, path
        assert b"hidden" not in r.content and b"root:" not in r.content
    # A browser navigation to such a path gets the app, never the file.
    r = c.get("/.secret", headers={"Accept": BROWSER_ACCEPT})
    assert r.content == INDEX


def test_only_get_and_head_reach_the_dashboard(web):
    r = web.client().post("/settings/team", data="x", headers={"Accept": BROWSER_ACCEPT})
    assert_problem(r, 404, "route_not_found")


def test_without_a_build_the_root_is_404(start_server, tmp_path):
    srv = start_server(extra_args=["--web-dir", str(tmp_path / "missing")])
    assert_problem(srv.client().get("/"), 404, "route_not_found")
    assert "dashboard: not served" in srv.stderr()


def test_dashboard_requests_are_one_route_in_metrics(web):
    c = web.client()
    assert c.get("/assets/index-3f2a9c.js").status_code == 200
    assert 'route="(dashboard)"' in c.get("/metrics").text
