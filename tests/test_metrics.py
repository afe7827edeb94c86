import numpy as np
import pytest

from rscolor.color import lab_to_rgb, rgb_to_lab
from rscolor.metrics import acc_eps, colorfulness, image_metrics, summarize
from rscolor.metrics.references import gray_reference, mean_chroma_reference


def test_acc_eps_hand_computed() -> None:
    truth = np.zeros((1, 4, 3), np.float32)
    truth[..., 0] = 50
    pred = truth.copy()
    pred[0, 1, 0] += 2.0  # dL = 2: correct at eps 2
    pred[0, 2, 1] += 4.4  # da = 4.4 <= 2.2 * 2: correct at eps 2
    pred[0, 3, 2] += 5.0  # db = 5 > 4.4: wrong at eps 2, right at eps 5
    assert acc_eps(pred, truth, 2) == pytest.approx(0.75)
    assert acc_eps(pred, truth, 5) == pytest.approx(1.0)
    pred[0, 0, 0] += 5.6  # rounds to dL 6 > 5
    assert acc_eps(pred, truth, 5) == pytest.approx(0.75)


def test_acc_eps_rounds_each_channel_first() -> None:
    truth = np.full((1, 1, 3), [50.4, 0.0, 0.0], np.float32)
    pred = np.full((1, 1, 3), [52.6, 0.0, 0.0], np.float32)  # 50 vs 53 after rounding
    assert acc_eps(pred, truth, 2) == 0.0


def test_identical_images_score_perfectly() -> None:
    rgb = np.random.default_rng(1).uniform(0, 1, (24, 24, 3)).astype(np.float32)
    m = image_metrics(rgb, rgb)
    assert m["acc2"] == 100.0 and m["acc5"] == 100.0
    assert m["ciede2000"] == pytest.approx(0.0, abs=1e-6)
    assert m["ssim"] == pytest.approx(1.0)
    assert m["colorfulness"] == pytest.approx(m["colorfulness_gt"])


def test_colorfulness_is_zero_for_gray_and_grows_with_saturation() -> None:
    gray = np.full((8, 8, 3), 0.5, np.float32)
    assert colorfulness(gray) == pytest.approx(0.0)
    lab = np.zeros((8, 8, 3), np.float32)
    lab[..., 0] = 50
    lab[..., 1] = np.linspace(-10, 10, 8)
    weak = colorfulness(lab_to_rgb(lab))
    lab[..., 1] *= 4
    assert colorfulness(lab_to_rgb(lab)) > weak > 0


def test_references_keep_lightness_and_set_chroma() -> None:
    rgb = np.random.default_rng(2).uniform(0.2, 0.8, (16, 16, 3)).astype(np.float32)
    gray, tint = gray_reference(rgb), mean_chroma_reference(rgb, (5.0, 10.0))
    lab, lab_gray, lab_tint = rgb_to_lab(rgb), rgb_to_lab(gray), rgb_to_lab(tint)
    # Both keep the input's lightness.
    assert np.abs(lab_gray[..., 0] - lab[..., 0]).max() < 0.05
    assert np.abs(lab_tint[..., 0] - lab[..., 0]).max() < 0.5
    # gray has no chroma; mean_chroma has the given (a, b) at every pixel.
    assert np.abs(lab_gray[..., 1:]).max() < 0.05
    assert np.allclose(lab_tint[..., 1], 5.0, atol=0.5)
    assert np.allclose(lab_tint[..., 2], 10.0, atol=0.5)
    g, m = image_metrics(gray, rgb), image_metrics(tint, rgb)
    assert g["colorfulness"] < 1.0
    assert m["colorfulness"] > g["colorfulness"]


def test_summarize_means_and_gap() -> None:
    rows = [
        {"acc2": 10.0, "colorfulness": 4.0, "colorfulness_gt": 6.0},
        {"acc2": 20.0, "colorfulness": 6.0, "colorfulness_gt": 6.0},
    ]
    out = summarize(rows)
    assert out["acc2"] == 15.0 and out["colorfulness_gap"] == -1.0 and out["images"] == 2


def test_evaluation_pools_the_chroma_correlation_when_asked(scene_tree) -> None:
    """``chroma=True``: the truth itself correlates 1 at spread 1, a constant colour 0 and
    no division by zero; the reference rows and the default call get no such keys."""
    from rscolor.data.split import relative_images
    from rscolor.metrics.evaluate import evaluate_images

    files = relative_images(scene_tree)[:4]
    colorizers = {"truth": lambda rgb: rgb, "flat": lambda rgb: rgb * 0 + 0.5}
    rows = evaluate_images(colorizers, scene_tree, files, (0.0, 0.0), chroma=True).rows
    assert rows["truth"]["chroma_corr"] == pytest.approx(1.0, abs=1e-6)
    assert rows["truth"]["chroma_spread"] == pytest.approx(1.0, abs=1e-6)
    assert rows["flat"]["chroma_corr"] == 0.0
    assert "chroma_corr" not in rows["gray"]
    plain = evaluate_images(colorizers, scene_tree, files, references=False).rows
    assert "chroma_corr" not in plain["truth"]
