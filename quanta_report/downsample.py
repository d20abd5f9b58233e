"""Fewer points for a long series, keeping what the eye looks for.

A chart is a few thousand pixels wide: drawing the 491,400 one-minute bars of five years
would make a page of tens of megabytes that draws no better than one of a few thousand
points. Each series is cut into equal buckets of consecutive bars and only a handful of its
points per bucket are kept:

* the lowest and the highest point of the bucket, in time order, so that a spike or a crash
  lasting one bar still shows at its true height (an average or every k-th point would
  smooth it away);
* the first missing value (NaN) of the bucket, if it has one, so that a gap in the data
  stays a gap in the line;
* the first and the last point of the whole series, so that the line starts and ends where
  the data does.

Trade markers are never thinned: the figures draw every fill. Only numpy is used here.
"""

from __future__ import annotations

import numpy as np

#: Buckets per series: about two points per pixel column of a wide screen.
BUCKETS = 3_000


def minmax_indices(values: np.ndarray, buckets: int = BUCKETS) -> np.ndarray:
    """Indices of the points of `values` to draw, ascending (the method of the module).

    Parameters
    ----------
    values : numpy.ndarray
        float, (n,). NaN marks a missing value.
    buckets : int
        How many buckets to cut the series into, at least 1. A series of at most
        ``2 * buckets + 2`` points is kept whole.

    Returns
    -------
    numpy.ndarray
        int64 indices into `values`: at most ``3 * buckets + 2`` of them.
    """
    y = np.asarray(values, dtype=np.float64)
    n = y.size
    if buckets < 1:
        raise ValueError(f"buckets: at least 1, got {buckets}")
    if n <= 2 * buckets + 2:
        return np.arange(n, dtype=np.int64)
    width = -(-n // buckets)  # ceil: every bucket but the last holds `width` points
    rows = -(-n // width)
    padded = np.full(rows * width, np.nan)
    padded[:n] = y
    grid = padded.reshape(rows, width)
    missing = np.isnan(grid)
    starts = np.arange(rows, dtype=np.int64) * width
    lowest = starts + np.argmin(np.where(missing, np.inf, grid), axis=1)
    highest = starts + np.argmax(np.where(missing, -np.inf, grid), axis=1)
    gap_rows = missing.any(axis=1)
    gaps = (starts + np.argmax(missing, axis=1))[gap_rows]
    keep = np.concatenate(([0, n - 1], lowest, highest, gaps))
    return np.unique(keep[keep < n])


def bucket_sums(values: np.ndarray, width: int) -> np.ndarray:
    """Sums of consecutive buckets of `width` values (NaN counted as 0): the volume of a
    bucket is the volume traded in its bars, so the total is kept."""
    y = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)
    rows = -(-y.size // width)
    padded = np.zeros(rows * width)
    padded[: y.size] = y
    return padded.reshape(rows, width).sum(axis=1)
