"""The QGIS plugin: its runner (no QGIS needed), its zip, and its algorithm run headless by
QGIS's own qgis_process on a small GeoTIFF (skipped, with the reason, without QGIS)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "qgis_plugin"))
sys.path.insert(0, str(REPO / "scripts"))

from build_qgis_plugin import build  # noqa: E402
from rscolor_qgis import runner  # noqa: E402

from .helpers import samples_mosaic, save_tiny_checkpoint, write_geotiff  # noqa: E402

FAKE = '''#!{python}
"""A stand-in for rscolor: tqdm-style progress on stderr, then an output file."""
import sys, time
from pathlib import Path
args = sys.argv[1:]
src, out = Path(args[1]), Path(args[args.index("--out-dir") + 1])
if "bad" in src.name:
    print("rscolor: error: cannot read raster " + str(src), file=sys.stderr)
    sys.exit(2)
for p in (0, 40, 100):
    sys.stderr.write(f"\\rtiles: {{p:3d}}%|####| {{p}}/100 [00:00<00:00]")
    sys.stderr.flush()
    time.sleep(float(dict(zip(args, args[1:])).get("--scale", "0") == "9") * 5)
sys.stderr.write("\\n")  # tqdm ends its bar with a newline when it closes
(out / (src.stem + ".tif")).write_text(" ".join(args))
print("wrote 1 image(s) to " + str(out))
'''


@pytest.fixture
def fake_rscolor(tmp_path: Path) -> Path:
    """A venv-like folder whose bin/rscolor is the stand-in above."""
    exe = tmp_path / "env" / "bin" / "rscolor"
    exe.parent.mkdir(parents=True)
    exe.write_text(FAKE.format(python=sys.executable))
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe


def test_executable_is_found_from_parameter_setting_env_or_path(
    fake_rscolor: Path, tmp_path: Path, monkeypatch
) -> None:
    env_folder = fake_rscolor.parents[1]
    assert runner.resolve_executable(str(env_folder)) == fake_rscolor  # an environment
    assert runner.resolve_executable("", str(fake_rscolor)) == fake_rscolor  # the setting
    monkeypatch.setenv(runner.ENV_VARIABLE, str(env_folder))
    assert runner.resolve_executable(None, "") == fake_rscolor
    monkeypatch.delenv(runner.ENV_VARIABLE)
    monkeypatch.setenv("PATH", str(fake_rscolor.parent))
    assert runner.resolve_executable() == fake_rscolor
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(runner.RscolorError, match="rscolor not found: set its environment"):
        runner.resolve_executable()
    with pytest.raises(runner.RscolorError, match="no rscolor executable in"):
        runner.resolve_executable(str(tmp_path))


def test_arguments_pass_scale_auto_through_and_check_values() -> None:
    job = runner.Job(Path("pan.tif"), band=2, scale="auto", saturation=0.8, model="m.onnx")
    args = job.arguments(Path("out"))
    assert args[:2] == ["colorize", "pan.tif"]
    for flag, value in (("--scale", "auto"), ("--band", "2"), ("--format", "cog"),
                        ("--saturation", "0.8"), ("--checkpoint", "m.onnx")):  # fmt: skip
        assert args[args.index(flag) + 1] == value
    numeric = runner.Job(Path("p.tif"), scale=" 0.25 ").arguments(Path("o"))
    assert numeric[numeric.index("--scale") + 1] == "0.25"
    assert "--saturation" not in runner.Job(Path("p.tif")).arguments(Path("o"))
    for bad in ("fast", "-1", "0"):
        with pytest.raises(runner.RscolorError, match="working scale"):
            runner.check_scale(bad)


def test_progress_is_read_from_tqdm_output() -> None:
    text = "\rtiles:   0%|          | 0/20 [00:00<?, ?tile/s]\rtiles:  45%|####5     | 9/20"
    assert runner.progress_values(text) == [0.0, 0.45 * runner.TILES_SHARE]
    assert runner.progress_values("wrote 1 image(s) to out") == []


def test_run_reports_progress_and_moves_the_output(fake_rscolor: Path, tmp_path: Path) -> None:
    progress: list[float] = []
    lines: list[str] = []
    dest = tmp_path / "results" / "colour.tif"
    runner.run(fake_rscolor, runner.Job(tmp_path / "pan.tif"), dest, progress.append, lines.append)
    assert progress == sorted(progress) and progress[0] == 0 and progress[-1] == 100.0
    assert 0.4 * runner.TILES_SHARE in progress
    assert "--scale auto" in dest.read_text() and any("wrote 1 image" in x for x in lines)
    assert [p.name for p in dest.parent.iterdir()] == ["colour.tif"]  # no temp folder left
    with pytest.raises(runner.RscolorError, match="exit 2.*cannot read raster"):
        runner.run(fake_rscolor, runner.Job(tmp_path / "bad.tif"), tmp_path / "x.tif")
    with pytest.raises(runner.RscolorError, match="canceled"):  # the stand-in sleeps 5 s
        slow = runner.Job(tmp_path / "slow.tif", scale="9")
        runner.run(fake_rscolor, slow, tmp_path / "y.tif", is_canceled=lambda: True)
    assert not (tmp_path / "x.tif").exists() and not (tmp_path / "y.tif").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".rscolor-")]


def test_plugin_zip_has_the_plugin_folder_at_its_top(tmp_path: Path) -> None:
    zip_path = build(tmp_path / "rscolor_qgis.zip")
    names = zipfile.ZipFile(zip_path).namelist()
    for required in ("metadata.txt", "__init__.py", "provider.py", "algorithm.py", "LICENSE"):
        assert f"rscolor_qgis/{required}" in names
    assert all(n.startswith("rscolor_qgis/") and "__pycache__" not in n for n in names)
    metadata = zipfile.ZipFile(zip_path).read("rscolor_qgis/metadata.txt").decode()
    assert "hasProcessingProvider=yes" in metadata and "qgisMinimumVersion=3." in metadata


# ------------------------------------------------------------------ qgis_process
def qgis_process() -> str | None:
    """Debian's /usr/bin/qgis_process wrapper adds --noversioncheck from /etc/default/qgis,
    which qgis_process 3.22 rejects; its qgis_process.bin is the real executable."""
    for name in ("qgis_process.bin", "qgis_process"):
        found = shutil.which(name)
        if found:
            return found
    return None


def rscolor_executable() -> Path:
    return Path(sys.executable).with_name("rscolor")


def qgis_env(home: Path, plugins: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    runtime = home / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    return {
        **os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime),
        "QT_QPA_PLATFORM": "offscreen", "QGIS_PLUGINPATH": str(plugins),
    }  # fmt: skip


def run_qgis(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([qgis_process(), *args], env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip


@pytest.fixture(scope="module")
def qgis_setup(tmp_path_factory) -> tuple[dict[str, str], Path, Path]:
    """(environment, small GeoTIFF, tiny model) with the built plugin zip installed and
    enabled in a fresh QGIS profile."""
    if qgis_process() is None:
        pytest.skip("qgis_process not installed (Debian's qgis package; .ci/run installs it)")
    if not rscolor_executable().is_file():
        pytest.skip(f"no rscolor console script beside {sys.executable} (pip install -e .)")
    root = tmp_path_factory.mktemp("qgis")
    plugins = root / "plugins"
    with zipfile.ZipFile(build(root / "rscolor_qgis.zip")) as zf:
        zf.extractall(plugins)
    env = qgis_env(root / "home", plugins)
    enabled = run_qgis(["plugins", "enable", "rscolor_qgis"], env)
    if enabled.returncode != 0 and "not known" in enabled.stdout + enabled.stderr:
        pytest.skip(f"this qgis_process cannot enable plugins: {enabled.stderr.strip()[:200]}")
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    data = np.maximum(samples_mosaic(2, 3), 1)
    data[:, :20] = 0
    scene = write_geotiff(root / "pan.tif", data, nodata=0, pixel=0.5)
    assert scene["crs"]
    return env, root / "pan.tif", save_tiny_checkpoint(root / "tiny.pt")


def rscolor_accepts_scale_auto(folder: Path) -> bool:
    """Whether this rscolor's colorize takes --scale auto (issue 11 adds it): the options
    parse, so the run stops at the missing input."""
    done = subprocess.run(
        [str(rscolor_executable()), "colorize", str(folder / "missing.tif"), "-o", str(folder),
         "--scale", "auto"], capture_output=True, text=True,
    )  # fmt: skip
    return "input not found" in done.stderr


@pytest.mark.parametrize("scale", ["0.5", "auto"])
def test_qgis_process_runs_the_algorithm_headless(qgis_setup, tmp_path: Path, scale) -> None:
    import rasterio
    from rio_cogeo.cogeo import cog_validate

    env, scene, model = qgis_setup
    if scale == "auto" and not rscolor_accepts_scale_auto(tmp_path):
        pytest.skip("this rscolor's colorize does not take --scale auto yet (issue 11)")
    listed = run_qgis(["list"], env)
    assert "rscolor:colorize_panchromatic" in listed.stdout, listed.stdout[-2000:]
    out = tmp_path / "colorized.tif"
    done = run_qgis(
        ["run", "rscolor:colorize_panchromatic", "--", f"INPUT={scene}", "BAND=1",
         f"SCALE={scale}", "SATURATION=1.2", f"MODEL={model}",
         f"RSCOLOR={rscolor_executable()}", f"OUTPUT={out}"], env,
    )  # fmt: skip
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    assert "--saturation 1.2" in log and f"--scale {scale}" in log
    assert "100 - done" in log  # qgis_process's progress bar reached the end
    assert cog_validate(str(out))[0]
    with rasterio.open(scene) as src, rasterio.open(out) as dst:
        assert dst.count == 3 and dst.dtypes == ("uint8",) * 3
        assert dst.crs == src.crs and dst.transform == src.transform
        assert (dst.read_masks(1)[:, :20] == 0).all() and (dst.read_masks(1)[:, 20:] == 255).all()
        rgb = dst.read()[:, :, 20:].astype(int)
    assert np.abs(rgb[0] - rgb[2]).mean() > 1  # coloured, not gray
    assert not [p for p in tmp_path.iterdir() if p.name != out.name]  # temp folder gone
