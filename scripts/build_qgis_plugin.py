"""Build the installable QGIS plugin zip: ``make qgis-plugin`` -> dist/rscolor_qgis.zip.

The zip holds the folder ``rscolor_qgis/`` at its top (what QGIS's "Install from ZIP"
expects), without caches.
"""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLUGIN = REPO / "qgis_plugin" / "rscolor_qgis"
SKIP = ("__pycache__", ".pyc", ".pyo")


def plugin_files(folder: Path = PLUGIN) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and not any(part.endswith(SKIP) for part in p.parts)
    )  # fmt: skip


def build(out: Path, folder: Path = PLUGIN) -> Path:
    """Write the plugin zip to `out` (the folder name as its top directory)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in plugin_files(folder):
            zf.write(path, Path(folder.name) / path.relative_to(folder))
        zf.write(REPO / "LICENSE", Path(folder.name) / "LICENSE")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=str(REPO / "dist" / "rscolor_qgis.zip"))
    out = build(Path(parser.parse_args().out))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
