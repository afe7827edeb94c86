"""The one metric table (rscolor.metrics.catalog): every place that needs a metric's title,
digits, direction or flags reads it, and a metric it does not know is an error where a
direction is needed, never silently higher-is-better."""

from __future__ import annotations

import math
from typing import get_args

import numpy as np
import pytest

from rscolor.config import TrainConfig
from rscolor.errors import UserError
from rscolor.metrics import catalog
from rscolor.metrics.catalog import METRICS, Metric, UnknownMetric
from rscolor.metrics.image_metrics import METRIC_KEYS, image_metrics, summarize
from rscolor.metrics.table import COLUMNS, format_table
from rscolor.suites.curves import PLOTTED
from rscolor.suites.report import metric_cell, table_metrics
from rscolor.suites.stats import mean_ci
from rscolor.training.selection import is_better, selection_metric


def test_select_metric_literal_is_the_tables_selectable_keys() -> None:
    """config.py (layer 0) cannot import the table: its Literal is checked against it."""
    literal = get_args(TrainConfig.model_fields["select_metric"].annotation)
    assert set(literal) == set(catalog.SELECTABLE)
    assert len(literal) == len(catalog.SELECTABLE)


def test_every_computed_metric_is_in_the_table() -> None:
    rng = np.random.default_rng(0)
    pred, true = rng.random((16, 16, 3)), rng.random((16, 16, 3))
    per_image = image_metrics(pred, true)
    image_keys = {m.key for m in METRICS if m.source == "image"}
    assert set(per_image) == image_keys
    assert set(METRIC_KEYS) == {k for k in image_keys if catalog.metric(k).tabled}
    summary = set(summarize([per_image])) - {"images"}
    assert summary == image_keys | {m.key for m in METRICS if m.source == "summary"}


def test_keys_are_unique_and_flags_consistent() -> None:
    keys = [m.key for m in METRICS]
    assert len(keys) == len(set(keys))
    for m in METRICS:
        if m.compared or m.selectable:
            assert m.higher_is_better is not None, m.key
        if m.per_class:
            assert m.source == "image", m.key
        if m.truth:
            assert catalog.metric(m.truth).source == m.source, m.key


def test_a_row_without_a_direction_cannot_be_compared_or_selected() -> None:
    with pytest.raises(ValueError, match="needs a direction"):
        Metric("zeta", "Zeta", None, compared=True, lead=3)
    with pytest.raises(ValueError, match="needs a direction"):
        Metric("zeta", "Zeta", None, selectable=True)


def test_an_unknown_metric_has_no_direction() -> None:
    with pytest.raises(UnknownMetric, match="catalog.py"):
        catalog.higher_is_better("zeta")
    with pytest.raises(UnknownMetric, match="no direction"):
        catalog.higher_is_better("colorfulness")
    with pytest.raises(UnknownMetric):
        is_better(1.0, 0.0, "zeta")


def test_selection_reads_the_direction_and_the_flags() -> None:
    assert is_better(2.0, 3.0, "ciede2000") and not is_better(3.0, 2.0, "ciede2000")
    assert is_better(3.0, 2.0, "acc2") and is_better(1.0, 2.0, "train_l1")
    assert is_better(5.0, math.nan, "psnr")
    assert selection_metric("l1", True) == "train_l1"
    assert selection_metric("ssim", True) == "ssim"
    assert selection_metric("ssim", False) == "train_l1"
    with pytest.raises(UserError, match="cannot pick"):
        selection_metric("chroma_spread", True)
    with pytest.raises(UnknownMetric):
        selection_metric("zeta", True)


def test_the_views_keep_their_historical_order() -> None:
    """The tables, comparisons, curves and the evaluate table list what they did before
    the table existed (the outputs are unchanged)."""
    table_order = "acc2 acc5 psnr ssim ciede2000 false_color colorfulness colorfulness_gap"
    assert catalog.TABLED[:8] == tuple(table_order.split())
    assert catalog.COMPARED == ("ciede2000", "acc2")
    assert [(m.key, m.curve) for m in PLOTTED] == [
        ("ciede2000", "validation CIEDE2000 (lower is better)"),
        ("acc2", "validation acc2 (%)"),
        ("colorfulness", "validation colorfulness"),
    ]
    assert catalog.PER_CLASS == tuple(table_order.split()[:7])
    assert COLUMNS == (*METRIC_KEYS, "colorfulness_gap")
    assert format_table({"m": {}}).split("\n")[0].split() == list(COLUMNS)


def test_reports_read_titles_and_digits() -> None:
    assert catalog.title("ciede2000") == "CIEDE2000" and catalog.title("zeta") == "zeta"
    assert metric_cell(mean_ci([0.5]), "ssim") == "0.500"
    assert metric_cell(mean_ci([12.34]), "colorfulness") == "12.3"
    assert metric_cell(mean_ci([1.0]), "zeta") == "1.00"
    rows = [{"acc2": 1.0, "colorfulness_gt": 2.0, "images": 3, "l1": 0.1, "chroma_spread": 1.0}]
    assert table_metrics(rows) == ["acc2", "chroma_spread"]
