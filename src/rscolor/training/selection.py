"""Which epoch is best: the validation score (or the training L1) and its direction, both
from the metric table (`rscolor.metrics.catalog`)."""

from __future__ import annotations

import math

from rscolor.errors import UserError
from rscolor.metrics import catalog

TRAIN_L1 = "train_l1"  # what picks the best epoch when there is no validation score


def selection_metric(select_metric: str, has_val: bool) -> str:
    """The score that picks the best epoch, as recorded: the configured validation metric,
    or the training L1 (``train_l1``) without validation images (or for a training loss
    such as ``l1``, which validation does not compute), never a training score under a
    validation name. A metric the table does not mark selectable is refused."""
    chosen = catalog.metric(select_metric)
    if not chosen.selectable:
        raise UserError(f"train.select_metric {select_metric!r} cannot pick the best epoch")
    return select_metric if has_val and chosen.source != "training" else TRAIN_L1


def is_better(score: float, best: float, metric: str) -> bool:
    """`score` beats `best` (NaN: none yet) on `metric` (in the table, with a direction)."""
    if math.isnan(best):
        return True
    if catalog.higher_is_better(metric):
        return score > best
    return score < best


def epoch_score(metric: str, row: dict[str, float], val: dict[str, float]) -> float:
    """The epoch's score on `metric`: its training L1 for ``train_l1``, else validation's."""
    return row.get("l1", math.nan) if metric == TRAIN_L1 else val.get(metric, math.nan)
