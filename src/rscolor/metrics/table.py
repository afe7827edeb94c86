"""The metrics table ``rscolor evaluate`` prints: one row per method, one column per metric."""

from __future__ import annotations

from rscolor.metrics.catalog import METRICS
from rscolor.metrics.image_metrics import METRIC_KEYS

# The per-image scores, then those `summarize` derives from their means (the gap).
COLUMNS = (*METRIC_KEYS, *(m.key for m in METRICS if m.source == "summary"))


def format_table(rows: dict[str, dict[str, float]]) -> str:
    """Rows of metric values (NaN where a row lacks one) as a fixed-width text table."""
    keys, widths = COLUMNS, [max(11, len(k) + 2) for k in COLUMNS]
    head = f"{'':<12}" + "".join(f"{k:>{w}}" for k, w in zip(keys, widths, strict=True))
    lines = [head]
    for name, row in rows.items():
        cells = (f"{row.get(k, float('nan')):>{w}.4f}" for k, w in zip(keys, widths, strict=True))
        lines.append(f"{name:<12}" + "".join(cells))
    return "\n".join(lines)
