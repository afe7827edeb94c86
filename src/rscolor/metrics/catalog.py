"""The one table of metrics: every score a validation row, a history or a benchmark table
holds, with its title, digits, direction and where it appears.

Reports, paired comparisons, curves, the per-class breakdown and the best-epoch selection
all read it (as torchmetrics' ``higher_is_better``): a metric without a direction
(colourfulness: closer to the truth's is better) is never compared or selected, and a key
not in the table is an error wherever its direction is needed, never "higher is better" by
default. A new metric: its computation, then its row here (docs/architecture.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# image: per image (`image_metrics`); summary: from the per-image means (`summarize`);
# pooled: over the set's pixels (`metrics/chroma`); training: a training loss.
Source = Literal["image", "summary", "pooled", "training"]


class UnknownMetric(ValueError):
    """A key the table does not know, where its direction or flags are needed."""


@dataclass(frozen=True)
class Metric:
    key: str
    title: str  # its column in the benchmark tables
    higher_is_better: bool | None  # None: no direction (closer to the truth's is better)
    digits: int = 2  # decimals in the benchmark tables
    source: Source = "image"
    tabled: bool = True  # a column of table.md / table.csv / runs.csv when a row holds it
    compared: bool = False  # a column of comparisons.md (paired differences and verdicts)
    curve: str | None = None  # its panel's title in curves.png; None: not plotted
    per_class: bool = False  # a column of per_class.csv
    selectable: bool = False  # a value of train.select_metric
    lead: int | None = None  # its place where comparisons and curves list it (0 first)
    truth: str | None = None  # the same measure of the ground truth (a line on its curve)

    def __post_init__(self) -> None:
        if (self.compared or self.selectable) and self.higher_is_better is None:
            raise ValueError(f"metric {self.key!r}: compared or selected needs a direction")
        if (self.compared or self.curve) and self.lead is None:
            raise ValueError(f"metric {self.key!r}: compared or plotted needs a lead")
        if self.source == "training" and (self.tabled or self.compared or self.curve):
            raise ValueError(f"metric {self.key!r}: a training loss is only selected")


# In the order of the benchmark tables (the paper's acc2, acc5 first). The comparisons and
# curves lead with CIEDE2000 (the project's metric), then acc2 (the paper's).
METRICS: tuple[Metric, ...] = (
    Metric(
        "acc2",
        "acc2",
        True,
        compared=True,
        curve="validation acc2 (%)",
        per_class=True,
        selectable=True,
        lead=1,
    ),
    Metric("acc5", "acc5", True, per_class=True, selectable=True),
    Metric("psnr", "PSNR", True, per_class=True, selectable=True),
    Metric("ssim", "SSIM", True, digits=3, per_class=True, selectable=True),
    Metric(
        "ciede2000",
        "CIEDE2000",
        False,
        compared=True,
        curve="validation CIEDE2000 (lower is better)",
        per_class=True,
        selectable=True,
        lead=0,
    ),
    Metric("false_color", "False colour %", False, per_class=True),
    Metric(
        "colorfulness",
        "Colorfulness",
        None,
        digits=1,
        curve="validation colorfulness",
        per_class=True,
        lead=2,
        truth="colorfulness_gt",
    ),
    Metric("colorfulness_gap", "Colorfulness gap", None, digits=1, source="summary"),
    Metric("colorfulness_gt", "Ground-truth colorfulness", None, digits=1, tabled=False),
    Metric("chroma_corr", "Chroma correlation", True, digits=3, source="pooled"),
    Metric("chroma_spread", "Chroma spread", None, source="pooled"),  # 1 is best
    Metric("l1", "Training L1", False, source="training", tabled=False, selectable=True),
    Metric("train_l1", "Training L1", False, source="training", tabled=False),
)

BY_KEY = {m.key: m for m in METRICS}


def metric(key: str) -> Metric:
    """The table's row for `key`; an unknown key is an error that says where to add it."""
    found = BY_KEY.get(key)
    if found is None:
        raise UnknownMetric(
            f"unknown metric {key!r}: add it to rscolor/metrics/catalog.py (METRICS), "
            f"known: {', '.join(BY_KEY)}"
        )
    return found


def higher_is_better(key: str) -> bool:
    """The direction of `key`; an error for an unknown key or one without a direction."""
    found = metric(key)
    if found.higher_is_better is None:
        raise UnknownMetric(f"metric {key!r} has no direction: it is neither compared nor selected")
    return found.higher_is_better


def known(*keys: str) -> tuple[str, ...]:
    """`keys`, each checked against the table (for a script's or a view's own selection)."""
    return tuple(metric(k).key for k in keys)


def title(key: str) -> str:
    """The table title (the key itself for a metric the table does not list)."""
    found = BY_KEY.get(key)
    return found.title if found else key


def digits(key: str) -> int:
    found = BY_KEY.get(key)
    return found.digits if found else 2


def _leading(metrics: tuple[Metric, ...]) -> tuple[Metric, ...]:
    return tuple(sorted(metrics, key=lambda m: (m.lead is None, m.lead or 0)))


TABLED = tuple(m.key for m in METRICS if m.tabled)
NOT_TABLED = frozenset(m.key for m in METRICS if not m.tabled)
COMPARED = tuple(m.key for m in _leading(METRICS) if m.compared)
PLOTTED = tuple(m for m in _leading(METRICS) if m.curve)
PER_CLASS = tuple(m.key for m in METRICS if m.per_class)
SELECTABLE = tuple(m.key for m in METRICS if m.selectable)
