"""Study server: the Host header is checked against the bound address (DNS rebinding),
resume tokens stay out of the access log, and a resume link asks before it replaces
another rater's session."""

from __future__ import annotations

import http.client
import io
from threading import Thread

import pytest

from rscolor.study.app import COOKIE, allowed_hosts, create_app, host_allowed
from rscolor.study.server import AccessLog, make_study_server, redact

from .helpers import make_study


@pytest.fixture
def study(tmp_path):
    return make_study(tmp_path, images=2)


def _get(port: int, path: str, host: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host})
        return conn.getresponse().status
    finally:
        conn.close()


def test_a_foreign_host_header_is_refused(study) -> None:
    server = make_study_server(create_app(study), "127.0.0.1", 0, quiet=True)
    thread = Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    port = server.server_port
    try:
        assert _get(port, "/", f"127.0.0.1:{port}") == 200
        assert _get(port, "/", f"localhost:{port}") == 200
        assert _get(port, "/", f"attacker.example:{port}") == 400  # a rebound DNS name
        assert _get(port, "/", "127.0.0.1:1") == 400
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_wildcard_binds_take_ip_addresses_and_listed_names_only() -> None:
    allowed = allowed_hosts("0.0.0.0", 8000, ("study.lab.example",))
    assert host_allowed("192.168.1.20:8000", allowed, 8000)
    assert host_allowed("study.lab.example:8000", allowed, 8000)
    assert not host_allowed("evil.example:8000", allowed, 8000)
    assert not host_allowed("192.168.1.20:9000", allowed, 8000)
    assert host_allowed("[::1]:80", allowed_hosts("::1", 80), None)


def test_resume_tokens_do_not_reach_the_access_log() -> None:
    assert redact('"GET /resume/s3cr3t HTTP/1.1" 303 -') == '"GET /resume/[token] HTTP/1.1" 303 -'
    logged = io.StringIO()
    app = AccessLog(lambda environ, start: start("303 See Other", []) or [b""], logged)
    app({"REQUEST_METHOD": "GET", "PATH_INFO": "/resume/abcdef0123"}, lambda *a: None)
    assert "abcdef0123" not in logged.getvalue() and '"GET' in logged.getvalue()
    assert "/resume/[token]" in logged.getvalue()


def test_a_resume_link_asks_before_replacing_a_session(study) -> None:
    app = create_app(study)
    bob = app.test_client()
    assert bob.post("/start", data={"rater_id": "bob"}).status_code == 303
    alice = app.test_client()
    alice.post("/start", data={"rater_id": "alice"})
    alice_token = alice.get_cookie(COOKIE).value
    page = bob.get(f"/resume/{alice_token}")
    assert page.status_code == 200 and 'id="switch"' in page.get_data(as_text=True)
    assert bob.get("/api/me").get_json()["rater_id"] == "bob"  # the GET changed nothing
    bob.post(f"/resume/{alice_token}", data={"switch": "no"})
    assert bob.get("/api/me").get_json()["rater_id"] == "bob"
    bob.post(f"/resume/{alice_token}", data={"switch": "yes"})
    assert bob.get("/api/me").get_json()["rater_id"] == "alice"
    fresh = app.test_client()  # no session: the link works at once, as before
    assert fresh.get(f"/resume/{alice_token}").status_code == 303
