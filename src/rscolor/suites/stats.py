"""Error bars for the benchmark tables: the 95% confidence interval of a mean over seeds
(Student t), the paired difference of two methods over seeds, a paired bootstrap of the
difference over test images, and the verdict those intervals support."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

LEVEL = 0.95
BOOTSTRAP_RESAMPLES = 4000
BOOTSTRAP_SEED = 0

BETTER, WORSE, UNDECIDED = "better", "worse", "not distinguishable"


@dataclass(frozen=True)
class Interval:
    """A mean and its confidence interval; low / high are NaN when n is too small."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0

    @property
    def known(self) -> bool:
        return math.isfinite(self.low) and math.isfinite(self.high)

    def excludes_zero(self) -> bool:
        return self.known and (self.low > 0.0 or self.high < 0.0)


NAN_INTERVAL = Interval(math.nan, math.nan, math.nan, 0)


def _without_interval(x: np.ndarray) -> Interval | None:
    """What too few values give: nothing for none, the mean without an interval for one;
    None when there are enough for an interval."""
    if x.size == 0:
        return NAN_INTERVAL
    if x.size == 1:
        return Interval(float(x[0]), math.nan, math.nan, 1)
    return None


def mean_ci(values: Sequence[float], level: float = LEVEL) -> Interval:
    """Mean of the values with the Student-t interval mean ± t(n-1) · sd / sqrt(n)."""
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    few = _without_interval(x)
    if few is not None:
        return few
    n, mean = int(x.size), float(x.mean())
    half = float(sps.t.ppf(0.5 + level / 2.0, n - 1)) * float(x.std(ddof=1)) / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n)


def paired_seed_difference(
    a: dict[int, float], b: dict[int, float], level: float = LEVEL
) -> Interval:
    """a - b over the seeds both have (seed k of one method against seed k of the other:
    the same data order and augmentation), with its t interval."""
    common = sorted(set(a) & set(b))
    return mean_ci([a[s] - b[s] for s in common], level)


def paired_bootstrap(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    level: float = LEVEL,
) -> Interval:
    """mean(a - b) over test images, with the percentile interval of the mean difference
    over `resamples` resamplings of the images (the same images for both: paired)."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    few = _without_interval(d)
    if few is not None:
        return few
    n, mean = int(d.size), float(d.mean())
    rng = np.random.default_rng(seed)
    means = np.empty(resamples, dtype=np.float64)
    chunk = max(1, 2_000_000 // n)
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        means[start:stop] = d[rng.integers(0, n, size=(stop - start, n))].mean(axis=1)
    tail = 100.0 * (1.0 - level) / 2.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return Interval(mean, float(low), float(high), n)


def direction(diff: Interval, higher_is_better: bool) -> str:
    """better / worse / not distinguishable: whether the interval of A - B excludes zero,
    and on which side."""
    if not diff.excludes_zero():
        return UNDECIDED
    return BETTER if (diff.low > 0.0) == higher_is_better else WORSE


def combined_direction(over_seeds: Interval, over_images: Interval, higher: bool) -> str:
    """Both intervals must agree. With one seed only the images' interval is known, and it
    says nothing of run-to-run noise: the caller marks such a verdict."""
    by_images = direction(over_images, higher)
    if over_seeds.n < 2:
        return by_images
    by_seeds = direction(over_seeds, higher)
    return by_seeds if by_seeds == by_images else UNDECIDED


def paper_verdict(found: str, paper_says_better: bool = True) -> str:
    """The paper claims A better than B: reproduced, reversed, or not distinguishable."""
    if found == UNDECIDED:
        return UNDECIDED
    return "reproduced" if (found == BETTER) == paper_says_better else "reversed"


def overall_verdict(verdicts: Sequence[str]) -> str:
    """One word per step from its per-metric verdicts."""
    got = set(verdicts)
    if {"reproduced", "reversed"} <= got or {BETTER, WORSE} <= got:
        return "mixed"
    for word in ("reproduced", "reversed", BETTER, WORSE):
        if word in got:
            return word
    return UNDECIDED
