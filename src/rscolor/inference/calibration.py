"""Output calibration: pick a model's saturation (and chroma cap, chroma curve, 'bins'
temperature) on validation images, by the rule the shipped model was chosen with
(docs/model-card.md, "Calibration, chosen on validation").

`calibrate` scores every setting of a `Sweep` in one pass (one network run per image and
temperature; the gains, caps and curves are applied to the same output), every row with
the output chroma capped at the training pixels' `Sweep.chroma_percentile` (0: no cap),
which stops the rare saturated blotches a GAN generator paints. `Rule.choose` then picks
the row to ship. `rscolor calibrate` is the command; the test split is never looked at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from rscolor.color import rgb_to_lab
from rscolor.data.images import read_rgb
from rscolor.data.split import Split
from rscolor.errors import UserError
from rscolor.inference.batch import rgb_colorizer
from rscolor.inference.chroma_curve import Curve, blend_curve, fit_chroma_curve
from rscolor.inference.colorizer import Colorizer
from rscolor.metrics.evaluate import evaluate_images
from rscolor.scene.scale import resolve_scale
from rscolor.utils.sampling import evenly_spaced

Rows = dict[str, dict[str, float]]


# ------------------------------------------------------------------ the rule
def choose(
    rows: Rows, floor: float, max_false: float, ciede_limit: float | None = None
) -> str | None:
    """The row to ship. Among rows with false colour at most `max_false` %: the lowest
    CIEDE2000 of those with colourfulness at least `floor` x the ground truth's; if none
    reaches the floor, the most colourful of those with CIEDE2000 at most `ciede_limit`;
    if none is that accurate either, the most colourful. None when no row is clean."""
    clean = {k: r for k, r in rows.items() if r["false_color"] <= max_false}
    rich = {k: r for k, r in clean.items() if r["colorfulness"] >= floor * r["colorfulness_gt"]}
    if rich:
        return min(rich, key=lambda k: rich[k]["ciede2000"])
    if ciede_limit is not None:
        accurate = {k: r for k, r in clean.items() if r["ciede2000"] <= ciede_limit}
        clean = accurate or clean
    return max(clean, key=lambda k: clean[k]["colorfulness"]) if clean else None


@dataclass(frozen=True)
class Rule:
    """The shipped model's rule: false colour at most `max_false_color` % (a fifth of the
    0.05 % target, a margin for other imagery), colourfulness at least `min_colorfulness`
    of the ground truth's, else CIEDE2000 at most `max_ciede_ratio` x the `mean_chroma`
    reference's (the accuracy target: 10 % below it; None: no accuracy limit)."""

    min_colorfulness: float = 0.75
    max_false_color: float = 0.01
    max_ciede_ratio: float | None = 0.9

    def ciede_limit(self, reference: Rows) -> float | None:
        """The CIEDE2000 limit from the reference rows (`mean_chroma`), if any."""
        if self.max_ciede_ratio is None or "mean_chroma" not in reference:
            return None
        return self.max_ciede_ratio * reference["mean_chroma"]["ciede2000"]

    def choose(self, rows: Rows, ciede_limit: float | None) -> str | None:
        return choose(rows, self.min_colorfulness, self.max_false_color, ciede_limit)

    def describe(self, ciede_limit: float | None) -> str:
        """The rule in one line, with its CIEDE2000 limit."""
        limit = "" if ciede_limit is None else f"{ciede_limit:.3f}"
        limit = limit and f", else the most colourful with CIEDE2000 <= {limit}"
        return (
            f"false colour <= {self.max_false_color:g}%: the lowest CIEDE2000 with "
            f"colorfulness >= {self.min_colorfulness:g} x GT{limit}, else the most colourful"
        )


# ----------------------------------------------------------------- the sweep
@dataclass(frozen=True)
class Setting:
    """One scored row: a saturation gain, a chroma curve strength (0: none), an extra
    chroma cap (None: the percentile cap) and a 'bins' temperature (None: the model's)."""

    gain: float
    curve: float = 0.0
    cap: float | None = None
    temperature: float | None = None

    @property
    def name(self) -> str:
        name = "" if self.temperature is None else f"T {self.temperature:g} "
        name += f"gain {self.gain:g}" + (f" curve {self.curve:g}" if self.curve > 0 else "")
        return name + ("" if self.cap is None else f" cap {self.cap:g}")


@dataclass(frozen=True)
class Sweep:
    """What `calibrate` scores: every gain x curve strength x (the percentile cap and each
    of `max_chromas`) x temperature. The percentile cap comes from `cap_images` training
    images, the curve is fitted on `fit_limit` of them."""

    gains: tuple[float, ...] = (1.0, 0.9, 0.8, 0.7, 0.6)
    curve_strengths: tuple[float, ...] = (0.0,)
    max_chromas: tuple[float, ...] = ()
    temperatures: tuple[float, ...] = ()
    chroma_percentile: float = 99.9
    cap_images: int = 600
    fit_limit: int = 300

    def check(self) -> None:
        """UserError, naming the option, for a value outside its range."""
        checks: list[tuple[str, tuple[float, ...], Callable[[float], bool], str]] = [
            ("--gains", self.gains, lambda v: 0.0 <= v <= 4.0, "factors in [0, 4]"),
            ("--curve-strengths", self.curve_strengths, lambda v: v >= 0, "values >= 0"),
            ("--max-chromas", self.max_chromas, lambda v: 0 < v <= 110, "chromas in (0, 110]"),
            ("--temperatures", self.temperatures, lambda v: 0 < v <= 1, "values in (0, 1]"),
        ]
        for option, values, ok, expected in checks:
            bad = [v for v in values if not ok(v)]
            if bad:
                raise UserError(f"{option} {bad[0]:g}: expected {expected}")
        if not self.gains or not self.curve_strengths:
            raise UserError("--gains and --curve-strengths need at least one value")
        if not 0.0 <= self.chroma_percentile <= 100.0:
            raise UserError(f"--chroma-percentile {self.chroma_percentile:g}: expected 0-100")
        if self.cap_images < 1 or self.fit_limit < 1:
            raise UserError("--cap-images and --fit-limit must be at least 1")

    def settings(self) -> list[Setting]:
        temperatures: tuple[float | None, ...] = self.temperatures or (None,)
        caps: tuple[float | None, ...] = (None, *self.max_chromas)
        return [
            Setting(g, s, c, t)
            for t in temperatures
            for s in self.curve_strengths
            for g in self.gains
            for c in caps
        ]


@dataclass
class Calibration:
    """The scored rows (the settings' and the gray / mean_chroma references'), the chosen
    row (None: none within the false-colour limit) and what every row shared."""

    rows: Rows
    settings: dict[str, Setting]
    chosen: str | None
    rule: Rule
    ciede_limit: float | None
    max_chroma: float | None  # the percentile cap every row is scored with
    chroma_curve: Curve | None = None
    images: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def chosen_setting(self) -> Setting | None:
        return None if self.chosen is None else self.settings[self.chosen]

    def export_args(self) -> list[str] | None:
        """The `rscolor export` options recording the chosen row in a model file (None:
        nothing chosen, or a chroma curve, which export does not take)."""
        chosen = self.chosen_setting
        if chosen is None or chosen.curve > 0:
            return None
        args = ["--saturation", f"{chosen.gain:g}"]
        cap = self.max_chroma if chosen.cap is None else chosen.cap
        args += [] if cap is None else ["--max-chroma", f"{cap:.2f}"]
        return args + (
            [] if chosen.temperature is None else ["--temperature", f"{chosen.temperature:g}"]
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON body (`rscolor calibrate --out`; benchmarks/gpu_ship_plan.py reads it)."""
        chosen = self.chosen_setting
        return {
            **self.extra,
            "images": self.images,
            "max_chroma": self.max_chroma,
            "min_colorfulness": self.rule.min_colorfulness,
            "max_false_color": self.rule.max_false_color,
            "ciede_limit": self.ciede_limit,
            "chroma_curve": self.chroma_curve,
            "chosen": self.chosen,
            "chosen_setting": None if chosen is None else asdict(chosen),
            "export_args": self.export_args(),
            "rows": self.rows,
        }


# -------------------------------------------------------------- the pieces
def with_temperature(colorizer: Colorizer, temperature: float | None) -> Colorizer:
    """A copy of `colorizer` whose 'bins' head decodes at `temperature` (None: as is)."""
    if temperature is None:
        return colorizer
    try:
        return colorizer.calibrated(temperature=temperature)
    except UserError as exc:  # named as this command's option
        raise UserError(str(exc).replace("--temperature ", "--temperatures ")) from None


def chroma_percentile(root: Path, files: list[str], percentile: float) -> float:
    """The given percentile of CIE Lab chroma over the pixels of `files`."""
    chroma = []
    for rel in files:
        lab = rgb_to_lab(read_rgb(root / rel))
        chroma.append(np.hypot(lab[..., 1], lab[..., 2]).ravel())
    return float(np.percentile(np.concatenate(chroma), percentile))


def chroma_radii(lab: np.ndarray, center: np.ndarray, step: int = 3) -> np.ndarray:
    """Every `step`-th pixel's distance from `center` in the Lab (a, b) plane."""
    ab = lab[::step, ::step, 1:].reshape(-1, 2)
    return np.hypot(ab[:, 0] - center[0], ab[:, 1] - center[1])


def fit_curve(colorizer: Colorizer, root: Path, files: list[str], progress: bool = True) -> Curve:
    """The quantile-matching chroma curve of `colorizer` (as it is: no gain, no cap) on
    `files`, each run as `rscolor colorize` would run it."""
    run = rgb_colorizer(colorizer.uncalibrated())
    center = np.asarray(colorizer.meta.mean_ab or (0.0, 0.0), np.float64)
    predicted, true = [], []
    for rel in tqdm(files, desc="fit curve", disable=not progress):
        rgb = read_rgb(root / rel)
        predicted.append(chroma_radii(rgb_to_lab(run(rgb)), center))
        true.append(chroma_radii(rgb_to_lab(rgb), center))
    return fit_chroma_curve(np.concatenate(predicted), np.concatenate(true))


class SharedPrediction:
    """Runs the network once per image and applies each setting to the same output."""

    def __init__(self, colorizer: Colorizer) -> None:
        self.colorizer = colorizer
        self._image: np.ndarray | None = None  # held, so its id cannot be reused
        self._lum: np.ndarray | None = None
        self._raw: torch.Tensor | None = None

    def raw(self, rgb: np.ndarray) -> tuple[np.ndarray, torch.Tensor]:
        if rgb is not self._image or self._lum is None or self._raw is None:
            lum = self.colorizer.space.split(rgb)[0]
            tensor = torch.from_numpy(np.ascontiguousarray(lum, np.float32))[None, None]
            self._image, self._lum = rgb, lum
            self._raw = self.colorizer.run_generator(tensor)
            return lum, self._raw
        return self._lum, self._raw

    def at(
        self, gain: float, curve: Curve | None = None, cap: float | None = None
    ) -> Callable[[np.ndarray], np.ndarray]:
        """The colorizer at saturation `gain`, chroma curve `curve` (None: none) and cap
        `cap` (None: the colorizer's). Images the model sees at their own size share one
        network run; others (``--scale auto`` below 1) go through the scene pipeline, as
        `rscolor colorize` would run them."""
        col = self.colorizer
        uncurved = col.with_meta(replace(col.meta, chroma_curve=None))
        scaled = uncurved.calibrated(saturation=gain, chroma_curve=curve, max_chroma=cap)
        through_scene = rgb_colorizer(scaled)

        def colorize(rgb: np.ndarray) -> np.ndarray:
            if resolve_scale(None, col.meta, None, rgb.shape[:2])[0] != 1.0:
                return through_scene(rgb)
            lum, raw = self.raw(rgb)
            target = scaled.adjust_chroma(raw)[0].numpy().transpose(1, 2, 0)
            return col.space.merge(lum, target)

        return colorize


# ---------------------------------------------------------------- calibrate
def calibrate(
    colorizer: Colorizer,
    data: Path,
    split: Split,
    files: list[str],
    sweep: Sweep = Sweep(),
    rule: Rule = Rule(),
    progress: bool = True,
) -> Calibration:
    """Score every setting of `sweep` on `files` (images under `data`, e.g. the val split
    of `split`) and choose one by `rule`. The cap and curve come from `split.train`."""
    sweep.check()
    if sweep.temperatures:
        with_temperature(colorizer, sweep.temperatures[0])  # fails now, not after the cap
    cap = None
    if sweep.chroma_percentile > 0:
        train = evenly_spaced(split.train, sweep.cap_images)
        cap = chroma_percentile(data, train, sweep.chroma_percentile)
        colorizer = colorizer.calibrated(max_chroma=cap)
    fitted = None
    if any(s > 0 for s in sweep.curve_strengths):
        train = evenly_spaced(split.train, sweep.fit_limit)
        fitted = fit_curve(colorizer, data, train, progress)
    settings = {s.name: s for s in sweep.settings()}
    shared: dict[float | None, SharedPrediction] = {}
    runs = {}
    for name, s in settings.items():
        if s.temperature not in shared:
            shared[s.temperature] = SharedPrediction(with_temperature(colorizer, s.temperature))
        curve = blend_curve(fitted, s.curve) if fitted and s.curve > 0 else None
        runs[name] = shared[s.temperature].at(s.gain, curve, s.cap)
    result = evaluate_images(
        runs,
        data,
        files,
        mean_ab=colorizer.meta.mean_ab or (0.0, 0.0),
        eval_size=colorizer.cfg.data.eval_size,
        progress=progress,
        desc="calibrate",
    )
    limit = rule.ciede_limit(result.rows)
    scored = {k: v for k, v in result.rows.items() if k in settings}
    chosen = rule.choose(scored, limit)
    return Calibration(result.rows, settings, chosen, rule, limit, cap, fitted, len(files))
