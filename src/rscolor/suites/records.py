"""What a suite is made of: its options, each run (a method at a seed) and its record,
the evaluation of all runs on the same test images, and the result."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rscolor.data.split import Split
from rscolor.experiment import ExperimentConfig
from rscolor.metrics.evaluate import EvalResult
from rscolor.suites.methods import Method, Suite
from rscolor.utils.dotted import deep_merge


@dataclass
class BenchmarkOptions:
    data: Path
    out: Path
    suite: str = "compare"
    scale: str = "cpu"
    epochs: int | None = None
    max_train_images: int | None = None
    max_steps_per_epoch: int | None = None
    max_test_images: int | None = None
    device: str | None = None
    configs_dir: Path | None = None
    extra: dict[str, Any] | None = None  # deep-merged into every config (tests, experiments)
    figure_images: int = 6
    progress: bool = True
    seeds: int = 1  # runs per method, seeds base .. base + seeds - 1
    jobs: int = 1  # runs trained (and evaluated) at once, in worker processes (a GPU)
    report_only: bool = False  # train nothing: table the finished runs

    def budget(self) -> dict[str, Any]:
        """What changes training, recorded in suite.json and in the table header."""
        return {
            "epochs": self.epochs,
            "max_train_images": self.max_train_images,
            "max_steps_per_epoch": self.max_steps_per_epoch,
            "extra": self.extra or {},
        }

    def config_overrides(self) -> dict[str, Any]:
        train: dict[str, Any] = {}
        if self.epochs is not None:
            train["epochs"] = self.epochs
        if self.max_steps_per_epoch is not None:
            train["max_steps_per_epoch"] = self.max_steps_per_epoch
        if self.device is not None:
            train["device"] = self.device
        return deep_merge(self.extra or {}, {"train": train} if train else {})


@dataclass
class RunRecord:
    """What done.json says about a finished training run."""

    status: str  # done | diverged
    seconds: float
    epochs: int
    best_epoch: int
    g_params: int
    d_params: int
    device: str
    message: str = ""
    mean_ab: list[float] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=1)


@dataclass
class SuiteRun:
    method: Method
    cfg: ExperimentConfig
    run_dir: Path
    record: RunRecord | None = None
    seed: int = 0

    @property
    def name(self) -> str:
        return f"{self.method.key} seed {self.seed}"


Runs = dict[str, list[SuiteRun]]  # method key -> its runs, one per seed


def finished_runs(runs: list[SuiteRun]) -> list[SuiteRun]:
    return [r for r in runs if r.record is not None]


@dataclass
class SuiteEvaluation:
    """Every finished run and the two references scored on the same test images."""

    files: list[str]
    runs: dict[str, dict[int, EvalResult]]  # method -> seed -> rows[method], per_image
    references: EvalResult

    def seed_rows(self, key: str) -> dict[int, dict[str, float]]:
        """seed -> the run's mean metrics (runs without a checkpoint left out)."""
        return {s: r.rows[key] for s, r in self.runs.get(key, {}).items() if r.rows.get(key)}

    def seed_values(self, key: str, metric: str) -> dict[int, float]:
        return {s: row[metric] for s, row in self.seed_rows(key).items() if metric in row}

    def image_values(self, key: str, metric: str, seeds: Iterable[int] | None = None) -> np.ndarray:
        """The metric on every test image (in `files` order), averaged over the seeds."""
        if key in self.references.rows:
            records = {rec["file"]: rec[key] for rec in self.references.per_image}
            return np.array([records[f][metric] for f in self.files], dtype=np.float64)
        wanted = set(self.seed_rows(key)) if seeds is None else set(seeds)
        per_seed = []
        for seed, result in self.runs.get(key, {}).items():
            if seed in wanted and result.rows.get(key):
                records = {rec["file"]: rec[key] for rec in result.per_image}
                per_seed.append([records[f][metric] for f in self.files])
        if not per_seed:
            return np.full(len(self.files), np.nan)
        return np.asarray(per_seed, dtype=np.float64).mean(axis=0)

    def merged(self) -> EvalResult:
        """One EvalResult with each method's metrics averaged over its seeds (rows and
        per image) next to the references: what the per-class breakdown reads."""
        rows = dict(self.references.rows)
        by_file: dict[str, dict[str, Any]] = {
            rec["file"]: dict(rec) for rec in self.references.per_image
        }
        for key in self.runs:
            seed_rows = list(self.seed_rows(key).values())
            rows[key] = mean_of_dicts(seed_rows) if seed_rows else {}
            per_file: dict[str, list[dict[str, float]]] = {}
            for seed in self.seed_rows(key):
                for rec in self.runs[key][seed].per_image:
                    per_file.setdefault(rec["file"], []).append(rec[key])
            for f, recs in per_file.items():
                by_file.setdefault(f, {"file": f})[key] = mean_of_dicts(recs)
        per_image = [by_file[f] for f in self.files if "class" in by_file.get(f, {})]
        return EvalResult(rows, per_image)


def mean_of_dicts(dicts: list[dict[str, float]]) -> dict[str, float]:
    """Key-wise mean of the numeric values (an `images` count is kept, not averaged)."""
    keys = [k for k, v in dicts[0].items() if isinstance(v, (int, float))]
    out = {k: float(np.mean([d[k] for d in dicts if k in d])) for k in keys}
    if "images" in dicts[0]:
        out["images"] = dicts[0]["images"]
    return out


@dataclass
class BenchmarkResult:
    out: Path
    suites: list[Suite]
    runs: Runs
    split: Split
    test_files: list[str]
    evaluation: EvalResult  # rows averaged over seeds
    written: list[Path]
    trained: list[str]  # runs trained (or resumed) by this invocation: "<method> seed <s>"
    seeds: SuiteEvaluation | None = None
