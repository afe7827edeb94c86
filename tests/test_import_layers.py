"""The layers contract (pyproject.toml's [tool.importlinter], docs/architecture.md) holds on
the tree, and fails on a deliberate upward import."""

from __future__ import annotations

import graphlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter")

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # two runs of lint-imports, a few seconds each


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` with `project`'s pyproject.toml, on `project`/src's rscolor."""
    script = Path(sys.executable).with_name("lint-imports")
    command = str(script) if script.is_file() else shutil.which("lint-imports") or "lint-imports"
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    return subprocess.run(
        [command, "--no-cache", "--no-logo", str(project / "pyproject.toml")],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_tree_keeps_its_layers() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    copy = tmp_path / "project"
    shutil.copytree(
        ROOT / "src" / "rscolor",
        copy / "src" / "rscolor",
        ignore=shutil.ignore_patterns("__pycache__", "*.pt", "weights", "samples"),
    )
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    low = copy / "src" / "rscolor" / "color" / "spaces.py"
    low.write_text(low.read_text() + "\nimport rscolor.cli  # noqa: E402,F401 (the test's edge)\n")
    result = lint_imports(copy)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout
    assert "rscolor.color is not allowed to import rscolor.cli" in result.stdout


def test_the_scene_pipeline_is_a_layer_below_inference() -> None:
    import tomllib

    layers = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    order = layers["contracts"][0]["layers"]
    assert order.index("inference") + 1 == order.index("scene") < order.index("modelfile")


def import_cycle(imports: dict[str, set[str]]) -> list[str]:
    """One cycle of modules that import each other (its first module repeated last), or []."""
    try:
        graphlib.TopologicalSorter(imports).prepare()
    except graphlib.CycleError as error:
        return list(error.args[1])
    return []


def test_the_cycle_finder_finds_a_cycle_of_three_and_nothing_else() -> None:
    cycle = import_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()})
    assert cycle[0] == cycle[-1] and sorted(set(cycle)) == ["a", "b", "c"]
    assert import_cycle({"a": {"b"}, "b": set(), "d": {"a", "b"}}) == []


def test_no_modules_import_each_other() -> None:
    """No cycle of any length, not even a lazy one (an import inside a function counts, as
    grimp reads every import statement): modules that need each other are one module, or
    share a third below them."""
    import grimp

    graph = grimp.build_graph("rscolor", cache_dir=None)
    assert "rscolor.data.images" in graph.find_modules_directly_imported_by(
        "rscolor.scene.formats"
    ), "grimp no longer sees the imports inside functions (scene/formats.py has one)"
    imports = {
        module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules
    }
    assert len(imports) > 50
    assert import_cycle(imports) == []
