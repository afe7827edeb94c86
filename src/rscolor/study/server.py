"""The study's HTTP server: waitress, a production WSGI server (pure Python, from the
package index), in place of the standard library's development server.

The development server listened with a queue of 5: a burst of raters (a class rating at
once) had most connections reset before they reached the app. waitress accepts on its own
thread into a queue of BACKLOG, holds up to CONNECTIONS open connections and runs the app
on THREADS worker threads (each request has its own SQLite connection; the database
serialises the writes). It writes no access log of its own: `AccessLog` writes one line a
request to stderr, with resume tokens redacted.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from waitress.server import create_server
from waitress.wasyncore import loop
from werkzeug.middleware.proxy_fix import ProxyFix

from rscolor.errors import UserError
from rscolor.study.app import allowed_hosts

BACKLOG = 1024  # pending connections the kernel queues (capped by net.core.somaxconn)
CONNECTIONS = 1000  # open connections waitress serves at once
THREADS = 8  # app threads: requests are short SQLite reads and writes
TOKEN_IN_PATH_RE = re.compile(r"/resume/[^\s/?]+")


def redact(line: str) -> str:
    """An access-log line without resume tokens (they are a rater's password)."""
    return TOKEN_IN_PATH_RE.sub("/resume/[token]", line)


class AccessLog:
    """WSGI middleware: one common-log line per request on stderr, tokens redacted."""

    def __init__(self, app: Callable, stream: Any = None) -> None:
        self.app, self.stream = app, stream

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        def logged_start(status: str, headers: list, exc_info: Any = None) -> Callable:
            when = time.strftime("%d/%b/%Y %H:%M:%S")
            method, path = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO", "")
            request = f"{method} {path} {environ.get('SERVER_PROTOCOL', 'HTTP/1.1')}"
            line = f'{environ.get("REMOTE_ADDR", "-")} - - [{when}] "{request}" {status[:3]}'
            print(redact(line), file=self.stream or sys.stderr, flush=True)
            return start_response(status, headers, exc_info)

        return self.app(environ, logged_start)


class StudyServer:
    """A waitress server with the interface the CLI and tests use: ``server_port``,
    ``serve_forever`` (until ``shutdown`` or Ctrl-C) and ``server_close``."""

    def __init__(self, server: Any) -> None:
        self._server = server
        self._stop = threading.Event()

    @property
    def server_port(self) -> int:
        return int(self._server.effective_port)

    @property
    def backlog(self) -> int:
        return int(self._server.adj.backlog)

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        while not self._stop.is_set():
            loop(timeout=poll_interval, map=self._server._map, use_poll=True, count=1)

    def shutdown(self) -> None:
        self._stop.set()
        self._server.pull_trigger()

    def server_close(self) -> None:
        self._server.task_dispatcher.shutdown()
        for channel in list(self._server._map.values()):
            channel.close()


def make_study_server(
    app: Flask, host: str, port: int, quiet: bool = False, extra_hosts: tuple[str, ...] = ()
) -> StudyServer:
    """The study app served by waitress on host:port (0 = any free port; see
    `.server_port`). Arms the app's Host check with the bound address (not behind a proxy,
    whose public name only `extra_hosts` can tell)."""
    wsgi = app if quiet else AccessLog(app)
    try:
        server = create_server(
            wsgi,
            host=host,
            port=port,
            backlog=BACKLOG,
            connection_limit=CONNECTIONS,
            threads=THREADS,
            ident="rscolor-study",
            clear_untrusted_proxy_headers=False,
        )
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    study = StudyServer(server)
    behind_proxy = isinstance(app.wsgi_app, ProxyFix)
    if not behind_proxy or extra_hosts:
        app.config["STUDY_HOSTS"] = allowed_hosts(host, study.server_port, extra_hosts)
        wildcard = host in ("0.0.0.0", "::", "")
        app.config["STUDY_WILDCARD_PORT"] = study.server_port if wildcard else None
    return study
