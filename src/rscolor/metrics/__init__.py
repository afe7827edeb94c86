"""Colorization metrics (acc@eps, PSNR, SSIM, CIEDE2000, colorfulness) and the two
trivial reference colorizers every results table carries."""

from rscolor.metrics.accuracy import acc_eps
from rscolor.metrics.image_metrics import METRIC_KEYS, colorfulness, image_metrics, summarize

__all__ = ["METRIC_KEYS", "acc_eps", "colorfulness", "image_metrics", "summarize"]
