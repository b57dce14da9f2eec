"""Fixtures: the real gatehouse binary on SQLite (and on PostgreSQL when GATEHOUSE_TEST_PG is set).

- `server`: one server for the whole session (fast); its teardown sends SIGTERM and asserts
  a clean exit with code 0.
- `start_server`: a factory for dedicated servers, for tests that need fresh process state
  (login throttling, shutdown); each is stopped and checked the same way.
- `user`, `other_user`, `anon`: signed-in / anonymous clients on the shared server.
- `backend_server`: parametrized over sqlite and postgres for the smoke set in test_backends.py.
"""
import os
import signal

import pytest

from ghtest import Server


def _stop_and_check(srv):
    rc = srv.stop(signal.SIGTERM, timeout=8)
    assert rc == 0, f"gatehouse did not exit cleanly on SIGTERM (exit code {rc})\n{srv.stderr()}"


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("gatehouse")
    srv = Server(f"sqlite:{d}/g.db", d).start()
    yield srv
    _stop_and_check(srv)


@pytest.fixture
def start_server(tmp_path_factory):
    started = []

    def start(db=None, extra_args=()):
        d = tmp_path_factory.mktemp("gatehouse-dedicated")
        srv = Server(db or f"sqlite:{d}/g.db", d, extra_args).start()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        if srv.proc.poll() is None:
            _stop_and_check(srv)


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    url = os.environ.get("GATEHOUSE_TEST_PG")
    if not url:
        pytest.skip("GATEHOUSE_TEST_PG is not set")
    d = tmp_path_factory.mktemp("gatehouse-pg")
    srv = Server(url, d).start()
    yield srv
    _stop_and_check(srv)


@pytest.fixture(params=["sqlite", "postgres"])
def backend_server(request):
    if request.param == "sqlite":
        return request.getfixturevalue("server")
    return request.getfixturevalue("pg_server")


@pytest.fixture
def user(server):
    return server.signup(name="Ada Lovelace")


@pytest.fixture
def other_user(server):
    return server.signup(name="Mallory Other")


@pytest.fixture
def anon(server):
    return server.client()
