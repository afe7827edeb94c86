"""The suite folder OUT: its settings (suite.json), lock, method configs and split."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import psutil

from rscolor.data.split import Split, load_or_make_split
from rscolor.errors import UserError
from rscolor.experiment import ExperimentConfig, load_config
from rscolor.suites.methods import Method, Suite
from rscolor.suites.records import BenchmarkOptions
from rscolor.utils.dotted import deep_merge, get_dotted
from rscolor.utils.sampling import evenly_spaced

# Fields every method of a benchmark must share, or the comparison is not on equal terms.
SHARED_FIELDS = (
    "data.split_ratios",
    "data.split_seed",
    "data.eval_size",
    "data.crop_size",
    "train.epochs",
    "train.batch_size",
    "train.max_steps_per_epoch",
)


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
        base = load_config(path, overrides, drop_others=True)
        cfgs[method.key] = {base.train.seed: base}
        for seed in range(base.train.seed + 1, base.train.seed + opts.seeds):
            cfgs[method.key][seed] = load_config(
                path, deep_merge(overrides, {"train": {"seed": seed}}), drop_others=True
            )
    check_shared_budget({k: next(iter(c.values())) for k, c in cfgs.items()})
    return cfgs


def check_shared_budget(cfgs: dict[str, ExperimentConfig]) -> None:
    dicts = {k: c.to_dict() for k, c in cfgs.items()}
    first_key = next(iter(dicts))
    for path in SHARED_FIELDS:
        ref = get_dotted(dicts[first_key], path)
        for key, d in dicts.items():
            if get_dotted(d, path) != ref:
                raise UserError(
                    f"configs disagree on {path} ({first_key}: {ref}, "
                    f"{key}: {get_dotted(d, path)}): every method of a benchmark needs the "
                    "same budget"
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
