"""A STAC Item beside each output COG (``--stac``): where it is (bbox and geometry in
WGS84, the raster's projection), when (the source Item's datetime, else the run's), what
made it (the processing extension: rscolor's version and the model's facts, in the
ML-model extension's field names where they fit: ``mlm:name``, ``mlm:architecture``,
``mlm:framework``). The COG is the Item's ``visual`` asset, by a relative href."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Protocol

import rscolor
from rscolor.modelfile import ModelMeta

PROCESSING = "https://stac-extensions.github.io/processing/v1.2.0/schema.json"
PROJECTION = "https://stac-extensions.github.io/projection/v1.1.0/schema.json"
COG_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"


class ItemJob(Protocol):
    """What an Item says of its scene (an :class:`rscolor.archive.task.Job`)."""

    @property
    def source(self) -> str: ...

    @property
    def item_id(self) -> str | None: ...

    @property
    def datetime(self) -> str | None: ...


def _footprint(path: Path) -> tuple[list[float] | None, dict[str, Any], dict[str, Any] | None]:
    """(bbox in WGS84, projection properties, geometry) of a raster output."""
    import rasterio
    from rasterio.warp import transform_bounds

    with rasterio.open(path) as src:
        proj: dict[str, Any] = {"proj:shape": [src.height, src.width]}
        if src.crs is None:
            return None, proj, None
        proj["proj:code"] = src.crs.to_string()
        proj["proj:transform"] = list(src.transform)[:6]
        west, south, east, north = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return [west, south, east, north], proj, {"type": "Polygon", "coordinates": [ring]}


def item_dict(output: Path, job: ItemJob, meta: ModelMeta, href_name: str) -> dict[str, Any]:
    import pystac

    bbox, proj, geometry = _footprint(output)
    when = job.datetime or dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    props = {
        "datetime": when,
        "processing:software": {"rscolor": rscolor.__version__},
        "processing:lineage": f"colorized from {job.source}",
        "mlm:name": str(meta.method or "rscolor"),
        "mlm:architecture": str(meta.extra.get("generator") or meta.method or "unknown"),
        "mlm:framework": "pytorch",
        **proj,
    }
    item = pystac.Item(
        id=job.item_id or Path(href_name).stem,
        geometry=geometry,
        bbox=bbox,
        datetime=pystac.utils.str_to_datetime(when),
        properties=props,
        stac_extensions=[PROCESSING, PROJECTION],
    )
    item.add_asset(
        "visual",
        pystac.Asset(href=f"./{Path(href_name).name}", media_type=COG_TYPE, roles=["visual"]),
    )
    return item.to_dict(include_self_link=False, transform_hrefs=False)


def write_item(output: Path, job: ItemJob, meta: ModelMeta, final: str) -> Path:
    """Write the Item of `output` beside it (same name, .json); `final` is the output's
    published location."""
    path = output.with_suffix(".json")
    path.write_text(json.dumps(item_dict(output, job, meta, final), indent=1), encoding="utf-8")
    return path
