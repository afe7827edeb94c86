"""Per-epoch history: a CSV of losses and validation metrics, and a PNG plot of it."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from rscolor.utils.io import atomic_path, atomic_write_text


def write_csv(path: str | Path, rows: list[dict[str, float]]) -> None:
    if not rows:
        return
    fields: list[str] = []
    for row in rows:
        fields += [k for k in row if k not in fields]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    atomic_write_text(path, buffer.getvalue())


def plot_history(path: str | Path, rows: list[dict[str, float]], select_metric: str) -> None:
    """Losses (left) and the validation metric that selects the best epoch (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not rows:
        return
    epochs = [r["epoch"] for r in rows]
    fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(10, 3.6))
    for key in ("l1", "ciede", "bins", "adv", "d_loss"):
        if key in rows[0]:
            ax_loss.plot(epochs, [r[key] for r in rows], marker="o", label=key)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_title("training losses (epoch mean)")
    ax_loss.legend()
    val_key = f"val_{select_metric}"
    if val_key in rows[0]:
        ax_val.plot(epochs, [r[val_key] for r in rows], marker="o", color="tab:green")
        ax_val.set_title(f"validation {select_metric}")
        ax_val.set_xlabel("epoch")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
