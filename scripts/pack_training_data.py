"""Pack a training tree's train and val images into a small JPEG copy (for a GPU machine).

    python scripts/pack_training_data.py data/aid-nwpu data/packed-aid-nwpu --val-limit 600
    python scripts/pack_training_data.py data/aid-nwpu --val-limit 600 --measure 60 45:95

The copy keeps the class-folder layout and holds only the images of the train and val
splits (the test split stays behind: it cannot leak into training); with --val-limit N only
N val images, evenly spaced over the class-sorted list (`evenly_spaced`, as validation and
`rscolor calibrate --limit` pick theirs: --val-limit 600 keeps exactly the 600
val images a calibration with --limit 600 scores on the source). A name whose suffix is
not .jpg becomes NAME.jpg.

Every image is re-encoded as JPEG, luma and chroma at their own qualities (LUMA:CHROMA,
libjpeg's two tables scaled apart; Q alone: both, as Pillow's ``quality=``). The model's
target is the chroma, so it keeps the higher one. The default, 4:2:0 at 45:95, is what the
measurement chose for AID + NWPU-RESISC45 (train + 600 val, 200 images; the GPU job's 64 MiB
holds the repository's 19 MiB too): their JPEGs are all 4:2:0 already, so a 4:2:0 copy on
the same chroma grid loses no chroma resolution, and at chroma quality 95 (near the
sources' own chroma tables) it keeps the (a, b) target best (mean distance 0.50 at 38 MB;
4:4:4 at 35:90: 0.85 at 40 MB; quality 60 4:4:4: 1.74 at 44 MB). Mean CIEDE2000 against
the decoded original: 2.5, mostly the luma's. ``--subsampling 4:4:4`` for sources with
full-resolution chroma.

The split is kept exactly, not remade: `make_split` on the copy would cut each class again
from 4/5 of its images and move images between train and val. The copy's own manifest,
OUT/split.json (the source split with the packed names, an empty test list, and the
fingerprint of the copy's images), is what training on it takes:

    rscolor train --config ... --data data/packed-aid-nwpu \\
        --split-manifest data/packed-aid-nwpu/split.json

``--measure`` writes nothing: it encodes ``--sample`` images (evenly spaced over train + val)
at each quality, 4:4:4 and 4:2:0, and prints the size the whole copy would have and the
mean CIEDE2000 and CIE Lab (a, b) distance against the decoded original.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.color import deltaE_ciede2000, rgb2lab

from rscolor.config import DataConfig
from rscolor.data.images import read_rgb
from rscolor.data.split import Split, data_fingerprint, make_split, relative_images
from rscolor.utils.sampling import evenly_spaced

Quality = tuple[int, int]  # (luma, chroma) JPEG quality
# libjpeg's base tables (ITU T.81 Annex K), natural order: what quality N scales.
LUMA_TABLE = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
]  # fmt: skip
CHROMA_TABLE = [
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
] + [99] * 32  # fmt: skip
DEFAULT_QUALITY = (45, 95)  # (luma, chroma), at DEFAULT_SUBSAMPLING: see the docstring
SUBSAMPLING = {"4:4:4": 0, "4:2:0": 2}  # Pillow's subsampling= values
DEFAULT_SUBSAMPLING = "4:2:0"
MANIFEST = "split.json"
PACKED_SPLITS = ("train", "val")


# ----------------------------------------------------------------- names and split
def packed_name(rel: str) -> str:
    """The copy's relative path of an image: the same, with a .jpg suffix."""
    path = Path(rel)
    return rel if path.suffix.lower() == ".jpg" else path.with_suffix(".jpg").as_posix()


def packed_names(files: list[str]) -> dict[str, str]:
    """source -> packed relative path; refuses two sources that would share a name."""
    names: dict[str, str] = {}
    seen: dict[str, str] = {}
    for rel in files:
        new = packed_name(rel)
        if new in seen:
            raise SystemExit(f"{rel} and {seen[new]} would both be packed as {new}")
        names[rel], seen[new] = new, rel
    return names


def source_split(src: Path, manifest: Path | None) -> Split:
    """The split training on `src` uses: a given manifest (it must describe `src`), else
    the default deterministic one (`DataConfig`'s ratios and seed, as `rscolor train`)."""
    if manifest is not None:
        split = Split.load(manifest)
        if not split.describes(src):
            raise SystemExit(f"{manifest} was not made from the images under {src}")
        return split
    defaults = DataConfig()
    return make_split(src, defaults.split_ratios, defaults.split_seed)


def kept_val(split: Split, limit: int | None) -> list[str]:
    """The val images the copy keeps: `limit` of them, evenly spaced (all: None)."""
    return evenly_spaced(split.files("val"), limit)


def packed_split(split: Split, val: list[str], names: dict[str, str], out: Path) -> Split:
    """The source split under the packed names, test left out (val: `val`), fingerprint
    of `out`."""
    count, digest = data_fingerprint(relative_images(out))
    return Split(
        root=out.as_posix(),
        train=sorted(names[f] for f in split.train),
        test=[],
        val=sorted(names[f] for f in val),
        ratios=split.ratios,
        seed=split.seed,
        data_images=count,
        data_digest=digest,
    )


def write_manifest(
    path: Path, packed: Split, split: Split, quality: Quality, subsampling: str
) -> None:
    """OUT/split.json: a split manifest `rscolor train --split-manifest` reads, with a
    record of what it was packed from (extra keys, ignored by `Split.load`)."""
    body = json.loads(packed.to_json())
    count, digest = data_fingerprint(split.files("all"))
    body["packed_from"] = {
        "root": split.root,
        "data": {"images": count, "sha256": digest},
        "test_images_left_out": len(split.test),
        "val_images_left_out": len(split.val) - len(packed.val),
        "jpeg": {
            "luma_quality": quality[0],
            "chroma_quality": quality[1],
            "subsampling": subsampling,
        },
    }
    path.write_text(json.dumps(body, indent=1))


def check_packed(split: Split, out: Path, val_limit: int | None = None) -> Split:
    """The copy's manifest describes its images and assigns each one as the source split
    did (val: the `val_limit` kept); no test image is in the copy. Returns its split."""
    packed = Split.load(out / MANIFEST)
    if not packed.describes(out):
        raise SystemExit(f"{out / MANIFEST} does not describe the images under {out}")
    kept = {"train": split.train, "val": kept_val(split, val_limit)}
    names = packed_names(kept["train"] + kept["val"])
    for name in PACKED_SPLITS:
        if sorted(packed.files(name)) != sorted(names[f] for f in kept[name]):
            raise SystemExit(f"the {name} split of {out} is not the source's")
    if packed.test or len(relative_images(out)) != len(names):
        raise SystemExit(f"{out} holds images outside the train and val splits")
    return packed


# ----------------------------------------------------------------- encoding
def rgb8(path: Path) -> np.ndarray:
    """The image as the trainer decodes it (EXIF-upright, gray repeated), as uint8 RGB."""
    return np.clip(np.round(read_rgb(path) * 255.0), 0, 255).astype(np.uint8)


def scaled_table(base: list[int], quality: int) -> list[int]:
    """libjpeg's quality scaling of a quantisation table (as `jpeg_set_quality` does)."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return [min(255, max(1, (v * scale + 50) // 100)) for v in base]


def encode(rgb: np.ndarray, quality: Quality, subsampling: int = 0) -> bytes:
    """JPEG bytes; a (luma, chroma) quality pair scales libjpeg's two tables apart (the
    same bytes as `quality=` when both are equal)."""
    luma, chroma = quality
    tables = [scaled_table(LUMA_TABLE, luma), scaled_table(CHROMA_TABLE, chroma)]
    buf = io.BytesIO()
    Image.fromarray(rgb).save(
        buf, format="JPEG", qtables=tables, subsampling=subsampling, optimize=True
    )
    return buf.getvalue()


def parse_quality(text: str) -> Quality:
    """'75' (both) or '60:90' (luma:chroma) -> (luma, chroma), each in 1..100."""
    parts = [int(v) for v in text.split(":")]
    if len(parts) not in (1, 2) or not all(1 <= v <= 100 for v in parts):
        raise argparse.ArgumentTypeError(f"quality {text!r}: Q or LUMA:CHROMA, 1 to 100")
    return parts[0], parts[-1]


def quality_name(quality: Quality) -> str:
    return str(quality[0]) if quality[0] == quality[1] else f"{quality[0]}:{quality[1]}"


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"))


def damage(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(mean CIEDE2000, mean Lab (a, b) distance: the training target's) of two uint8 RGB
    images."""
    lab_a, lab_b = rgb2lab(a), rgb2lab(b)
    ab = np.linalg.norm(lab_a[..., 1:] - lab_b[..., 1:], axis=-1)
    return float(np.mean(deltaE_ciede2000(lab_a, lab_b))), float(np.mean(ab))


def pack_one(job: tuple[Path, Path, Quality, str]) -> int:
    """Re-encode one image; returns the bytes written."""
    src, dst, quality, subsampling = job
    data = encode(rgb8(src), quality, SUBSAMPLING[subsampling])
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(data)
    return len(data)


def run_jobs(fn, jobs: list, workers: int) -> list:
    if workers <= 1:
        return [fn(j) for j in jobs]
    with Pool(workers) as pool:
        return pool.map(fn, jobs, chunksize=32)


# ----------------------------------------------------------------- the two modes
def pack(
    src: Path,
    out: Path,
    split: Split,
    quality: Quality,
    workers: int,
    val_limit: int | None = None,
    subsampling: str = DEFAULT_SUBSAMPLING,
) -> Split:
    """Write the copy into OUT.partial, then move it to `out` (a cut run leaves no
    half-written copy at `out`)."""
    val = kept_val(split, val_limit)
    names = packed_names(split.train + val)
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    jobs = [(src / rel, tmp / new, quality, subsampling) for rel, new in names.items()]
    run_jobs(pack_one, jobs, workers)
    packed = packed_split(split, val, names, tmp)
    packed.root = out.as_posix()
    write_manifest(tmp / MANIFEST, packed, split, quality, subsampling)
    tmp.rename(out)
    return check_packed(split, out, val_limit)


def measure_one(job: tuple[Path, list[Quality]]) -> list[list[float]]:
    """Per quality: bytes, CIEDE2000 and (a, b) distance at 4:4:4, then the same at 4:2:0."""
    path, qualities = job
    rgb = rgb8(path)
    rows = []
    for q in qualities:
        row: list[float] = []
        for subsampling in (0, 2):
            data = encode(rgb, q, subsampling)
            row += [len(data), *damage(rgb, decode(data))]
        rows.append(row)
    return rows


def measure(
    src: Path, files: list[str], qualities: list[Quality], sample: int, workers: int
) -> str:
    """A table of the estimated size of the whole copy and the mean CIEDE2000 damage."""
    picked = evenly_spaced(files, sample)
    results = np.array(run_jobs(measure_one, [(src / f, qualities) for f in picked], workers))
    scale = len(files) / len(picked)
    lines = [
        f"{len(picked)} of {len(files)} train + val images of {src}; size: the whole copy",
        "| quality | 4:4:4 MB | CIEDE2000 | (a, b) | 4:2:0 MB | CIEDE2000 | (a, b) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, q in enumerate(qualities):
        cols = results[:, i].T
        cells = [
            f"{col.sum() * scale / 1e6:.1f}" if j % 3 == 0 else f"{col.mean():.3f}"
            for j, col in enumerate(cols)
        ]
        lines.append(f"| {quality_name(q)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(out: Path, packed: Split) -> str:
    sizes = [p.stat().st_size for p in out.rglob("*") if p.is_file()]
    classes = len(packed.classes())
    return (
        f"{out}: {len(packed.train)} train + {len(packed.val)} val images "
        f"({len(packed.test)} test) in {classes} classes, {sum(sizes) / 1e6:.1f} MB "
        f"({sum(sizes) / 2**20:.1f} MiB) in {len(sizes)} files"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("src", type=Path, help="folder-per-class image tree")
    p.add_argument("out", type=Path, nargs="?", help="the copy (a new folder)")
    p.add_argument(
        "--quality",
        type=parse_quality,
        default=DEFAULT_QUALITY,
        help="JPEG quality, Q or LUMA:CHROMA (default: 45:95)",
    )
    p.add_argument("--subsampling", choices=list(SUBSAMPLING), default=DEFAULT_SUBSAMPLING)
    p.add_argument("--val-limit", type=int, default=None, help="keep this many val images")
    p.add_argument(
        "--split-manifest",
        type=Path,
        default=None,
        help="the split of src "
        "(default: the one rscolor train makes: data.split_ratios, split_seed)",
    )
    p.add_argument(
        "--measure",
        type=parse_quality,
        nargs="+",
        default=None,
        metavar="QUALITY",
        help="only measure size and colour damage at these qualities",
    )
    p.add_argument("--sample", type=int, default=200, help="images --measure encodes")
    p.add_argument("--jobs", type=int, default=2, help="worker processes")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    split = source_split(args.src, args.split_manifest)
    if args.measure:
        files = sorted(split.train + kept_val(split, args.val_limit))
        print(measure(args.src, files, args.measure, args.sample, args.jobs))
        return
    if args.out is None:
        sys.exit("give OUT, the folder of the copy (or --measure)")
    if args.out.exists():
        if not args.force:
            sys.exit(f"{args.out} exists: --force replaces it")
        shutil.rmtree(args.out)
    packed = pack(
        args.src, args.out, split, args.quality, args.jobs, args.val_limit, args.subsampling
    )
    print(summary(args.out, packed))


if __name__ == "__main__":
    main()
