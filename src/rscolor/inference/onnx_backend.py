"""ONNX export of a generator, and the ONNX Runtime runner a :class:`Colorizer` holds to
run an exported model on the CPU (``onnx_colorizer``).

The exported graph takes ``lum`` (B x 1 x H x W, normalised luminance) and gives ``target``
(B x C x H x W); B, H and W are dynamic (H and W multiples of the model's size multiple,
which the backend pads to). The model's config and metadata travel inside the file
(``metadata_props["rscolor"]``), so an ``.onnx`` file is a complete model for
``rscolor colorize --backend onnx --checkpoint model.onnx``; flat ``rscolor.*`` key-values
repeat what a GIS tool needs (gsd in cm per pixel, tile size and overlap; see
:func:`rscolor.inference.model_info.onnx_metadata`).

Export uses the dynamo exporter (``torch.onnx.export(dynamo=True)``) on the generator as it
is: LCFE computes its pooled grid on symbolic sizes when traced (see
:mod:`rscolor.models.lcfe`), so the ONNX model matches torch at every tile size, pooled or
not (checked at every export and in tests/test_onnx.py).
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from rscolor.color import get_color_space
from rscolor.errors import UserError
from rscolor.inference.colorizer import Colorizer, load_colorizer
from rscolor.inference.model_info import META_KEY, onnx_metadata
from rscolor.modelfile import check_onnx_info
from rscolor.utils.io import atomic_path

OPSET = 18
TOLERANCE = 1e-4  # max |onnx - torch| on the normalised target (ab / 110): 0.01 ab units
BACKENDS = ("auto", "torch", "onnx")


# ------------------------------------------------------------------------ export
def exportable(generator: torch.nn.Module) -> torch.nn.Module:
    """An eval-mode CPU copy of `generator` to trace (the caller's module is left as is)."""
    return copy.deepcopy(generator).cpu().eval()


def _sym_sqrt(x):  # ONNX translation of torch.sym_sqrt, which the exporter lacks
    from onnxscript.onnx_opset import opset18 as op

    return op.Sqrt(x)


@contextlib.contextmanager
def _quiet_exporter():
    """The exporter logs its steps and missing optional ops; keep the CLI's output clean."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(None), warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        logger.setLevel(level)


def export_onnx(colorizer: Colorizer, path: str | Path, force: bool = True) -> float:
    """Write `colorizer`'s generator as ONNX to `path` (atomically). Returns the largest
    |onnx - torch| over a few tile sizes; more than TOLERANCE is an error (no file)."""
    from torch.export import Dim

    m = colorizer.size_multiple
    gen = exportable(colorizer.generator)
    example = torch.randn(1, 1, 2 * m, 3 * m)
    batch = Dim("batch", min=1, max=4096)
    with _quiet_exporter():
        program = torch.onnx.export(
            gen,
            (example,),
            input_names=["lum"],
            output_names=["target"],
            opset_version=OPSET,
            dynamo=True,
            external_data=False,
            dynamic_shapes=({0: batch, 2: Dim.AUTO, 3: Dim.AUTO},),
            custom_translation_table={
                f: _sym_sqrt for f in (torch.sym_sqrt, getattr(torch, "_sym_sqrt", None)) if f
            },
        )
    assert program is not None  # dynamo export returns the program
    model = program.model_proto
    info: dict[str, Any] = {
        "config": colorizer.cfg.to_dict(),
        "meta": colorizer.meta.to_dict(),
        "size_multiple": m,
        "inputs": "lum: B x 1 x H x W normalised luminance (H, W multiples of size_multiple)",
    }
    entry = model.metadata_props.add()
    entry.key, entry.value = META_KEY, json.dumps(info)
    parameters = sum(p.numel() for p in colorizer.generator.parameters())
    for key, value in onnx_metadata(colorizer.meta, info["config"], m, parameters).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    payload = model.SerializeToString()
    diff = parity(colorizer, onnx_colorizer(payload, threads=None))
    if not diff <= TOLERANCE:
        raise UserError(
            f"ONNX export check failed: max |onnx - torch| = {diff:.2e} > {TOLERANCE:g}"
        )
    with atomic_path(path, force=force) as tmp:
        tmp.write_bytes(payload)
    return diff


def parity_sizes(colorizer: Colorizer) -> list[tuple[int, int]]:
    """Tile sizes the export is checked at: small, the training size, and about the
    default tile (2x, where the CPU config's LCFE pools its keys)."""
    m = colorizer.size_multiple
    train = -(-colorizer.train_size // m) * m
    return [(m, 2 * m), (train, train), (2 * train, 2 * train - m)]


def parity(reference: Colorizer, other: Colorizer, batch: int = 2, seed: int = 0) -> float:
    """Largest |difference| of two predictors' outputs on random smooth inputs."""
    gen = torch.Generator().manual_seed(seed)
    worst = 0.0
    for h, w in parity_sizes(reference):
        coarse = torch.rand(batch, 1, max(h // 8, 1), max(w // 8, 1), generator=gen) * 2 - 1
        lum = F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)
        diff = (reference.predict_batch(lum) - other.predict_batch(lum)).abs().max().item()
        worst = max(worst, diff)
    return worst


# ----------------------------------------------------------------------- runtime
class OnnxRunner:
    """A :class:`~rscolor.inference.colorizer.Runner` on an ONNX Runtime session (CPU):
    the network of an exported model, for a :class:`Colorizer` to hold."""

    generator = None  # no torch module behind it

    def __init__(self, session: Any, channels: int, size_multiple: int, name: str) -> None:
        self.session = session
        self.channels = channels
        self.size_multiple = size_multiple
        self.name = name
        self.device = torch.device("cpu")
        check_graph(session, channels, name)

    def prepare(self, lum: torch.Tensor) -> torch.Tensor:
        return lum.detach().float().cpu()

    def run(self, padded: torch.Tensor) -> torch.Tensor:
        try:
            out = self.session.run(None, {"lum": np.ascontiguousarray(padded.numpy())})[0]
        except Exception as exc:  # onnxruntime raises its own types
            raise UserError(f"{self.name}: the model fails on its input ({_reason(exc)})") from None
        if out.shape[:1] + out.shape[2:] != padded.shape[:1] + padded.shape[2:] or (
            out.shape[1] != self.channels
        ):
            raise UserError(
                f"{self.name}: the model gives {tuple(out.shape)} for {tuple(padded.shape)}, "
                f"not {self.channels} channels of the input's size"
            )
        return torch.from_numpy(out)


def _session(source: str | bytes, name: str, threads: int | None) -> tuple[Any, Any]:
    """(ONNX Runtime CPU session, the file's ``rscolor`` JSON)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or 0  # 0 = one per physical core
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        info = json.loads(session.get_modelmeta().custom_metadata_map[META_KEY])
    except (KeyError, ValueError) as exc:
        raise UserError(f"{name}: not an rscolor ONNX model ({exc.__class__.__name__})") from None
    except Exception as exc:  # onnxruntime raises its own types for a bad file
        raise UserError(f"cannot read ONNX model {name}: {exc.__class__.__name__}") from None
    return session, info


def onnx_colorizer(model: str | Path | bytes, threads: int | None = None) -> Colorizer:
    """An exported model (a file, or its bytes) as a :class:`Colorizer` that runs in ONNX
    Runtime: config and metadata from the file, validated."""
    source = model if isinstance(model, bytes) else str(model)
    name = "the exported model" if isinstance(model, bytes) else str(model)
    session, info = _session(source, name, threads)
    cfg, meta, multiple = check_onnx_info(info, name)
    channels = get_color_space(cfg.color_space).target_channels
    return Colorizer(OnnxRunner(session, channels, multiple, name), cfg, meta)


def onnx_from_colorizer(colorizer: Colorizer, threads: int | None = None) -> Colorizer:
    """Export in memory (a temporary file) and load it: ``--backend onnx`` on a .pt."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        export_onnx(colorizer, path)
        return onnx_colorizer(path.read_bytes(), threads)


def _reason(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else exc.__class__.__name__


def check_graph(session, channels: int, name: str) -> None:
    """The graph rscolor runs: one input ``lum`` (B x 1 x H x W) and an output of
    `channels` channels (where the file states it). Metadata copied onto another graph is
    a one-line error, not a traceback at the first tile."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    shape = inputs[0].shape if [i.name for i in inputs] == ["lum"] else []
    if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != 1):
        raise UserError(f"{name}: not an rscolor graph (expected one input lum, B x 1 x H x W)")
    out = outputs[0].shape if outputs else []
    if len(out) != 4 or (isinstance(out[1], int) and out[1] != channels):
        raise UserError(f"{name}: its graph outputs {out}, not B x {channels} x H x W")


def load_backend(
    checkpoint: str | Path | None,
    backend: str = "auto",
    device: str = "auto",
    threads: int | None = None,
) -> Colorizer:
    """A checkpoint (.pt, or .onnx) on a backend: torch, onnx, or auto (onnx for .onnx
    files, else torch). ``onnx`` with a .pt exports it in memory first; ``torch`` on a CPU
    runs the generator in channels-last memory format."""
    if backend not in BACKENDS:
        raise UserError(f"unknown backend {backend!r}: {', '.join(BACKENDS)}")
    is_onnx = checkpoint is not None and Path(checkpoint).suffix.lower() == ".onnx"
    if is_onnx:
        if backend == "torch":
            raise UserError(f"{checkpoint} is an ONNX model: use --backend onnx (or auto)")
        if not Path(checkpoint).is_file():  # type: ignore[arg-type]
            raise UserError(f"checkpoint not found: {checkpoint}")
        return onnx_colorizer(Path(checkpoint), threads)  # type: ignore[arg-type]
    colorizer = load_colorizer(checkpoint, "cpu" if backend == "onnx" else device)
    if backend == "onnx":
        return onnx_from_colorizer(colorizer, threads)
    if colorizer.device.type == "cpu":
        # oneDNN's convolutions run about 1.7x faster on NHWC than on NCHW tensors here
        # (docs/performance.md); outputs agree to float rounding.
        colorizer.generator.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    return colorizer
