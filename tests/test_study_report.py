"""The AMT arithmetic (paper Sec. 4.3) on a hand-made table, and the CSV/Markdown report."""

from __future__ import annotations

import csv
import io
import math

import pytest

from rscolor.cli.main import main
from rscolor.errors import UserError
from rscolor.study import db
from rscolor.study.report import amt_scores, study_scores, to_csv, to_markdown, write_report

from .helpers import make_study

# rater, method, score. Per-rater means: A: r1 20, r2 50, r3 80; B: r1 90, r2 80.
TABLE = [
    ("r1", "A", 10),
    ("r1", "A", 30),
    ("r1", "B", 90),
    ("r2", "A", 50),
    ("r2", "B", 70),
    ("r2", "B", 80),
    ("r2", "B", 90),
    ("r3", "A", 80),
]
T_975 = {1: 12.7062047, 2: 4.3026527}  # Student's t, 0.975 quantile, from printed tables


def test_amt_is_the_mean_of_per_rater_means_with_t_interval():
    a, b, c = amt_scores(TABLE, methods=["A", "B", "C"])
    # A: mean of (20, 50, 80) = 50, not the pooled mean of its 4 ratings (42.5).
    assert a.amt == pytest.approx(50.0)
    assert (a.raters, a.ratings) == (3, 4)
    assert a.sd_raters == pytest.approx(30.0)
    half_a = T_975[2] * 30.0 / math.sqrt(3)
    assert (a.ci_low, a.ci_high) == pytest.approx((50 - half_a, 50 + half_a), abs=1e-5)
    # B: mean of (90, 80) = 85 (pooled mean would be 82.5).
    assert b.amt == pytest.approx(85.0)
    assert (b.raters, b.ratings) == (2, 4)
    half_b = T_975[1] * math.sqrt(50.0) / math.sqrt(2)
    assert (b.ci_low, b.ci_high) == pytest.approx((85 - half_b, 85 + half_b), abs=1e-5)
    # C: listed but never rated.
    assert (c.method, c.amt, c.ci_low, c.raters, c.ratings) == ("C", None, None, 0, 0)


def test_single_rater_has_score_but_no_interval():
    (only,) = amt_scores([("r1", "A", 40), ("r1", "A", 61)])
    assert only.amt == pytest.approx(50.5)
    assert (only.ci_low, only.ci_high, only.raters, only.ratings) == (None, None, 1, 2)


def test_csv_and_markdown_carry_the_numbers():
    scores = amt_scores(TABLE, methods=["A", "B", "C"])
    rows = list(csv.DictReader(io.StringIO(to_csv(scores))))
    assert [r["method"] for r in rows] == ["A", "B", "C"]
    assert float(rows[0]["amt"]) == pytest.approx(50.0)
    assert float(rows[1]["ci95_high"]) == pytest.approx(85 + T_975[1] * 5.0, abs=1e-3)
    assert (rows[0]["raters"], rows[0]["ratings"], rows[2]["amt"]) == ("3", "4", "")
    md = to_markdown(scores, source="s.sqlite")
    assert "| B | 85.0 | 21.5 to 148.5 | 2 | 4 |" in md
    assert "| C |  |  | 0 | 0 |" in md


def _rate(db_path, rater: str, scores_by_method: dict[str, list[int]]) -> None:
    with db.open_db(db_path) as conn:
        db.create_rater(conn, rater)
        items = db.list_items(conn)
        for method, scores in scores_by_method.items():
            mine = [it for it in items if it.method == method]
            for item, score in zip(mine, scores, strict=False):
                db.save_rating(conn, rater, item.id, score)


def test_report_from_database_and_complete_only(tmp_path):
    db_path = make_study(tmp_path, images=2)  # methods alpha, beta; 4 items
    _rate(db_path, "full", {"alpha": [20, 40], "beta": [60, 100]})
    _rate(db_path, "part", {"alpha": [90]})
    alpha, beta = study_scores(db_path)
    assert (alpha.amt, alpha.raters, alpha.ratings) == (pytest.approx(60.0), 2, 3)
    assert (beta.amt, beta.raters, beta.ratings) == (pytest.approx(80.0), 1, 2)
    alpha, beta = study_scores(db_path, complete_only=True)
    assert (alpha.amt, alpha.raters) == (pytest.approx(30.0), 1)


def test_write_report_refuses_overwrite_without_force(tmp_path):
    db_path = make_study(tmp_path)
    _rate(db_path, "r1", {"alpha": [33, 35]})
    out = tmp_path / "report"
    paths, md = write_report(db_path, out)
    assert sorted(p.name for p in paths) == ["amt.csv", "amt.md"]
    assert "| alpha | 34.0 |" in (out / "amt.md").read_text()
    (out / "amt.md").unlink()  # only the CSV is left: still refused, and nothing written
    with pytest.raises(UserError, match="exists"):
        write_report(db_path, out)
    assert not (out / "amt.md").exists()
    write_report(db_path, out, force=True)
    assert (out / "amt.md").exists()
    assert sorted(p.name for p in out.iterdir()) == ["amt.csv", "amt.md"]  # no temp files


def test_report_cli_prints_table_and_errors_in_one_line(tmp_path, capsys):
    db_path = make_study(tmp_path)
    _rate(db_path, "r1", {"beta": [70]})
    main(["study", "report", "--db", str(db_path)])
    out = capsys.readouterr().out
    assert "| beta | 70.0 |  | 1 | 1 |" in out
    assert (tmp_path / "study-report" / "amt.csv").exists()
    with pytest.raises(SystemExit) as exc:
        main(["study", "report", "--db", str(tmp_path / "missing.sqlite")])
    assert exc.value.code == 2
    missing = tmp_path / "missing.sqlite"
    assert capsys.readouterr().err.strip() == f"rscolor: error: no study database at {missing}"
    not_a_study = tmp_path / "other.sqlite"
    not_a_study.write_bytes(b"this is not sqlite" * 10)
    with pytest.raises(SystemExit):
        main(["study", "report", "--db", str(not_a_study)])
    assert "rscolor: error: not an rscolor study database" in capsys.readouterr().err
