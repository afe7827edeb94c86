"""Archive runs in this process (rscolor.archive): the scenes of files, lists and STAC
files, the manifest (a rerun skips what is done and verifies it, retries what failed),
one bad scene never stopping the others, never an overwrite without --force."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from rscolor.archive.inputs import collect_scenes
from rscolor.archive.locations import gdal_path, redact
from rscolor.archive.runner import colorize_archive
from rscolor.archive.targets import sha256
from rscolor.archive.task import ModelSpec, TaskSettings
from rscolor.errors import UserError

from .archive_data import make_archive, manifest_rows, reference_outputs, same_pixels
from .helpers import assert_user_error, run_cli


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(4 GeoTIFFs, the tiny model, their single-process outputs)."""
    root = tmp_path_factory.mktemp("archive")
    folder, model = make_archive(root, count=4, size=96)
    return folder, model, reference_outputs(folder, model, root / "reference")


def settings(model: Path, out: Path | str, **kw) -> TaskSettings:
    return TaskSettings(ModelSpec(str(model), "torch", "cpu", 1), str(out), **kw)


def run(inputs, model, out, manifest=None, **kw):
    opts = {k: kw.pop(k) for k in ("overwrite", "stac") if k in kw}
    return colorize_archive(
        [str(i) for i in inputs], str(out), settings(model, out, **opts),
        manifest=manifest, progress=False, **kw,
    )  # fmt: skip


def test_a_rerun_skips_verified_outputs_and_redoes_only_what_is_missing(archive, tmp_path):
    folder, model, reference = archive
    out = tmp_path / "out"
    first = run([folder], model, out)
    assert (first.done, first.failed, first.skipped) == (4, 0, 0)
    rows = manifest_rows(out / "rscolor-manifest.sqlite")
    assert len(rows) == 4 and {r["status"] for r in rows.values()} == {"done"}
    for row in rows.values():
        output = Path(row["output"])
        assert row["checksum"] == sha256(output) and row["writes"] == 1
        assert row["attempts"] == 1 and row["pixels"] > 0 and row["seconds"] > 0
        assert same_pixels(output, reference / output.name)
    assert not (out / ".rscolor-staging").exists()
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("*.tif")}
    again = run([folder], model, out)
    assert (again.done, again.failed, again.skipped) == (0, 0, 4)
    assert stamps == {p.name: p.stat().st_mtime_ns for p in out.glob("*.tif")}
    (out / "s01.tif").unlink()  # gone: made again
    (out / "s02.tif").write_bytes(b"edited")  # changed: refused, never overwritten
    third = run([folder], model, out)
    assert (third.done, third.failed, third.skipped) == (1, 1, 2)
    assert "s02.tif changed since it was written" in third.failures[0][1]
    assert (out / "s02.tif").read_bytes() == b"edited"
    forced = run([folder], model, out, overwrite=True)
    assert forced.done == 4 and same_pixels(out / "s02.tif", reference / "s02.tif")


def test_one_bad_scene_fails_alone_with_its_reason_and_is_retried(archive, tmp_path):
    folder, model, _ = archive
    mixed = tmp_path / "mixed"
    shutil.copytree(folder, mixed)
    (mixed / "broken.tif").write_bytes(b"not a tiff")
    out = tmp_path / "out"
    summary = run([mixed], model, out, retries=2)
    assert (summary.done, summary.failed) == (4, 1)
    row = manifest_rows(out / "rscolor-manifest.sqlite")[str(mixed / "broken.tif")]
    assert row["status"] == "failed" and row["attempts"] == 3
    assert "broken.tif" in row["reason"] and "\n" not in row["reason"]
    assert not (out / "broken.tif").exists()
    (mixed / "broken.tif").unlink()
    shutil.copy(folder / "s00.tif", mixed / "broken.tif")  # fixed: the rerun does only it
    rerun = run([mixed], model, out)
    assert (rerun.done, rerun.failed, rerun.skipped) == (1, 0, 4)


def test_an_existing_output_not_from_the_manifest_is_refused_without_force(archive, tmp_path):
    folder, model, _ = archive
    out = tmp_path / "out"
    out.mkdir()
    (out / "s03.tif").write_bytes(b"someone else's")
    summary = run([folder], model, out)
    assert (summary.done, summary.failed) == (3, 1)
    assert summary.failures[0][1].endswith("s03.tif exists (use --force to overwrite)")
    assert (out / "s03.tif").read_bytes() == b"someone else's"


def test_lists_stac_files_collisions_and_remote_names(archive, tmp_path):
    folder, _, _ = archive
    listing = tmp_path / "scenes.txt"
    listing.write_text(f"# two scenes\n{folder / 's00.tif'}\n\ns3://bucket/a/s01.tif\n")
    items = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": "one", "properties": {"datetime": "2020-01-02T00:00:00Z"},
             "assets": {"pan": {"href": "in/s02.tif"}, "thumb": {"href": "t.png"}}},
            {"type": "Feature", "id": "two", "properties": {}, "assets": {"rgb": {"href": "x"}}},
        ],
    }  # fmt: skip
    stac = tmp_path / "items.json"
    stac.write_text(json.dumps(items))
    dup = tmp_path / "other" / "s00.tif"
    dup.parent.mkdir()
    shutil.copy(folder / "s00.tif", dup)
    scenes = collect_scenes([f"@{listing}", str(stac), str(dup)], str(tmp_path / "o"), "pan")
    by_source = {s.source: s for s in scenes}
    assert by_source["s3://bucket/a/s01.tif"].name == "s01.tif"
    one = by_source[os.path.abspath(tmp_path / "in" / "s02.tif")]
    assert (one.name, one.item_id, one.datetime) == ("one.tif", "one", "2020-01-02T00:00:00Z")
    two = by_source[f"{stac}#two"]
    assert two.problem == "STAC item two has no asset 'pan' (assets: rgb)"
    for source in (str(folder / "s00.tif"), str(dup)):
        assert "would write one output s00.tif" in by_source[source].problem
    (no_asset, _) = collect_scenes([str(stac)], str(tmp_path / "o"))
    assert no_asset.problem.endswith("has 2 assets: choose one with --asset (pan, thumb)")
    with pytest.raises(UserError, match="input not found"):
        collect_scenes([str(tmp_path / "nope.tif")], str(tmp_path / "o"))


def test_locations_and_redaction(monkeypatch) -> None:
    assert gdal_path("s3://b/k.tif") == "/vsis3/b/k.tif"
    assert gdal_path("https://h/x.tif") == "/vsicurl/https://h/x.tif"
    assert gdal_path("/vsis3/b/k.tif") == "/vsis3/b/k.tif"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-value")
    text = "https://user:pw@h/x.tif?X-Amz-Signature=abc failed: s3cr3t-value"
    assert redact(text) == "https://***@h/x.tif?*** failed: ***"


def test_stac_items_beside_the_outputs(archive, tmp_path):
    import pystac

    folder, model, _ = archive
    out = tmp_path / "out"
    summary = run([folder / "s00.tif"], model, out, stac=True)
    assert summary.done == 1
    item = pystac.Item.from_dict(json.loads((out / "s00.json").read_text()))
    assert item.assets["visual"].href == "./s00.tif" and item.bbox is not None
    assert item.properties["proj:code"] == "EPSG:32633"
    assert item.properties["processing:software"]["rscolor"]
    with pytest.raises(UserError, match="not to s3://"):
        run([folder], model, "s3://bucket/out", manifest=tmp_path / "m.sqlite", stac=True)
    with pytest.raises(UserError, match="needs --manifest"):
        run([folder], model, "s3://bucket/out")


def test_archive_options_are_one_line_errors(archive, tmp_path, capsys) -> None:
    folder, model, _ = archive
    base = ["colorize", folder, "-o", tmp_path / "o", "--checkpoint", model]
    cases = [
        (["--workers", "0"], "--workers must be at least 1"),
        (["--workers", "1", "--scheduler", "tcp://127.0.0.1:9"], "choose one of --workers"),
        (["--manifest", tmp_path / "m.sqlite", "--skip-existing"], "resumes from its manifest"),
        (["--retries", "-1"], "--retries must be at least 0"),
        (["--retries", "1", "--checkpoint", tmp_path / "none.pt"], "not found"),  # before scenes
    ]
    for extra, needle in cases:
        code, _, err = run_cli([*base, *extra], capsys)
        assert_user_error(code, err, needle)
    code, _, err = run_cli(["colorize", folder, "-o", "s3://b/p", "--checkpoint", model], capsys)
    assert_user_error(code, err, "needs --manifest")
    code, _, err = run_cli(["colorize", f"@{tmp_path / 'none.txt'}", "-o", tmp_path / "o"], capsys)
    assert_user_error(code, err, "list of inputs not found")


def test_a_scene_whose_worker_died_too_often_fails_with_one_line() -> None:
    from distributed import KilledWorker

    from rscolor.archive.runner import _result
    from rscolor.archive.task import Job

    class Lost:
        def result(self):
            raise KilledWorker("rscolor-scene-1", "tcp://127.0.0.1:1", "died 4 times\nmore")

    result = _result(Lost(), Job("/data/a.tif", "a.tif"))
    assert not result.ok and result.source == "/data/a.tif"
    assert result.reason == "KilledWorker: its worker died while running it"


def test_a_scene_finished_before_its_worker_died_is_kept_not_failed(archive, tmp_path):
    """Dask gives up on a scene whose workers died too often (KilledWorker); one of them may
    have published its output before dying. The run adopts that output as done (not written
    again), and a rerun after such a failure keeps it instead of refusing it as existing."""
    from rscolor.archive.manifest import Manifest
    from rscolor.archive.runner import _finished_before_a_death
    from rscolor.archive.task import Job, SceneResult

    folder, model, reference = archive
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(reference / "s00.tif", out / "s00.tif")  # published, never reported
    source, reason = str(folder / "s00.tif"), "KilledWorker: its worker died while running it"
    lost = SceneResult(source, False, reason)
    kept = _finished_before_a_death(lost, Job(source, "s00.tif"), settings(model, out))
    assert kept.ok and not kept.wrote and kept.checksum == sha256(out / "s00.tif")
    absent = Job(str(folder / "s01.tif"), "s01.tif")
    assert _finished_before_a_death(lost, absent, settings(model, out)) is lost
    forced = settings(model, out, overwrite=True)  # the file may be the old one: not adopted
    assert _finished_before_a_death(lost, Job(source, "s00.tif"), forced) is lost
    record = Manifest(out / "rscolor-manifest.sqlite")  # a manifest from before this rule
    record.plan(source, str(out / "s00.tif"))
    record.start(source)
    record.failed(source, reason)
    record.close()
    stamp = (out / "s00.tif").stat().st_mtime_ns
    rerun = run([folder / "s00.tif"], model, out)
    assert (rerun.done, rerun.failed) == (1, 0), rerun.failures
    assert (out / "s00.tif").stat().st_mtime_ns == stamp
    row = manifest_rows(out / "rscolor-manifest.sqlite")[source]
    assert row["status"] == "done" and row["checksum"] == sha256(out / "s00.tif")


def test_one_progress_bar_over_the_scenes(archive, tmp_path, capsys):
    """One bar for the run (not one per scene): scenes done of all, failed, MP/s, ETA."""
    folder, model, _ = archive
    out = tmp_path / "out"
    colorize_archive([str(folder)], str(out), settings(model, out), progress=True)
    err = capsys.readouterr().err
    frames = [f for f in err.replace("\r", "\n").splitlines() if f.startswith("scenes:")]
    assert frames and all("/4 [" in f for f in frames)  # one bar, over the 4 scenes
    last = frames[-1]
    assert last.startswith("scenes: 100%") and "4/4 [" in last and "<00:00" in last  # ETA
    assert "done=4" in last and "failed=0" in last and "mp_s=" in last


def test_two_inputs_for_one_output_name_fail_in_the_manifest_and_neither_is_written(
    archive, tmp_path
):
    folder, model, _ = archive
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(folder / "s01.tif", other / "s00.tif")  # another scene, the same file name
    out = tmp_path / "out"
    summary = run([folder / "s00.tif", other / "s00.tif"], model, out)
    assert (summary.done, summary.failed) == (0, 2)
    rows = manifest_rows(out / "rscolor-manifest.sqlite")
    for source, reason in summary.failures:
        assert "would write one output s00.tif: rename one" in reason and "\n" not in reason
        assert rows[source]["status"] == "failed" and rows[source]["reason"] == reason
    assert not (out / "s00.tif").exists()
