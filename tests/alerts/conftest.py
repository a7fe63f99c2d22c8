"""Fixtures of the budgets and alerts tests: the hand-computed warehouse, a local HTTP server
that records what it receives and a local SMTP server with a login."""

import socket
import threading
from http.server import ThreadingHTTPServer

import pytest

from bimo.settings import get_settings
from tests.alerts.data import Recorder, build_warehouse


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    build_warehouse(path)
    return get_settings(path)


@pytest.fixture
def http_server():
    handler = type("H", (Recorder,), {"plan": {}, "received": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    class Inbox:
        messages: list

        async def handle_DATA(self, server, session, envelope):
            self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
            return "250 OK"

    def auth(server, session, envelope, mechanism, data):
        ok = (data.login, data.password) == (b"bimo", b"s3cret-pw")
        return AuthResult(success=ok, handled=False)  # unhandled: the server answers 535

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    inbox.messages = []
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=auth, auth_require_tls=False
    )
    controller.start()
    yield port, inbox
    controller.stop()
