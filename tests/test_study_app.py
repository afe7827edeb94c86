"""The rating app through Flask's test client: sessions, bad submissions, image serving,
restarts; and the study plan (which images, which methods)."""

from __future__ import annotations

import io
import sqlite3
import urllib.request

import numpy as np
import pytest
from PIL import Image

from rscolor.cli.main import main
from rscolor.color import rgb_luminance_gray
from rscolor.errors import UserError
from rscolor.study import db
from rscolor.study.app import COOKIE, create_app
from rscolor.study.plan import StudyOptions, choose_paths, open_study, plan_items
from rscolor.study.server import make_study_server

from .helpers import hidden_value, make_runs, make_study, running_server


@pytest.fixture
def study(tmp_path):
    return make_study(tmp_path, images=2)


def _rater(app, rater_id: str = ""):
    client = app.test_client()
    response = client.post("/start", data={"rater_id": rater_id})
    assert response.status_code == 303
    return client


def _next_item(client) -> str:
    return hidden_value(client.get("/rate").get_data(as_text=True), "item_id")


def _ratings(db_path) -> list[db.Rating]:
    with db.open_db(db_path) as conn:
        return db.all_ratings(conn)


def test_rater_session_rates_every_item_in_own_order(study):
    app = create_app(study)
    alice = _rater(app, "alice")
    seen = []
    for _ in range(10):  # 4 items; bounded
        page = alice.get("/rate").get_data(as_text=True)
        if 'id="done"' in page:
            break
        assert "alpha" not in page and "beta" not in page and "scenes" not in page  # blind
        item = hidden_value(page, "item_id")
        seen.append(item)
        response = alice.post("/rate", data={"rater_id": "alice", "item_id": item, "score": "42"})
        assert response.status_code == 303
    assert len(seen) == len(set(seen)) == 4
    assert alice.get("/api/me").get_json() == {"rater_id": "alice", "rated": 4, "total": 4}
    assert {r.score for r in _ratings(study)} == {42}


def test_server_assigned_id_and_taken_id(study):
    app = create_app(study)
    anon = _rater(app)
    assert anon.get("/api/me").get_json()["rater_id"].startswith("r-")
    _rater(app, "bob")
    again = app.test_client().post("/start", data={"rater_id": "bob"})
    assert again.status_code == 409
    bad = app.test_client().post("/start", data={"rater_id": "../bob"})
    assert bad.status_code == 400


@pytest.mark.parametrize("score", [0, 101, -5, 50.5, "5O", True, None, [50]])
def test_api_refuses_bad_scores(study, score):
    alice = _rater(create_app(study), "alice")
    item = _next_item(alice)
    payload = {"rater_id": "alice", "item_id": item, "score": score}
    response = alice.post("/api/ratings", json=payload)
    assert response.status_code == 400
    assert "score" in response.get_json()["error"]
    assert _ratings(study) == []


@pytest.mark.parametrize("score", ["0", "101", "4.5", "abc", "", "1e2"])
def test_form_refuses_bad_scores(study, score):
    alice = _rater(create_app(study), "alice")
    item = _next_item(alice)
    response = alice.post("/rate", data={"rater_id": "alice", "item_id": item, "score": score})
    assert response.status_code == 400
    assert _ratings(study) == []


def test_unknown_image_and_other_raters_id_are_refused(study):
    app = create_app(study)
    alice, bob = _rater(app, "alice"), _rater(app, "bob")
    item = _next_item(alice)
    ok = alice.post("/api/ratings", json={"rater_id": "alice", "item_id": item, "score": 60})
    assert ok.status_code == 200
    for bad_item in ["nope", "../study.sqlite", "", 7]:
        r = alice.post("/api/ratings", json={"rater_id": "alice", "item_id": bad_item, "score": 5})
        assert r.status_code == 404
    # Bob writing as Alice: refused, Alice's score unchanged.
    r = bob.post("/api/ratings", json={"rater_id": "alice", "item_id": item, "score": 1})
    assert r.status_code == 403
    r = bob.post("/rate", data={"rater_id": "alice", "item_id": item, "score": "1"})
    assert r.status_code == 403
    # No session, or a forged one: refused.
    nobody = app.test_client()
    assert (
        nobody.post(
            "/api/ratings", json={"rater_id": "alice", "item_id": item, "score": 1}
        ).status_code
        == 401
    )
    nobody.set_cookie(COOKIE, "forged-token")
    assert nobody.get("/api/ratings").status_code == 401
    # Each rater reads only their own ratings.
    assert alice.get("/api/ratings").get_json()["ratings"] == {item: 60}
    assert bob.get("/api/ratings").get_json() == {"rater_id": "bob", "ratings": {}}
    assert [(r.rater_id, r.score) for r in _ratings(study)] == [("alice", 60)]


def test_rater_can_change_own_score(study):
    alice = _rater(create_app(study), "alice")
    item = _next_item(alice)
    for score in (10, 90):
        assert (
            alice.post(
                "/api/ratings", json={"rater_id": "alice", "item_id": item, "score": score}
            ).status_code
            == 200
        )
    assert [r.score for r in _ratings(study)] == [90]


def test_cross_origin_post_and_oversized_body_are_refused(study):
    alice = _rater(create_app(study), "alice")
    item = _next_item(alice)
    r = alice.post(
        "/rate",
        data={"rater_id": "alice", "item_id": item, "score": "50"},
        headers={"Origin": "http://evil.example"},
    )
    assert r.status_code == 403
    r = alice.post("/api/ratings", data=b"{" + b" " * 20000 + b"}", content_type="application/json")
    assert r.status_code == 413
    assert _ratings(study) == []


def test_behind_https_proxy_cookie_is_secure_and_origin_checked(study):
    client = create_app(study, behind_proxy=True).test_client()
    proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "study.example.org"}
    r = client.post(
        "/start",
        data={"rater_id": "alice"},
        headers={**proxy, "Origin": "https://study.example.org"},
    )
    assert r.status_code == 303
    assert "Secure" in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]
    r = client.post(
        "/start", data={"rater_id": "eve"}, headers={**proxy, "Origin": "https://evil.example"}
    )
    assert r.status_code == 403


def test_images_served_by_opaque_id_only(study):
    app = create_app(study)
    alice = _rater(app, "alice")
    item_id = _next_item(alice)
    with db.open_db(study) as conn:
        item = db.get_item(conn, item_id)
    color = alice.get(f"/image/{item_id}/color")
    gray = alice.get(f"/image/{item_id}/gray")
    assert color.status_code == gray.status_code == 200
    assert color.mimetype == "image/png"
    source = np.asarray(Image.open(item.color_path).convert("RGB"))
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(color.data))), source)
    served_gray = np.asarray(Image.open(io.BytesIO(gray.data)), np.float32) / 255
    assert served_gray.ndim == 2
    expected = rgb_luminance_gray(source.astype(np.float32) / 255)
    assert np.abs(served_gray - expected).max() <= 1 / 255 + 1e-6
    for path in [
        f"/image/{item_id}/raw",
        "/image/unknown/color",
        f"/image/{item_id}/../../x",
        "/image/%2e%2e%2fstudy.sqlite/color",
        "/static/study.sqlite",
        "/study.sqlite",
    ]:
        assert alice.get(path).status_code == 404, path
    assert app.test_client().get(f"/image/{item_id}/color").status_code == 401


def test_restart_resume_link_and_leave(study):
    alice = _rater(create_app(study), "alice")
    first = _next_item(alice)
    alice.post("/rate", data={"rater_id": "alice", "item_id": first, "score": "70"})
    second = _next_item(alice)
    token = alice.get_cookie(COOKIE).value
    # A new app on the same database (a restarted server): same rater, same progress, order.
    restarted = create_app(study).test_client()
    restarted.set_cookie(COOKIE, token)
    assert restarted.get("/api/me").get_json() == {"rater_id": "alice", "rated": 1, "total": 4}
    assert _next_item(restarted) == second
    # Another browser, via the resume link shown on the page.
    page = restarted.get("/rate").get_data(as_text=True)
    assert f"/resume/{token}" in page
    other = create_app(study).test_client()
    assert other.get(f"/resume/{token}").status_code == 303
    assert other.get("/api/me").get_json()["rater_id"] == "alice"
    assert other.get("/resume/not-a-token").status_code == 404
    # Leaving clears the session (the next rater on this machine starts afresh).
    other.post("/leave")
    assert other.get("/api/me").status_code == 401


def test_real_server_on_ephemeral_port(study):
    with running_server(study) as url:
        with urllib.request.urlopen(url + "/", timeout=10) as response:
            page = response.read().decode()
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert 'name="rater_id"' in page
        port = int(url.rsplit(":", 1)[1])
        with pytest.raises(UserError, match="cannot listen"):
            make_study_server(create_app(study), "127.0.0.1", port)


# --- the plan: which images, which methods ----------------------------------------------


def test_choose_paths_shares_scenes_and_is_seeded():
    available = {"a": ["x1", "x2", "x3", "x4", "y1"], "b": ["x1", "x2", "x3", "x4", "z1", "z2"]}
    chosen = choose_paths(available, 3, seed=0)
    assert chosen["a"] == chosen["b"] and set(chosen["a"]) <= {"x1", "x2", "x3", "x4"}
    assert chosen == choose_paths(available, 3, seed=0)
    assert any(choose_paths(available, 3, seed=s) != chosen for s in range(1, 20))
    topped = choose_paths(available, 5, seed=0)  # only 4 shared: one own image each
    assert sorted(set(topped["a"]) - set(topped["b"])) == ["y1"]
    assert len(set(topped["b"]) - set(topped["a"])) == 1
    with pytest.raises(UserError, match="has 5 image"):
        choose_paths(available, 6, seed=0)


def test_named_runs_gray_folder_and_bad_runs(tmp_path):
    runs = make_runs(tmp_path / "runs")
    gray_dir = tmp_path / "gray" / "scenes"
    gray_dir.mkdir(parents=True)
    for i in range(3):  # a different suffix: matched by path without suffix
        Image.fromarray(np.full((12, 12), 40 * i, np.uint8)).save(gray_dir / f"scene_{i}.tif")
    specs = (f"ours={runs[0]}", str(runs[1]))
    methods, items = plan_items(StudyOptions(specs, images=2, gray=tmp_path / "gray"))
    assert [m.name for m in methods] == ["ours", "beta"]
    assert all(it.gray_path is not None and it.gray_path.suffix == ".tif" for it in items)
    with pytest.raises(UserError, match="same method name"):
        plan_items(StudyOptions((str(runs[0]), f"alpha={runs[1]}"), images=1))
    with pytest.raises(UserError, match="run folder not found"):
        plan_items(StudyOptions((str(tmp_path / "nope"),), images=1))
    (gray_dir / "scene_0.tif").unlink()
    with pytest.raises(UserError, match="no gray image for scenes/scene_0.png"):
        plan_items(StudyOptions(specs, images=3, gray=tmp_path / "gray"))


def test_open_study_continues_or_refuses_another_design(tmp_path):
    runs = tuple(str(r) for r in make_runs(tmp_path / "runs"))
    db_path = tmp_path / "s.sqlite"
    with pytest.raises(UserError, match="has 3 image"):
        open_study(db_path, StudyOptions(runs, images=4))
    assert not db_path.exists()  # a failed setup leaves no database
    assert open_study(db_path, StudyOptions(runs, images=2)).startswith("created study: 2 method")
    with db.open_db(db_path) as conn:
        before = [(it.id, it.rel_path) for it in db.list_items(conn)]
    assert open_study(db_path, StudyOptions(runs, images=2)).startswith("continuing")
    assert open_study(db_path, StudyOptions(())).startswith("continuing")  # no --runs
    with pytest.raises(UserError, match="holds another study"):
        open_study(db_path, StudyOptions(runs, images=3))
    with pytest.raises(UserError, match="holds another study"):
        open_study(db_path, StudyOptions(runs[:1], images=2))
    with db.open_db(db_path) as conn:
        assert [(it.id, it.rel_path) for it in db.list_items(conn)] == before
        with pytest.raises(sqlite3.IntegrityError):  # the database itself rejects bad scores
            db.create_rater(conn, "x")
            db.save_rating(conn, "x", before[0][0], 101)


def test_serve_cli_errors_are_one_line(tmp_path, capsys):
    missing = tmp_path / "new.sqlite"
    for args, message in [
        ([], "give at least one run folder"),
        (["--runs", str(tmp_path / "nope")], "run folder not found"),
        (["--port", "70000"], "--port must be from 0 to 65535"),
    ]:
        with pytest.raises(SystemExit) as exc:
            main(["study", "serve", "--db", str(missing), *args])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("rscolor: error: ") and message in err and err.count("\n") == 1
    assert not missing.exists()
