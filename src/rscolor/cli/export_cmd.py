"""`rscolor export`: a checkpoint as an ONNX model (dynamic batch and tile size, checked
against torch before it is written), or as a small inference-only torch checkpoint
(generator weights in fp16, config and metadata: how the shipped model is made)."""

from __future__ import annotations

from rscolor.cli.options import ExportOptions
from rscolor.errors import UserError
from rscolor.inference.colorizer import load_colorizer, shipped_model_path
from rscolor.inference.onnx_backend import OPSET, TOLERANCE, export_onnx
from rscolor.modelfile import inference_payload, save_checkpoint
from rscolor.utils.io import check_output, resolved

FORMATS = ("onnx", "torch-fp16")


def run_export(opts: ExportOptions) -> None:
    out, checkpoint, format, force = opts.out, opts.checkpoint, opts.format, opts.force
    saturation, max_chroma = opts.saturation, opts.max_chroma
    if format not in FORMATS:
        raise UserError(f"unknown export format {format!r}: {', '.join(FORMATS)}")
    check_output(out, force, resolved([checkpoint or shipped_model_path()]))
    colorizer = load_colorizer(checkpoint, "cpu").calibrated(
        saturation=saturation,  # both recorded in the exported model's metadata
        max_chroma=max_chroma,
        temperature=opts.temperature,  # in the exported config
    )
    if format == "torch-fp16":
        payload = inference_payload(colorizer.generator, colorizer.cfg, colorizer.meta, half=True)
        save_checkpoint(out, payload)
        size = out.stat().st_size / 2**20
        print(f"wrote {out}: generator weights in fp16, {size:.1f} MiB")
        return
    diff = export_onnx(colorizer, out, force=force)
    print(
        f"wrote {out}: ONNX opset {OPSET}, dynamic batch and tile size (multiples of "
        f"{colorizer.size_multiple}); max |onnx - torch| = {diff:.1e} (tolerance {TOLERANCE:g})"
    )
