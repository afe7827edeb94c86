"""The ablation rows of Tables 3 and 4 as joint-stream switches: each row adds exactly the
submodule it names, and the parameter count changes by exactly that submodule."""

import pytest
import torch
from torch import nn

from rscolor.errors import UserError
from rscolor.models import build_generator
from rscolor.models.blocks import count_parameters
from rscolor.models.gsm import GatedSelection
from rscolor.models.joint_stream import JointStreamGenerator
from rscolor.models.lcfe import LCFE

from .helpers import method_config

ROWS = ("ablation-single", "ablation-joint", "ablation-concat", "ablation-lcfe", "jsdcgan")


@pytest.fixture(scope="module")
def nets() -> dict[str, JointStreamGenerator]:
    """The rows at the real CPU-scale width (ngf 32, 5 levels): building is quick."""
    torch.manual_seed(0)
    return {row: build_generator(method_config(row, tiny=False)) for row in ROWS}


def n(module: nn.Module | None) -> int:
    return count_parameters(module) if module is not None else 0


def test_each_row_has_the_submodules_it_names(nets: dict[str, JointStreamGenerator]) -> None:
    single, joint, concat, lcfe, full = (nets[r] for r in ROWS)
    assert single.macro is None and single.lcfe is None
    assert single.supplement is None and single.fuse is None
    assert joint.macro is not None and joint.lcfe is None and joint.supplement is None
    assert isinstance(joint.fuse, nn.Sequential)  # concat + 3x3 conv
    assert concat.supplement is not None and concat.lcfe is None
    assert isinstance(concat.fuse, nn.Sequential)
    assert isinstance(lcfe.lcfe, LCFE) and lcfe.supplement is not None
    assert not isinstance(lcfe.fuse, GatedSelection)
    assert isinstance(full.lcfe, LCFE) and isinstance(full.fuse, GatedSelection)
    assert joint.macro.depth == joint.micro.depth - 1  # one level shallower


def test_parameter_counts_change_by_exactly_the_added_module(
    nets: dict[str, JointStreamGenerator],
) -> None:
    single, joint, concat, lcfe, full = (nets[r] for r in ROWS)
    counts = [n(g) for g in (single, joint, concat, lcfe)]
    assert counts == sorted(set(counts)), counts  # strictly increasing
    assert n(joint) - n(single) == n(joint.macro) + n(joint.fuse)
    assert n(concat) - n(joint) == n(concat.supplement)
    assert n(lcfe) - n(concat) == n(lcfe.lcfe)
    # GSM (two 1x1 gate convs) replaces the concat fusion (a 3x3 conv): the full model is
    # lighter than J-S + LCFE by exactly that difference.
    assert n(full) - n(lcfe) == n(full.fuse) - n(lcfe.fuse) < 0
    assert n(full.fuse) == 2 * (32 + 1)


def test_each_switch_changes_the_output(nets: dict[str, JointStreamGenerator]) -> None:
    """Same weights where modules are shared, so a different output comes from the switch."""
    x = torch.randn(1, 1, 64, 64)
    outs = {}
    for row in ROWS:
        g = nets[row].eval()
        with torch.no_grad():
            outs[row] = g(x)
        assert outs[row].shape == (1, 2, 64, 64)
    joint, concat = nets["ablation-joint"], nets["ablation-concat"]
    concat.micro.load_state_dict(joint.micro.state_dict())
    concat.macro.load_state_dict(joint.macro.state_dict())
    concat.fuse.load_state_dict(joint.fuse.state_dict())
    concat.head.load_state_dict(joint.head.state_dict())
    with torch.no_grad():
        assert not torch.allclose(concat(x), joint(x))


def test_low_level_path_needs_the_macro_stream() -> None:
    cfg = method_config("ablation-single").model_copy(deep=True)
    cfg.generator.low_level = "lcfe"
    with pytest.raises(UserError, match="macro stream"):
        build_generator(cfg)
