"""Fixtures: the real gatehouse binary on SQLite (and on PostgreSQL when GATEHOUSE_TEST_PG is set).

- `server`: one server for the whole session (fast); its teardown sends SIGTERM and asserts
  a clean exit with code 0.
- `start_server`: a factory for dedicated servers, for tests that need fresh process state
  (login throttling, shutdown); each is stopped and checked the same way.
- `user`, `other_user`, `anon`: signed-in / anonymous clients on the shared server.
- `backend_server`: parametrized over sqlite and postgres for the smoke set in test_backends.py.
- `smtp_sink`: a factory for real SMTP servers (aiosmtpd) that collect what they receive.
- `mail_server`: one server for the session that delivers mail over SMTP to `mailbox`, with
  `--public-url` equal to the URL it really serves on.
"""
import os
import signal

import pytest

from ghtest import Server, SmtpSink, start_with_public_url


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

    def start(db=None, extra_args=(), listen="127.0.0.1:0", nofile=None):
        d = tmp_path_factory.mktemp("gatehouse-dedicated")
        srv = Server(db or f"sqlite:{d}/g.db", d, extra_args, listen=listen, nofile=nofile).start()
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


@pytest.fixture
def smtp_sink():
    sinks = []

    def make(port=None, start=True):
        sink = SmtpSink(port)
        sinks.append(sink)
        return sink.start() if start else sink

    yield make
    for sink in sinks:
        sink.stop()


@pytest.fixture(scope="session")
def mailbox():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def mail_server(tmp_path_factory, mailbox):
    def start(db=None, extra_args=(), listen="127.0.0.1:0"):
        d = tmp_path_factory.mktemp("gatehouse-smtp")
        return Server(db or f"sqlite:{d}/g.db", d, extra_args, listen=listen).start()

    srv = start_with_public_url(start, mailbox.url)
    yield srv
    _stop_and_check(srv)
