"""Which methods a benchmark suite trains, their table labels and the paper's numbers.

Each method is a config file ``configs/<scale>/<key>.yaml`` and a run folder
``OUT/runs/<key>``; a method in two suites (the full JS-DCGAN) is trained once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rscolor.errors import UserError

SCALES = ("cpu", "paper")
SUITE_CHOICES = ("compare", "ablation", "all")

# The paper's acc2 / acc5 (Tables 1 to 4), by data folder name.
Paper = dict[str, tuple[float, float]]


@dataclass(frozen=True)
class Method:
    key: str
    label: str
    paper: Paper = field(default_factory=dict)

    def config_path(self, configs_dir: Path, scale: str) -> Path:
        return method_config_path(configs_dir, self.key, scale)


def method_config_path(configs_dir: Path, key: str, scale: str) -> Path:
    """The one rule from a method and a scale to its config: ``configs/<scale>/<key>.yaml``."""
    return configs_dir / scale / f"{key}.yaml"


@dataclass(frozen=True)
class Suite:
    name: str
    title: str
    methods: tuple[Method, ...]


COMPARE = Suite(
    "compare",
    "Comparison (paper Tables 1 and 2)",
    (
        Method("unet", "U-Net", {"AID": (22.89, 78.82), "NWPU-RESISC45": (36.05, 88.42)}),
        Method("patchgan", "PatchGAN", {"AID": (23.07, 78.04), "NWPU-RESISC45": (37.56, 86.61)}),
        Method("dcgan", "DCGAN", {"AID": (23.42, 77.36), "NWPU-RESISC45": (37.02, 88.05)}),
        Method("multid", "Multi-D", {"AID": (24.15, 77.18), "NWPU-RESISC45": (38.30, 87.12)}),
        Method("multig", "Multi-G", {"AID": (26.53, 76.69), "NWPU-RESISC45": (37.91, 86.81)}),
        Method(
            "jsdcgan", "Ours (JS-DCGAN)", {"AID": (28.64, 82.02), "NWPU-RESISC45": (40.28, 89.06)}
        ),
    ),
)

ABLATION = Suite(
    "ablation",
    "Ablation (paper Tables 3 and 4)",
    (
        Method(
            "ablation-single",
            "Single stream",
            {"AID": (23.42, 77.36), "NWPU-RESISC45": (37.02, 88.05)},
        ),
        Method(
            "ablation-joint",
            "Joint stream",
            {"AID": (25.14, 79.68), "NWPU-RESISC45": (38.84, 88.23)},
        ),
        Method(
            "ablation-concat",
            "J-S + Concat (w/o LCFE)",
            {"AID": (25.73, 80.27), "NWPU-RESISC45": (39.21, 88.58)},
        ),
        Method(
            "ablation-lcfe", "J-S + LCFE", {"AID": (26.59, 81.20), "NWPU-RESISC45": (39.72, 88.74)}
        ),
        Method(
            "jsdcgan", "J-S + LCFE + GSM", {"AID": (28.64, 82.09), "NWPU-RESISC45": (40.28, 89.06)}
        ),
    ),
)

SUITES = {"compare": COMPARE, "ablation": ABLATION}


def suites_for(name: str) -> list[Suite]:
    if name == "all":
        return list(SUITES.values())
    if name not in SUITES:
        raise UserError(f"unknown suite {name!r}: use {', '.join(SUITE_CHOICES)}")
    return [SUITES[name]]


def unique_methods(suites: list[Suite]) -> list[Method]:
    """Methods of the suites in order, each once (keyed by config)."""
    seen: dict[str, Method] = {}
    for suite in suites:
        for method in suite.methods:
            seen.setdefault(method.key, method)
    return list(seen.values())


def default_configs_dir() -> Path | None:
    """The repository's configs/ folder (a source checkout or an editable install), or
    ./configs in the working folder."""
    repo = Path(__file__).resolve().parents[3] / "configs"
    for candidate in (repo, Path("configs")):
        if method_config_path(candidate, "jsdcgan", "cpu").is_file():
            return candidate
    return None


def resolve_configs_dir(configs_dir: Path | None) -> Path:
    found = configs_dir or default_configs_dir()
    if found is None or not found.is_dir():
        raise UserError("cannot find the configs/ folder: pass --configs DIR")
    return found
