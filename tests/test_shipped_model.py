"""The model that ships in the package, and the demo figure built with it."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from rscolor.color import gray_lightness, rgb_to_lab
from rscolor.data.images import read_rgb
from rscolor.demo import main as demo_main
from rscolor.inference import load_colorizer, shipped_model_path
from rscolor.inference.batch import rgb_colorizer
from rscolor.modelfile import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"


def test_shipped_model_is_small_and_loads() -> None:
    path = shipped_model_path()
    assert path.stat().st_size <= 25 * 1024 * 1024
    colorizer = load_colorizer(device="cpu")
    assert colorizer.cfg.color_space == "lab"
    assert colorizer.meta.mean_ab is not None and len(colorizer.meta.mean_ab) == 2


def test_shipped_model_keeps_the_input_lightness_and_adds_colour() -> None:
    colorizer = load_colorizer(device="cpu")
    gray = np.linspace(0.05, 0.95, 70 * 90, dtype=np.float32).reshape(70, 90)
    rgb = colorizer.colorize(gray)
    assert rgb.shape == (70, 90, 3)
    lab = rgb_to_lab(rgb)
    # Exactly where the colour is inside the sRGB gamut; outside (a few near-black pixels
    # of this ramp) the RGB clip moves L a little.
    in_gamut = ((rgb > 1e-4) & (rgb < 1 - 1e-4)).all(-1)
    assert in_gamut.mean() > 0.95
    np.testing.assert_allclose(lab[..., 0][in_gamut], gray_lightness(gray)[in_gamut], atol=0.05)
    assert np.abs(lab[..., 1:]).mean() > 0.5  # not gray


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="samples/ not present")
def test_demo_figure(tmp_path: Path) -> None:
    colorizer = load_colorizer(device="cpu")
    sample = sorted(SAMPLES.glob("*.jpg"))[0]
    samples = tmp_path / "samples"
    samples.mkdir()
    (samples / sample.name).write_bytes(sample.read_bytes())
    out = tmp_path / "out"
    out.mkdir()
    from rscolor.data.images import write_png

    truth = read_rgb(sample)
    write_png(out / f"{sample.stem}.png", colorizer.colorize_rgb(truth))
    figure = tmp_path / "fig.png"
    demo_main([str(samples), str(out), str(figure)])
    assert figure.stat().st_size > 10_000


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="samples/ not present")
def test_shipped_model_beats_the_trivial_colorizers_on_the_bundled_aid_samples() -> None:
    """The six AID samples are from the test split (never trained on). A broken or
    untrained model, or a lost saturation setting, would not be closer than both."""
    from rscolor.metrics.evaluate import evaluate_images

    colorizer = load_colorizer(device="cpu")
    assert 0.5 <= colorizer.saturation <= 2.0  # calibrated on validation (docs/model-card.md)
    assert colorizer.max_chroma is not None and 30.0 < colorizer.max_chroma < 60.0
    assert colorizer.meta.scene_px == 150 and colorizer.meta.gsd_m == 2.0  # --scale auto
    files = sorted(p.name for p in SAMPLES.glob("aid_*.jpg"))
    assert len(files) == 6
    result = evaluate_images(
        {"model": rgb_colorizer(colorizer)},
        SAMPLES,
        files,
        mean_ab=colorizer.meta.mean_ab or (0.0, 0.0),
        progress=False,
    )
    rows = result.rows
    assert rows["model"]["ciede2000"] < rows["mean_chroma"]["ciede2000"] - 0.1
    assert rows["model"]["ciede2000"] < rows["gray"]["ciede2000"] - 1.5
    assert rows["model"]["colorfulness"] > 0.45 * rows["model"]["colorfulness_gt"]
    assert rows["model"]["false_color"] < 0.05  # no blotches (issue 11)


def shipped_versions() -> list[str]:
    """The commits that changed the shipped model file (none outside a git checkout)."""
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        return []
    log = [git, "log", "--format=%h", "--", "src/rscolor/weights/default.pt"]
    done = subprocess.run(log, cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.split() if done.returncode == 0 else []


@pytest.mark.parametrize("commit", shipped_versions() or [pytest.param("", marks=pytest.mark.skip)])
def test_every_model_file_ever_shipped_still_loads(commit: str, tmp_path: Path) -> None:
    """Each version of src/rscolor/weights/default.pt in the history: its typed meta says
    what its dict said, and it colorizes."""
    show = ["git", "show", f"{commit}:src/rscolor/weights/default.pt"]
    path = tmp_path / "default.pt"
    path.write_bytes(subprocess.run(show, cwd=ROOT, capture_output=True, check=True).stdout)
    stored = load_checkpoint(path)["meta"]
    colorizer = load_colorizer(path, "cpu")
    assert colorizer.meta.to_dict() == {k: v for k, v in stored.items() if v is not None}
    assert colorizer.meta.mean_ab is not None and colorizer.train_size == 128
    rgb = colorizer.colorize(np.linspace(0, 1, 64 * 80, dtype=np.float32).reshape(64, 80))
    assert rgb.shape == (64, 80, 3) and np.isfinite(rgb).all()
