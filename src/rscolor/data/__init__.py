"""Scene image folders, the deterministic split manifest, and the training dataset."""

from rscolor.data.dataset import ColorizationDataset
from rscolor.data.images import IMAGE_SUFFIXES, find_images, read_rgb
from rscolor.data.split import Split, load_or_make_split, make_split

__all__ = [
    "IMAGE_SUFFIXES",
    "ColorizationDataset",
    "Split",
    "find_images",
    "load_or_make_split",
    "make_split",
    "read_rgb",
]
