"""Train every method of a suite on one split with one budget, evaluate all on the same
test images, and write the tables and the figure.

An output folder OUT holds::

    suite.json          data, scale and budget overrides (a rerun must match them)
    split.json          the one train / test / val manifest every run is given
    runs/<method>/seed-<s>/  a Trainer run folder (train.seed = s), plus done.json once
                        finished and eval.json (every test image's metrics)
    eval-references.json  the gray / mean_chroma rows on the same test images
    table.md, table.csv   mean and 95% interval over seeds of every metric
    runs.csv              every run's own metrics (one row per method and seed)
    comparisons.md/csv    paired differences and the verdict per step of the paper's tables
    per_class.md, per_class.csv, figure.png, curves.png

With ``seeds`` N every method is trained N times (seeds base .. base+N-1, base the config's
train.seed), seed by seed, on the same split. Rerunning the same command reuses finished
runs (best.pt + done.json), resumes unfinished ones from their last.pt, and reuses
evaluations of unchanged checkpoints; a rerun with more seeds adds the missing ones.
"""

from __future__ import annotations

import gc
import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import yaml

from rscolor.benchmark.suites import (
    SCALES,
    Method,
    Suite,
    resolve_configs_dir,
    suites_for,
    unique_methods,
)
from rscolor.config import ExperimentConfig, deep_merge, load_config
from rscolor.data.split import Split, load_or_make_split
from rscolor.errors import UserError
from rscolor.inference.colorizer import Colorizer, load_colorizer
from rscolor.metrics.evaluate import EvalResult, evaluate_images
from rscolor.metrics.image_metrics import image_metrics
from rscolor.models.blocks import count_parameters
from rscolor.training.trainer import Trainer, TrainingDiverged, evenly_spaced
from rscolor.utils.io import atomic_write_text

# Fields that change where or how fast a run goes, not what it learns: ignored when a
# finished run is checked against the config it would be trained with now.
RUNTIME_FIELDS = (
    ("train", "device"),
    ("train", "threads"),
    ("train", "checkpoint_every_steps"),
    ("train", "compile"),
    ("data", "num_workers"),
    ("data", "cache"),
    ("data", "root"),
)
# Fields every method of a benchmark must share, or the comparison is not on equal terms.
SHARED_FIELDS = (
    ("data", "split_ratios"),
    ("data", "split_seed"),
    ("data", "eval_size"),
    ("data", "crop_size"),
    ("train", "epochs"),
    ("train", "batch_size"),
    ("train", "max_steps_per_epoch"),
)


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
class MethodRun:
    method: Method
    cfg: ExperimentConfig
    run_dir: Path
    record: RunRecord | None = None
    seed: int = 0

    @property
    def name(self) -> str:
        return f"{self.method.key} seed {self.seed}"


Runs = dict[str, list[MethodRun]]  # method key -> its runs, one per seed


def finished_runs(runs: list[MethodRun]) -> list[MethodRun]:
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


# ----------------------------------------------------------------- helpers
def _get(d: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        d = d.get(key, {}) if isinstance(d, dict) else {}
    return d


def comparable(cfg: dict[str, Any]) -> dict[str, Any]:
    """The config dict without RUNTIME_FIELDS."""
    out = json.loads(json.dumps(cfg))
    for section, key in RUNTIME_FIELDS:
        out.get(section, {}).pop(key, None)
    return out


def with_defaults(cfg: dict[str, Any]) -> dict[str, Any]:
    """A recorded config with the fields added since it was written at their defaults
    (a new field with a default does not change a finished run); as it is if it no
    longer validates."""
    try:
        return ExperimentConfig.model_validate(cfg).to_dict()
    except ValueError:
        return cfg


def config_diff(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested dicts."""
    keys = sorted(set(a) | set(b))
    diffs: list[str] = []
    for key in keys:
        va, vb = a.get(key), b.get(key)
        name = f"{prefix}{key}"
        if isinstance(va, dict) and isinstance(vb, dict):
            diffs += config_diff(va, vb, name + ".")
        elif va != vb:
            diffs.append(name)
    return diffs


def files_digest(files: list[str]) -> str:
    return hashlib.sha1("\n".join(files).encode()).hexdigest()[:16]


def checkpoint_stamp(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


class SuiteLock:
    """OUT/.lock holds the pid of the benchmark writing OUT: two at once would train the
    same runs twice and interleave checkpoints."""

    def __init__(self, out: Path) -> None:
        self.path = out / ".lock"

    def __enter__(self) -> SuiteLock:
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pid = self.path.read_text().strip()
                if pid.isdigit() and psutil.pid_exists(int(pid)) and int(pid) != os.getpid():
                    raise UserError(
                        f"another benchmark (pid {pid}) is writing {self.path.parent} "
                        f"(if not, delete {self.path})"
                    ) from None
                self.path.unlink(missing_ok=True)  # stale: its process is gone
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(str(os.getpid()))
            return self
        raise UserError(f"cannot lock {self.path.parent}")

    def __exit__(self, *exc: object) -> None:
        self.path.unlink(missing_ok=True)


# ------------------------------------------------------------ suite folder
def suite_settings(opts: BenchmarkOptions) -> dict[str, Any]:
    return {"data": str(opts.data.resolve()), "scale": opts.scale, "budget": opts.budget()}


def check_out_folder(opts: BenchmarkOptions, requested: list[Suite]) -> list[str]:
    """Check that OUT is new, empty, or a benchmark with the same settings; returns the
    suites its tables cover (earlier invocations' and this one's)."""
    out = opts.out
    names = {s.name for s in requested}
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder")
    meta_path = out / "suite.json"
    if meta_path.is_file():
        old = read_json(meta_path) or {}
        for key, value in suite_settings(opts).items():
            if old.get(key) != value:
                raise UserError(
                    f"{out} holds a benchmark with another {key} ({old.get(key)!r}, now "
                    f"{value!r}): pick another --out, or rerun with the same settings to go on"
                )
        names |= set(old.get("suites", []))
    elif out.exists() and any(p.name != ".lock" for p in out.iterdir()):
        raise UserError(
            f"{out} exists and is not a benchmark folder (no suite.json): pick another --out"
        )
    return [n for n in ("compare", "ablation") if n in names]


def load_method_configs(
    opts: BenchmarkOptions, methods: list[Method], configs_dir: Path
) -> dict[str, dict[int, ExperimentConfig]]:
    """method -> seed -> config: the method's config with the overrides and, per seed,
    train.seed = base + i (base: the config's own train.seed)."""
    overrides = opts.config_overrides()
    cfgs: dict[str, dict[int, ExperimentConfig]] = {}
    for method in methods:
        path = method.config_path(configs_dir, opts.scale)
        if not path.is_file():
            raise UserError(f"missing config for {method.key} at scale {opts.scale}: {path}")
        base = load_config(path, overrides)
        cfgs[method.key] = {base.train.seed: base}
        for seed in range(base.train.seed + 1, base.train.seed + opts.seeds):
            cfgs[method.key][seed] = load_config(
                path, deep_merge(overrides, {"train": {"seed": seed}})
            )
    check_shared_budget({k: next(iter(c.values())) for k, c in cfgs.items()})
    return cfgs


def check_shared_budget(cfgs: dict[str, ExperimentConfig]) -> None:
    dicts = {k: c.to_dict() for k, c in cfgs.items()}
    first_key = next(iter(dicts))
    for path in SHARED_FIELDS:
        ref = _get(dicts[first_key], path)
        for key, d in dicts.items():
            if _get(d, path) != ref:
                raise UserError(
                    f"configs disagree on {'.'.join(path)} ({first_key}: {ref}, "
                    f"{key}: {_get(d, path)}): every method of a benchmark needs the same budget"
                )


def make_suite_split(opts: BenchmarkOptions, cfg: ExperimentConfig) -> Split:
    """OUT/split.json: the deterministic per-class split; with --max-train-images its
    train list is thinned evenly (every class keeps its share), test and val untouched."""
    manifest = opts.out / "split.json"
    existed = manifest.is_file()
    split = load_or_make_split(opts.data, manifest, cfg.data.split_ratios, cfg.data.split_seed)
    if existed:
        missing = [f for f in split.files("all")[:50] if not (opts.data / f).is_file()]
        if missing:
            raise UserError(f"{manifest} lists images not in {opts.data} (e.g. {missing[0]})")
    elif opts.max_train_images:
        split.train = evenly_spaced(split.train, opts.max_train_images)
        split.save(manifest)
    if not split.test:
        raise UserError(f"no test images in the split of {opts.data}")
    return split


# ---------------------------------------------------------------- training
def finished_record(run: MethodRun) -> RunRecord | None:
    """The run's done.json when it is finished with the config it would get now."""
    done = read_json(run.run_dir / "done.json")
    if done is None:
        return None
    record = RunRecord(**done)
    diff = config_diff(comparable(with_defaults(record.config)), comparable(run.cfg.to_dict()))
    if diff:
        raise UserError(
            f"{run.run_dir} was trained with another config ({', '.join(diff[:4])} differ): "
            "delete that folder to retrain it, or use another --out"
        )
    if record.status == "done" and not (run.run_dir / "best.pt").is_file():
        raise UserError(
            f"{run.run_dir} is marked done but has no best.pt: delete that folder to retrain it"
        )
    return record


def check_unfinished(run: MethodRun, split_path: Path) -> None:
    """An unfinished run may be resumed only with the same config and split."""
    started = run.run_dir / "config.yaml"
    if started.is_file():
        old = yaml.safe_load(started.read_text()) or {}
        diff = config_diff(comparable(old), comparable(run.cfg.to_dict()))
        if diff:
            raise UserError(
                f"{run.run_dir} was started with another config ({', '.join(diff[:4])} differ): "
                "delete that folder to retrain it"
            )
    own_split = run.run_dir / "split.json"
    if own_split.is_file() and own_split.read_text() != split_path.read_text():
        raise UserError(
            f"{run.run_dir} was started on another split: delete that folder to retrain it"
        )


def train_run(
    run: MethodRun,
    opts: BenchmarkOptions,
    split_path: Path,
    log: Callable[[str], None] | None = None,
) -> RunRecord:
    log = log or print
    check_unfinished(run, split_path)
    resuming = (run.run_dir / "last.pt").is_file()
    log(f"[{run.name}] {'resuming' if resuming else 'training'} in {run.run_dir}")
    trainer = Trainer(run.cfg, run.run_dir, opts.data, split_path, progress=opts.progress)
    status, message = "done", ""
    try:
        trainer.fit(resume=True)
    except TrainingDiverged as exc:
        status, message = "diverged", str(exc)
        log(f"[{run.name}] diverged: {exc}")
    record = RunRecord(
        status=status,
        seconds=float(sum(row.get("seconds", 0.0) for row in trainer.history)),
        epochs=trainer.epoch,
        best_epoch=trainer.best_epoch,
        g_params=count_parameters(trainer.g_raw),
        d_params=count_parameters(trainer.d_raw) if trainer.d_raw is not None else 0,
        device=trainer.device.type,
        message=message,
        mean_ab=list(trainer.mean_ab),
        config=trainer.cfg.to_dict(),
    )
    del trainer
    gc.collect()
    atomic_write_text(run.run_dir / "done.json", record.to_json())
    return record


# -------------------------------------------------------------- evaluation
def colorize_fn(colorizer: Colorizer) -> Callable[[np.ndarray], np.ndarray]:
    return lambda rgb: colorizer.colorize_lum(colorizer.space.split(rgb)[0])


def cached_eval(
    cache: Path,
    key: dict[str, Any],
    compute: Callable[[], EvalResult],
) -> EvalResult:
    """An EvalResult stored beside its key; recomputed when the key changes."""
    old = read_json(cache)
    if old is not None and old.get("key") == key:
        return EvalResult(old["rows"], old["per_image"])
    result = compute()
    body = {"key": key, "rows": result.rows, "per_image": result.per_image}
    atomic_write_text(cache, json.dumps(body))
    return result


def metric_names() -> list[str]:
    """The per-image metrics scored now: part of every evaluation's cache key, so a stored
    evaluation without a metric added since (false_color, say) is recomputed."""
    dummy = np.full((8, 8, 3), 0.5, dtype=np.float32)
    return sorted(image_metrics(dummy, dummy))


def run_eval_key(run: MethodRun, files: list[str]) -> dict[str, Any]:
    return {
        "files": files_digest(files),
        "checkpoint": checkpoint_stamp(run.run_dir / "best.pt"),
        "eval_size": run.cfg.data.eval_size,
        "metrics": metric_names(),
    }


def stored_eval(run: MethodRun, files: list[str]) -> EvalResult | None:
    """The run's eval.json if it is for these files and this checkpoint, else None."""
    if not (run.run_dir / "best.pt").is_file():
        return EvalResult({run.method.key: {}}, [])
    old = read_json(run.run_dir / "eval.json")
    if old is not None and old.get("key") == run_eval_key(run, files):
        return EvalResult(old["rows"], old["per_image"])
    return None


def evaluate_run(run: MethodRun, opts: BenchmarkOptions, files: list[str]) -> EvalResult:
    best = run.run_dir / "best.pt"
    if not best.is_file():
        return EvalResult({run.method.key: {}}, [])
    key = run_eval_key(run, files)

    def compute() -> EvalResult:
        colorizer = load_colorizer(best, opts.device or "auto")
        return evaluate_images(
            {run.method.key: colorize_fn(colorizer)},
            opts.data,
            files,
            eval_size=run.cfg.data.eval_size,
            references=False,
            progress=opts.progress,
            desc=f"evaluate {run.method.key}",
        )

    return cached_eval(run.run_dir / "eval.json", key, compute)


def suite_mean_ab(runs: list[MethodRun]) -> tuple[float, float]:
    """The training split's mean (a, b), as the runs measured it (all share the split)."""
    for run in runs:
        if run.record is not None and run.record.mean_ab:
            return float(run.record.mean_ab[0]), float(run.record.mean_ab[1])
    raise UserError("no finished run to take the training split's mean chroma from")


def evaluate_all(
    runs: Runs, opts: BenchmarkOptions, files: list[str], eval_size: int | None
) -> SuiteEvaluation:
    """Every finished run and the two references on the same files."""
    done = [run for key in runs for run in finished_runs(runs[key])]
    stored = [stored_eval(run, files) for run in done]
    todo = [run for run, result in zip(done, stored, strict=True) if result is None]
    fresh = iter(parallel_map(evaluate_run, [(run, opts, files) for run in todo], opts.jobs))
    by_method: dict[str, dict[int, EvalResult]] = {}
    for run, result in zip(done, stored, strict=True):
        by_method.setdefault(run.method.key, {})[run.seed] = result or next(fresh)
    mean_ab = suite_mean_ab(done)
    ref_key = {"files": files_digest(files), "mean_ab": list(mean_ab), "eval_size": eval_size,
               "metrics": metric_names()}  # fmt: skip
    references = cached_eval(
        opts.out / "eval-references.json",
        ref_key,
        lambda: evaluate_images(
            {},
            opts.data,
            files,
            mean_ab=mean_ab,
            eval_size=eval_size,
            progress=opts.progress,
            desc="evaluate references",
        ),
    )
    return SuiteEvaluation(files, by_method, references)


def parallel_map(fn: Callable[..., Any], calls: list[tuple[Any, ...]], jobs: int) -> list[Any]:
    """fn(*args) for each args, in order: in this process, or with jobs > 1 in that many
    fresh worker processes (spawned: CUDA cannot be forked)."""
    if jobs <= 1 or len(calls) <= 1:
        return [fn(*args) for args in calls]
    context = multiprocessing.get_context("spawn")
    # Workers are reused run after run (a Trainer frees its memory when it is done);
    # max_tasks_per_child=1 would start each run fresh but can deadlock (CPython gh-115634).
    workers = min(jobs, len(calls))
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(fn, *args) for args in calls]
        return [f.result() for f in futures]


# --------------------------------------------------------------- the suite
def check_options(opts: BenchmarkOptions) -> None:
    if opts.scale not in SCALES:
        raise UserError(f"unknown scale {opts.scale!r}: use {', '.join(SCALES)}")
    if not opts.data.is_dir():
        raise UserError(f"data folder not found: {opts.data}")
    names = (
        "epochs",
        "max_train_images",
        "max_steps_per_epoch",
        "max_test_images",
        "seeds",
        "jobs",
    )
    for name in names:
        value = getattr(opts, name)
        if value is not None and value < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1")


def seed_major(runs: Runs) -> list[MethodRun]:
    """Every run, seed by seed: a suite stopped part-way has whole seeds to compare."""
    seeds = sorted({run.seed for rs in runs.values() for run in rs})
    return [run for seed in seeds for rs in runs.values() for run in rs if run.seed == seed]


def train_or_reuse(
    runs: Runs,
    to_train: set[str],
    opts: BenchmarkOptions,
    log: Callable[[str], None],
) -> list[str]:
    """Fill each run's record: reuse finished runs, train (or resume) those of the
    requested suites, seed by seed; returns the names of the runs trained by this call."""
    pending = []
    for run in seed_major(runs):
        run.record = finished_record(run)
        if run.record is not None:
            log(f"[{run.name}] finished run reused: {run.run_dir}")
        elif run.method.key in to_train and not opts.report_only:
            pending.append(run)
    split_path = opts.out / "split.json"
    if opts.jobs <= 1:  # in this process: a run's record is kept as soon as it is done
        for run in pending:
            run.record = train_run(run, opts, split_path, log)
    else:
        calls = [(run, opts, split_path, None) for run in pending]
        for run, record in zip(pending, parallel_map(train_run, calls, opts.jobs), strict=True):
            run.record = record
    return [run.name for run in pending]


def run_suite(opts: BenchmarkOptions) -> BenchmarkResult:
    from rscolor.benchmark.curves import write_curves
    from rscolor.benchmark.figure import write_figure
    from rscolor.benchmark.report import write_comparisons, write_per_class, write_tables

    check_options(opts)
    requested = suites_for(opts.suite)
    configs_dir = resolve_configs_dir(opts.configs_dir)
    covered = [s for name in check_out_folder(opts, requested) for s in suites_for(name)]
    log = print if opts.progress else (lambda _msg: None)
    opts.out.mkdir(parents=True, exist_ok=True)
    with SuiteLock(opts.out):
        methods = unique_methods(covered)
        cfgs = load_method_configs(opts, methods, configs_dir)
        seeds = list(cfgs[methods[0].key])
        atomic_write_text(
            opts.out / "suite.json",
            json.dumps(
                {**suite_settings(opts), "suites": [s.name for s in covered], "seeds": seeds},
                indent=1,
            ),
        )
        first = cfgs[methods[0].key][seeds[0]]
        split = make_suite_split(opts, first)
        runs: Runs = {
            m.key: [
                MethodRun(m, cfg, opts.out / "runs" / m.key / f"seed-{seed}", seed=seed)
                for seed, cfg in cfgs[m.key].items()
            ]
            for m in methods
        }
        trained = train_or_reuse(runs, {m.key for m in unique_methods(requested)}, opts, log)
        unfinished = [k for k, rs in runs.items() if not finished_runs(rs)]
        if unfinished:  # an earlier suite of this folder is not finished: table the others
            log(f"not finished (rerun their suite to train them): {', '.join(unfinished)}")
            covered = [s for s in covered if not any(m.key in unfinished for m in s.methods)]
            runs = {m.key: runs[m.key] for m in unique_methods(covered)}
        if not covered:
            raise UserError(f"no method of {opts.out} has a finished run to table yet")
        test_files = evenly_spaced(split.test, opts.max_test_images)
        by_seed = evaluate_all(runs, opts, test_files, first.data.eval_size)
        evaluation = by_seed.merged()
        written = write_tables(opts, covered, runs, split, test_files, by_seed)
        written += write_comparisons(opts, covered, runs, by_seed)
        written += write_per_class(opts.out, covered, runs, evaluation)
        written.append(write_figure(opts, covered, runs, test_files, first.data.eval_size))
        written.append(write_curves(opts.out, covered, runs))
    return BenchmarkResult(
        opts.out, covered, runs, split, test_files, evaluation, written, trained, by_seed
    )
