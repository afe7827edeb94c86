"""AMT scores as the paper defines them (Sec. 4.3), with a 95% confidence interval.

Each rater's scores for a method are averaged; the method's AMT score is the mean of those
per-rater averages (not the mean of all ratings: a rater who rated more images does not
weigh more). The interval is Student's t over the per-rater averages, so it reflects
the spread between people, the unit the study samples.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from scipy import stats

from rscolor.study import db
from rscolor.utils.io import atomic_write_text, check_output

CSV_NAME, MD_NAME = "amt.csv", "amt.md"
CSV_COLUMNS = ["method", "amt", "ci95_low", "ci95_high", "sd_rater_means", "raters", "ratings"]


@dataclass(frozen=True)
class MethodScore:
    method: str
    amt: float | None  # None: nobody rated this method yet
    ci_low: float | None  # None also with a single rater (no spread to estimate)
    ci_high: float | None
    sd_raters: float | None
    raters: int
    ratings: int


def amt_scores(
    ratings: Iterable[tuple[str, str, float]],
    methods: Sequence[str] | None = None,
    confidence: float = 0.95,
) -> list[MethodScore]:
    """(rater, method, score) triples -> one MethodScore per method, in `methods` order
    (default: order of first appearance)."""
    per_rater: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    order: list[str] = list(methods or [])
    for rater, method, score in ratings:
        if method not in order:
            order.append(method)
        per_rater[method][rater].append(float(score))
    return [_method_score(m, per_rater.get(m, {}), confidence) for m in order]


def _method_score(method: str, by_rater: dict[str, list[float]], confidence: float) -> MethodScore:
    means = [sum(s) / len(s) for s in by_rater.values()]
    n_ratings = sum(len(s) for s in by_rater.values())
    if not means:
        return MethodScore(method, None, None, None, None, 0, 0)
    amt = sum(means) / len(means)
    if len(means) < 2:
        return MethodScore(method, amt, None, None, None, 1, n_ratings)
    sd = math.sqrt(sum((m - amt) ** 2 for m in means) / (len(means) - 1))
    half = t_quantile((1 + confidence) / 2, len(means) - 1) * sd / math.sqrt(len(means))
    return MethodScore(method, amt, amt - half, amt + half, sd, len(means), n_ratings)


def t_quantile(p: float, df: int) -> float:
    return float(stats.t.ppf(p, df))


def _fmt(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def to_csv(scores: Sequence[MethodScore]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in scores:
        writer.writerow(
            [
                s.method,
                _fmt(s.amt, 4),
                _fmt(s.ci_low, 4),
                _fmt(s.ci_high, 4),
                _fmt(s.sd_raters, 4),
                s.raters,
                s.ratings,
            ]
        )
    return buf.getvalue()


def to_markdown(scores: Sequence[MethodScore], source: str = "") -> str:
    lines = [
        "| Method | AMT (1-100) | 95% CI | Raters | Ratings |",
        "|---|---:|---:|---:|---:|",
    ]
    for s in scores:
        ci = "" if s.ci_low is None else f"{s.ci_low:.1f} to {s.ci_high:.1f}"
        lines.append(f"| {s.method} | {_fmt(s.amt, 1)} | {ci} | {s.raters} | {s.ratings} |")
    note = (
        "\nAMT score (Wang et al. 2022, Sec. 4.3): each rater's scores for a method are "
        "averaged; the score is the mean of those averages. 95% CI: Student's t over the "
        "per-rater averages (none with fewer than 2 raters)."
    )
    if source:
        note += f" Source: {source}."
    return "\n".join(lines) + "\n" + note + "\n"


def study_scores(db_path: Path, complete_only: bool = False) -> list[MethodScore]:
    """Scores from a study database; `complete_only` keeps raters who rated every item."""
    with db.open_db(db_path) as conn:
        db.read_meta(conn)  # refuses a file that is not a study
        methods = [m.name for m in db.list_methods(conn)]
        ratings = db.all_ratings(conn)
        n_items = len(db.list_items(conn))
    if complete_only:
        counts: dict[str, int] = defaultdict(int)
        for r in ratings:
            counts[r.rater_id] += 1
        ratings = [r for r in ratings if counts[r.rater_id] == n_items]
    return amt_scores(((r.rater_id, r.method, r.score) for r in ratings), methods)


def write_report(
    db_path: Path, out_dir: Path, force: bool = False, complete_only: bool = False
) -> tuple[list[Path], str]:
    """Write amt.csv and amt.md into `out_dir` (atomically); returns paths and markdown."""
    scores = study_scores(db_path, complete_only)
    markdown = to_markdown(scores, source=db_path.name)
    targets = {out_dir / CSV_NAME: to_csv(scores), out_dir / MD_NAME: markdown}
    for path in targets:  # check both before writing either
        check_output(path, force)
    for path, text in targets.items():
        atomic_write_text(path, text)
    return list(targets), markdown
