"""A small S3-compatible server for the tests, on 127.0.0.1, in a thread: what GDAL's
``/vsis3/`` uses (path-style buckets, PUT, GET with byte ranges, HEAD, DELETE, ListObjects
with prefix and delimiter). Requests must carry an AWS4 ``Authorization`` header with the
expected access key id, else 403 AccessDenied (the signature itself is not checked).

Why not moto's server mode: every botocore release (which moto needs) requires
python-dateutil < 3, and the lock has python-dateutil 4.0.0 (docs/archive.md)."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

ACCESS_KEY = "rscolor-test-key"
SECRET_KEY = "rscolor-test-secret-do-not-print"
_CREDENTIAL = re.compile(r"Credential=([^/]+)/")


def _error(code: str, message: str) -> bytes:
    return f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()


class _Handler(BaseHTTPRequestHandler):
    server: S3Stub

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _target(self) -> tuple[str, str, dict[str, list[str]]] | None:
        """(bucket, key, query), or None after answering 403 for a wrong key."""
        found = _CREDENTIAL.search(self.headers.get("Authorization", ""))
        if not found or found.group(1) != ACCESS_KEY:
            self._send(403, _error("AccessDenied", "Access Denied"))
            return None
        parts = urlsplit(self.path)
        bucket, _, key = unquote(parts.path).lstrip("/").partition("/")
        return bucket, key, parse_qs(parts.query, keep_blank_values=True)

    def do_PUT(self) -> None:
        target = self._target()
        if target is None:
            return
        bucket, key, _ = target
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not key:
            self.server.objects.setdefault(bucket, {})
        elif bucket not in self.server.objects:
            return self._send(404, _error("NoSuchBucket", bucket))
        else:
            self.server.objects[bucket][key] = body
            self.server.puts.append(f"{bucket}/{key}")
        self._send(200, headers={"ETag": f'"{hashlib.md5(body).hexdigest()}"'})

    def do_DELETE(self) -> None:
        target = self._target()
        if target is not None:
            self.server.objects.get(target[0], {}).pop(target[1], None)
            self._send(204)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        target = self._target()
        if target is None:
            return
        bucket, key, query = target
        if bucket not in self.server.objects:
            return self._send(404, _error("NoSuchBucket", bucket))
        if not key:
            return self._list(bucket, query)
        data = self.server.objects[bucket].get(key)
        if data is None:
            return self._send(404, _error("NoSuchKey", key))
        found = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if not found:
            return self._send(200, data, {"Content-Length": str(len(data)), "ETag": '"x"'})
        start = int(found.group(1))
        end = min(int(found.group(2) or len(data) - 1), len(data) - 1)
        part = data[start : end + 1]
        headers = {"Content-Range": f"bytes {start}-{end}/{len(data)}"}
        self._send(206, part, {**headers, "Content-Length": str(len(part))})

    def _list(self, bucket: str, query: dict[str, list[str]]) -> None:
        prefix = query.get("prefix", [""])[0]
        delimiter = query.get("delimiter", [""])[0]
        keys, folders = [], set()
        for key in sorted(self.server.objects[bucket]):
            if not key.startswith(prefix):
                continue
            rest = key[len(prefix) :]
            if delimiter and delimiter in rest:
                folders.add(prefix + rest.split(delimiter)[0] + delimiter)
            else:
                keys.append(key)
        data = self.server.objects[bucket]
        contents = "".join(
            f"<Contents><Key>{escape(k)}</Key><Size>{len(data[k])}</Size>"
            "<LastModified>2026-01-01T00:00:00.000Z</LastModified></Contents>"
            for k in keys
        )
        common = "".join(
            f"<CommonPrefixes><Prefix>{escape(f)}</Prefix></CommonPrefixes>"
            for f in sorted(folders)
        )
        body = (
            f"<?xml version='1.0' encoding='UTF-8'?><ListBucketResult><Name>{bucket}</Name>"
            f"<Prefix>{escape(prefix)}</Prefix><IsTruncated>false</IsTruncated>"
            f"{contents}{common}</ListBucketResult>"
        )
        self._send(200, body.encode(), {"Content-Type": "application/xml"})


class S3Stub(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.objects: dict[str, dict[str, bytes]] = {}
        self.puts: list[str] = []  # every object written, in order

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


@contextmanager
def s3_stub() -> Iterator[S3Stub]:
    """A running stub; stopped (and its thread joined, 10 s at most) on exit."""
    server = S3Stub()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def s3_environment(endpoint: str, access_key: str = ACCESS_KEY) -> dict[str, str]:
    """GDAL's settings for the stub, as environment variables (what users set too)."""
    return {
        "AWS_S3_ENDPOINT": endpoint,
        "AWS_HTTPS": "NO",
        "AWS_VIRTUAL_HOSTING": "FALSE",
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": "us-east-1",
        "GDAL_HTTP_MAX_RETRY": "0",
    }
