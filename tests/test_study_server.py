"""Issue 23, item 9: the study is served by waitress with a backlog sized for a class of
raters; 200 concurrent rating posts on 127.0.0.1 are all answered (none reset) and each is
stored once. Loopback only, bounded by timeouts."""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from pathlib import Path

from rscolor.study import db
from rscolor.study.app import COOKIE, create_app
from rscolor.study.plan import StudyOptions, open_study
from rscolor.study.server import BACKLOG, make_study_server

from .helpers import make_runs

RATERS, ITEMS = 20, 10  # 2 methods x 5 images each


def _start_rater(port: int, rater: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        body = urllib.parse.urlencode({"rater_id": rater})
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        conn.request("POST", "/start", body, headers)
        response = conn.getresponse()
        response.read()
        assert response.status == 303, response.status
        cookie = response.getheader("Set-Cookie") or ""
        return cookie.split(";")[0].split("=", 1)[1]
    finally:
        conn.close()


def _post(port: int, token: str, payload: dict, results: list, barrier) -> None:
    barrier.wait(timeout=60)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"Content-Type": "application/json", "Cookie": f"{COOKIE}={token}"}
        conn.request("POST", "/api/ratings", json.dumps(payload), headers)
        response = conn.getresponse()
        response.read()
        results.append(response.status)
    except OSError as exc:  # ConnectionResetError with the development server's queue of 5
        results.append(exc.__class__.__name__)
    finally:
        conn.close()


def test_200_concurrent_rating_posts_are_all_stored_once(tmp_path: Path) -> None:
    runs = make_runs(tmp_path / "runs", per_method=ITEMS // 2)
    study = tmp_path / "study.sqlite"
    open_study(study, StudyOptions(tuple(str(r) for r in runs), images=ITEMS // 2))
    server = make_study_server(create_app(study), "127.0.0.1", 0, quiet=True)
    assert server.backlog == BACKLOG >= 256
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.daemon = True
    thread.start()
    port = server.server_port
    try:
        tokens = {f"rater{r:02d}": _start_rater(port, f"rater{r:02d}") for r in range(RATERS)}
        with db.open_db(study) as conn:
            orders = {rater: db.rater_order(conn, rater) for rater in tokens}
        jobs = [
            {"rater_id": rater, "item_id": item, "score": 1 + (r * ITEMS + i) % 100}
            for r, (rater, items) in enumerate(sorted(orders.items()))
            for i, item in enumerate(items)
        ]
        assert len(jobs) == RATERS * ITEMS == 200
        results: list = []
        barrier = threading.Barrier(len(jobs))
        workers = [
            threading.Thread(target=_post, args=(port, tokens[j["rater_id"]], j, results, barrier))
            for j in jobs
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
    assert sorted(map(str, results)) == ["200"] * 200, sorted(set(map(str, results)))
    with db.open_db(study) as conn:
        stored = db.all_ratings(conn)
    assert len(stored) == 200
    assert len({(s.rater_id, s.item_id) for s in stored}) == 200  # each once
    expected = {(j["rater_id"], j["item_id"]): j["score"] for j in jobs}
    assert {(s.rater_id, s.item_id): s.score for s in stored} == expected
