"""The rating web app (Flask); `rscolor.study.server` serves it with waitress.

Flask gives routing, request parsing, templates with auto-escaping and a test client.

Safety: images are reached only by their random item id (no path ever comes from a
request); a rater's session is a random token in an HttpOnly, SameSite cookie; every
write must name the session's own rater id; scores are integers 1..100; cross-origin
POSTs are refused; requests whose Host header is not the server's own address are refused
(a DNS-rebinding page cannot reach a localhost study); resume tokens never reach the access
log; a resume link does not replace another rater's session without the rater's choice.
"""

from __future__ import annotations

import io
import ipaddress
import re
import secrets
import sqlite3
from contextlib import ExitStack
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from flask import (
    Flask,
    Response,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from PIL import Image
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response as BaseResponse  # what redirect() returns

from rscolor.color import rgb_luminance_gray
from rscolor.data.images import read_image
from rscolor.errors import UserError
from rscolor.study import db

COOKIE = "rscolor_study"
COOKIE_MAX_AGE = 180 * 24 * 3600
RATER_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
SCORE_RE = re.compile(r"\s*\d{1,3}\s*")
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
CSP = (
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class SubmitError(Exception):
    """A refused rating: HTTP status and a message for the rater."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def parse_score(raw: Any) -> int:
    """An integer 1..100, given as a JSON integer or a form string of digits."""
    if isinstance(raw, bool):
        raise SubmitError(400, "the score must be a whole number from 1 to 100")
    if isinstance(raw, int):
        score = raw
    elif isinstance(raw, str) and SCORE_RE.fullmatch(raw):
        score = int(raw)
    else:
        raise SubmitError(400, "the score must be a whole number from 1 to 100")
    if not db.SCORE_MIN <= score <= db.SCORE_MAX:
        raise SubmitError(400, f"the score must be from {db.SCORE_MIN} to {db.SCORE_MAX}")
    return score


def submit_rating(conn: sqlite3.Connection, session_rater: str | None, payload: dict) -> int:
    """Validate one submission against the session and save it; returns the score."""
    if session_rater is None:
        raise SubmitError(401, "no rater session: start at the study's front page")
    if payload.get("rater_id") != session_rater:
        raise SubmitError(403, "this rater id is not the one of your session")
    item_id = payload.get("item_id")
    if not isinstance(item_id, str) or db.get_item(conn, item_id) is None:
        raise SubmitError(404, "unknown image")
    score = parse_score(payload.get("score"))
    db.save_rating(conn, session_rater, item_id, score)
    return score


@lru_cache(maxsize=64)
def _png(path: str, derive_gray: bool) -> bytes:
    image = read_image(path)
    if derive_gray and image.ndim == 3:
        image = rgb_luminance_gray(image)
    data = np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(data).save(buf, format="PNG")
    return buf.getvalue()


def item_png(item: db.Item, kind: str) -> bytes:
    """The item's colorization, or its gray: the --gray file, else the colorization's
    CIE lightness (rscolor's outputs keep the input's, so this is the input)."""
    if kind == "color":
        return _png(str(item.color_path), False)
    if item.gray_path is not None:
        return _png(str(item.gray_path), True)
    return _png(str(item.color_path), True)


def allowed_hosts(host: str, port: int, extra: tuple[str, ...] = ()) -> frozenset[str]:
    """Host header values the server answers: its bound address (and the loopback names,
    when bound to loopback) with its port, and `extra` names (a DNS name it is reached by)."""
    names = {host.lower(), *(name.lower() for name in extra)}
    if host.lower() in LOOPBACK_NAMES:
        names.update(LOOPBACK_NAMES)
    with_port = {f"[{n}]:{port}" if ":" in n else f"{n}:{port}" for n in names}
    bare = {f"[{n}]" if ":" in n else n for n in names} if port == 80 else set()
    return frozenset(with_port | bare)


def host_allowed(header: str, allowed: frozenset[str], wildcard_port: int | None) -> bool:
    """Whether a request's Host is one of `allowed`; on a wildcard bind (0.0.0.0, ::),
    any IP address with the server's port is, and names only when listed."""
    header = header.lower()
    if header in allowed:
        return True
    name, _, port = header.rpartition(":")
    if wildcard_port is None or port != str(wildcard_port):
        return False
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def create_app(db_path: str | Path, behind_proxy: bool = False) -> Flask:
    """The app for one study database. `behind_proxy`: trust one reverse proxy's
    X-Forwarded-Proto/Host/For (an HTTPS front end for an online study). The Host check
    is armed by `server.make_study_server` once the port is known (``STUDY_HOSTS``)."""
    db_path = Path(db_path)
    with db.open_db(db_path) as conn:
        db.read_meta(conn)  # refuses a missing or foreign database before serving
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024
    app.config["STUDY_DB"] = db_path
    if behind_proxy:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask's documented way
            app.wsgi_app, x_for=1, x_proto=1, x_host=1
        )
    for register in (_register_hooks, _register_pages, _register_sessions, _register_api):
        register(app)
    return app


def _conn() -> sqlite3.Connection:
    """This request's connection (closed in teardown)."""
    if "study_conn" not in g:
        g.study_stack = ExitStack()
        g.study_conn = g.study_stack.enter_context(db.open_db(current_app.config["STUDY_DB"]))
    return g.study_conn


def _session_rater() -> str | None:
    return db.rater_for_token(_conn(), request.cookies.get(COOKIE))


def _set_session(response: BaseResponse, token: str) -> BaseResponse:
    response.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
        path="/",
    )
    return response


def _progress(rater_id: str) -> tuple[str | None, int, int]:
    """(next item id or None, rated so far, total)."""
    order = db.rater_order(_conn(), rater_id)
    scores = db.rater_scores(_conn(), rater_id)
    pending = [item for item in order if item not in scores]
    return (pending[0] if pending else None), len(order) - len(pending), len(order)


def _message(text: str, status: int):
    return render_template("message.html", message=text), status


# Connection teardown, the Host and same-origin checks, the security headers.
def _register_hooks(app: Flask) -> None:
    @app.teardown_appcontext
    def _close(_exc):
        g.pop("study_conn", None)
        stack = g.pop("study_stack", None)
        if stack is not None:
            stack.close()

    @app.before_request
    def _own_host():
        allowed = current_app.config.get("STUDY_HOSTS")
        if allowed is not None and not host_allowed(
            request.host, allowed, current_app.config.get("STUDY_WILDCARD_PORT")
        ):
            abort(400)

    @app.before_request
    def _same_origin_posts():
        origin = request.headers.get("Origin")
        if request.method == "POST" and origin and origin != request.host_url.rstrip("/"):
            abort(403)

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"  # no-referrer makes Origin "null"
        response.headers["Content-Security-Policy"] = CSP
        response.headers.setdefault("Cache-Control", "no-store")
        return response


# The front page, starting a rater, the rating page and its form post.
def _register_pages(app: Flask) -> None:
    @app.get("/")
    def index():
        if _session_rater() is not None:
            return redirect(url_for("rate"), 303)
        return render_template("start.html")

    @app.post("/start")
    def start():
        if _session_rater() is not None:
            return redirect(url_for("rate"), 303)
        wanted = request.form.get("rater_id", "").strip()
        if wanted and not RATER_ID_RE.fullmatch(wanted):
            error = "A rater id is 1 to 40 letters, digits, '.', '_' or '-'."
            return render_template("start.html", error=error, rater_id=wanted), 400
        try:
            token = db.create_rater(_conn(), wanted or _new_rater_id())
        except ValueError:
            error = (
                "This rater id is already in use. If it is yours, open your resume "
                "link; otherwise choose another."
            )
            return render_template("start.html", error=error, rater_id=wanted), 409
        return _set_session(redirect(url_for("rate"), 303), token)

    @app.get("/rate")
    def rate():
        rater = _session_rater()
        if rater is None:
            return redirect(url_for("index"), 303)
        item_id, done, total = _progress(rater)
        resume = url_for("resume", token=request.cookies[COOKIE], _external=True)
        if item_id is None:
            return render_template("done.html", rater_id=rater, total=total, resume_url=resume)
        return render_template(
            "rate.html", rater_id=rater, item_id=item_id, done=done, total=total, resume_url=resume
        )

    @app.post("/rate")
    def rate_post():
        try:
            submit_rating(_conn(), _session_rater(), request.form.to_dict())
        except SubmitError as exc:
            return _message(exc.message, exc.status)
        return redirect(url_for("rate"), 303)


# Resume links (with the confirmed rater switch) and leaving.
def _register_sessions(app: Flask) -> None:
    @app.get("/resume/<token>")
    def resume(token: str):
        rater = db.rater_for_token(_conn(), token)
        if rater is None:
            return _message("This resume link is not valid.", 404)
        current = _session_rater()
        if current is not None and current != rater:  # ask; a GET never switches raters
            return render_template("switch.html", current=current, rater=rater, token=token)
        return _set_session(redirect(url_for("rate"), 303), token)

    @app.post("/resume/<token>")
    def resume_confirm(token: str):
        if db.rater_for_token(_conn(), token) is None:
            return _message("This resume link is not valid.", 404)
        if request.form.get("switch") != "yes":
            return redirect(url_for("rate"), 303)
        return _set_session(redirect(url_for("rate"), 303), token)

    @app.post("/leave")
    def leave():
        message = "Thank you. Your ratings are saved; use your resume link to continue later."
        response = Response(render_template("message.html", message=message))
        response.delete_cookie(COOKIE, path="/")
        return response


# The images (for a session only) and the JSON API.
def _register_api(app: Flask) -> None:
    @app.get("/image/<item_id>/<kind>")
    def image(item_id: str, kind: str):
        if _session_rater() is None:
            abort(401)
        item = db.get_item(_conn(), item_id)
        if item is None or kind not in ("gray", "color"):
            abort(404)
        try:
            data = item_png(item, kind)
        except UserError:
            abort(404)  # the file went away since the study was created
        response = Response(data, mimetype="image/png")
        response.headers["Cache-Control"] = "private, max-age=86400"
        return response

    @app.get("/api/me")
    def api_me():
        rater = _session_rater()
        if rater is None:
            return jsonify(error="no rater session"), 401
        _next, done, total = _progress(rater)
        return jsonify(rater_id=rater, rated=done, total=total)

    @app.get("/api/ratings")
    def api_ratings():
        rater = _session_rater()
        if rater is None:
            return jsonify(error="no rater session"), 401
        return jsonify(rater_id=rater, ratings=db.rater_scores(_conn(), rater))

    @app.post("/api/ratings")
    def api_rate():
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return jsonify(error="send a JSON object {rater_id, item_id, score}"), 400
        try:
            score = submit_rating(_conn(), _session_rater(), payload)
        except SubmitError as exc:
            return jsonify(error=exc.message), exc.status
        return jsonify(ok=True, item_id=payload["item_id"], score=score)


def _new_rater_id() -> str:
    return "r-" + secrets.token_hex(4)
