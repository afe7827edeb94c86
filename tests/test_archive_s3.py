"""Object storage: scenes read through /vsis3/ (and s3:// URLs, and a STAC ItemCollection
whose assets point there), outputs written to an s3:// prefix, against a local
S3-compatible server (tests/s3_stub.py) on 127.0.0.1; credentials from the environment,
never in the manifest nor the messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rscolor.archive.runner import colorize_archive
from rscolor.archive.task import ModelSpec, TaskSettings

from .archive_data import make_archive, manifest_rows, reference_outputs, same_pixels
from .s3_stub import ACCESS_KEY, SECRET_KEY, s3_environment, s3_stub

COUNT = 3


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("s3")
    folder, model = make_archive(root, count=COUNT, size=96)
    return folder, model, reference_outputs(folder, model, root / "reference")


@pytest.fixture
def s3(archive, monkeypatch):
    """The server with bucket `data` holding the scenes under in/, and GDAL pointed at it."""
    folder = archive[0]
    with s3_stub() as server:
        server.objects["data"] = {f"in/{p.name}": p.read_bytes() for p in folder.glob("*.tif")}
        for name, value in s3_environment(server.endpoint).items():
            monkeypatch.setenv(name, value)
        yield server


def run(inputs, model, out, manifest, **kw):
    settings = TaskSettings(ModelSpec(str(model), "torch", "cpu", 1), out)
    return colorize_archive(inputs, out, settings, manifest=manifest, progress=False, **kw)


def download(server, key: str, path: Path) -> Path:
    path.write_bytes(server.objects["data"][key])
    return path


def test_read_through_vsis3_write_to_an_s3_prefix_then_a_rerun_does_nothing(
    archive, s3, tmp_path, capsys
):
    from rio_cogeo.cogeo import cog_validate

    _, model, reference = archive
    inputs = ["/vsis3/data/in/s00.tif", "s3://data/in/s01.tif", "/vsis3/data/in/s02.tif"]
    manifest = tmp_path / "run.sqlite"
    summary = run(inputs, model, "s3://data/out", manifest)
    assert (summary.done, summary.failed) == (COUNT, 0), summary.failures
    assert sorted(s3.puts) == [f"data/out/s{i:02d}.tif" for i in range(COUNT)]  # once each
    for i in range(COUNT):
        local = download(s3, f"out/s{i:02d}.tif", tmp_path / f"s{i:02d}.tif")
        valid, errors, _ = cog_validate(str(local), strict=True)
        assert valid and not errors
        assert same_pixels(local, reference / local.name)
    rows = manifest_rows(manifest)
    assert {r["output"] for r in rows.values()} == {f"s3://data/out/s{i:02d}.tif" for i in range(3)}
    again = run(inputs, model, "s3://data/out", manifest)
    assert (again.done, again.skipped) == (0, COUNT) and len(s3.puts) == COUNT
    text = manifest.read_bytes() + capsys.readouterr().err.encode()
    assert SECRET_KEY.encode() not in text and ACCESS_KEY.encode() not in text


def test_a_stac_item_collection_pointing_to_s3(archive, s3, tmp_path):
    _, model, reference = archive
    features = [
        {"type": "Feature", "id": f"scene-{i}", "properties": {"datetime": None},
         "assets": {"pan": {"href": f"s3://data/in/s{i:02d}.tif", "roles": ["data"]}}}
        for i in range(2)
    ]  # fmt: skip
    features.append({"type": "Feature", "id": "rgb-only", "assets": {"rgb": {"href": "x.tif"}}})
    stac = tmp_path / "items.json"
    stac.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    out = tmp_path / "out"
    summary = run([str(stac)], model, str(out), None, asset="pan")
    assert (summary.done, summary.failed) == (2, 1)
    assert summary.failures == [
        (f"{stac}#rgb-only", "STAC item rgb-only has no asset 'pan' (assets: rgb)")
    ]
    assert same_pixels(out / "scene-1.tif", reference / "s01.tif")


def test_access_denied_and_an_unreachable_url_fail_alone_with_one_line(
    archive, s3, tmp_path, monkeypatch, capsys
):
    _, model, _ = archive
    s3.objects["private"] = dict(s3.objects["data"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "not-the-key")
    inputs = ["/vsis3/private/in/s00.tif", "/vsicurl/http://127.0.0.1:9/nothing.tif"]
    summary = run(inputs, model, str(tmp_path / "out"), None)
    reasons = dict(summary.failures)
    assert summary.failed == 2 and summary.done == 0
    assert "Access Denied" in reasons["/vsis3/private/in/s00.tif"]
    assert "connect" in reasons["/vsicurl/http://127.0.0.1:9/nothing.tif"].lower()
    assert all("\n" not in r for r in reasons.values())
    assert SECRET_KEY not in capsys.readouterr().err
