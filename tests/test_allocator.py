"""`keep_freed_memory` (rscolor.utils.memory): freed memory is reused, not faulted in again,
and `rscolor train` asks for it unless `train.keep_freed_memory` is off."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest
import yaml

from rscolor.cli.main import main
from rscolor.utils import memory

from .helpers import tiny_config

GLIBC = sys.platform == "linux" and platform.libc_ver()[0] == "glibc"

# Page faults of 8 allocate-touch-free rounds of a 64 MB tensor, before and after the call.
FAULTS = """
import json, resource, torch
from rscolor.utils.memory import keep_freed_memory
def faults():
    start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(8):
        torch.ones(16 * 2**20)  # 64 MB, touched, then freed
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start
before = faults()
applied = keep_freed_memory()
faults()  # the heap grows once
print(json.dumps({"before": before, "applied": applied, "after": faults()}))
"""


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc only")
def test_freed_memory_is_reused_instead_of_faulted_in_again() -> None:
    out = subprocess.run(
        [sys.executable, "-c", FAULTS], capture_output=True, text=True, check=True, timeout=120
    )
    counts = json.loads(out.stdout)
    assert counts["applied"] is True
    assert counts["before"] > 8 * 10_000  # each round faulted its 16,384 pages in
    # Reused: at most a round or two faulted in again (a small allocation may split the
    # freed block once, so the heap grows once more), not every round.
    assert counts["after"] <= 2 * 16_384 < counts["before"] / 3


def test_other_c_libraries_are_left_alone(monkeypatch) -> None:
    monkeypatch.setattr(platform, "libc_ver", lambda: ("", ""))
    monkeypatch.setattr("ctypes.CDLL", lambda *a: pytest.fail("mallopt called off glibc"))
    assert memory.keep_freed_memory() is False


@pytest.mark.parametrize(("setting", "calls"), [("true", 1), ("false", 0)])
def test_train_asks_for_it_unless_turned_off(scene_tree, tmp_path, monkeypatch, setting, calls):
    called = []
    monkeypatch.setattr("rscolor.cli.train_cmd.keep_freed_memory", lambda: called.append(1))
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_config(train__epochs=1).to_dict()))
    run = tmp_path / "run"
    args = ["train", "--config", str(config), "--data", str(scene_tree), "--out", str(run)]
    main([*args, "--quiet", "--set", f"train.keep_freed_memory={setting}"])
    assert len(called) == calls
    assert (run / "last.pt").exists()
