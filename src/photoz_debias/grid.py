"""The (z_spec, magnitude row) grid of Lin et al. 2022 (Table 1, Fig. 3).

The input space is divided into ``n`` redshift bins and ``2m - 1`` magnitude rows of
0.5 mag.  The multi-channel output unit has ``m`` magnitude outputs; output ``k`` covers
rows ``max(0, 2k - 1) .. 2k + 1`` (interlacing), so an even row ``2k`` activates output
``k`` alone and an odd row ``2k + 1`` activates outputs ``k`` and ``k + 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RedshiftGrid:
    """``n_bins`` equal redshift bins over ``[z_min, z_max]`` (Table 1).

    Point estimates use bin centres.  ``extend`` appends bins of the same width on both
    sides, as Step 3 does (Table 1, "Appended Bins").
    """

    z_min: float
    z_max: float
    n_bins: int

    @property
    def width(self) -> float:
        return (self.z_max - self.z_min) / self.n_bins

    @property
    def edges(self) -> np.ndarray:
        return self.z_min + self.width * np.arange(self.n_bins + 1)

    @property
    def centres(self) -> np.ndarray:
        return self.z_min + self.width * (np.arange(self.n_bins) + 0.5)

    def position(self, z: np.ndarray) -> np.ndarray:
        """Continuous position of ``z`` in bin units (bin ``j`` spans ``[j, j + 1)``)."""
        return (np.asarray(z, dtype=np.float64) - self.z_min) / self.width

    def bin_index(self, z: np.ndarray) -> np.ndarray:
        """Index of the bin holding ``z``, clipped to ``[0, n_bins - 1]``."""
        idx = np.floor(self.position(z)).astype(np.int64)
        return np.clip(idx, 0, self.n_bins - 1)

    def aligned_width(self, width: float) -> float:
        """``width`` rounded to a whole number (>= 1) of this grid's bins (halves round up).

        Point estimates such as zmode take only the grid's centres.  A histogram of them on
        bins that are not whole multiples of the grid width holds alternately more and fewer
        centres per bin (0.01 on the 0.4/180 grid: 4 or 5), which stripes every grid-valued
        n(z) by ~11% and inflates Eq. 10's D_TV even for a sample without mode collapse.
        """
        if not width > 0:
            raise ValueError(f"histogram bin width must be > 0, got {width}")
        return self.width * max(1, int(np.floor(width / self.width + 0.5)))

    def aligned_edges(self, width: float, lo: float, hi: float) -> np.ndarray:
        """Histogram edges of :meth:`aligned_width` that lie on this grid's bin edges (the grid
        continued beyond its range) and cover ``[lo, hi]``: every bin holds the same number
        of grid centres."""
        w = self.aligned_width(width)
        k0 = int(np.floor((lo - self.z_min) / w + 1e-9))
        k1 = int(np.ceil((hi - self.z_min) / w - 1e-9))
        return self.z_min + w * np.arange(k0, max(k1, k0 + 1) + 1)

    @classmethod
    def from_config(cls, grid: dict) -> "RedshiftGrid":
        """The output grid of Table 1 from a dataset's ``grid`` config block (``z_min``,
        ``z_max``, ``n_bins``; other keys, such as the Step 3 extension, are ignored)."""
        return cls(float(grid["z_min"]), float(grid["z_max"]), int(grid["n_bins"]))

    def extend(self, n_left: int, n_right: int) -> "RedshiftGrid":
        """The Step 3 grid: ``n_left``/``n_right`` bins of the same width appended."""
        w = self.width
        return RedshiftGrid(
            z_min=self.z_min - n_left * w,
            z_max=self.z_max + n_right * w,
            n_bins=self.n_bins + n_left + n_right,
        )


def grids_from_config(grid: dict) -> tuple[RedshiftGrid, RedshiftGrid]:
    """The output grid and Step 3's extended grid (Table 1) from a dataset's ``grid`` config
    block (``z_min``, ``z_max``, ``n_bins``, ``extend_left``, ``extend_right``)."""
    g = RedshiftGrid.from_config(grid)
    return g, g.extend(grid["extend_left"], grid["extend_right"])


@dataclass(frozen=True)
class MagnitudeRows:
    """``n_rows = 2m - 1`` magnitude rows of ``row_width`` mag starting at ``r_min``."""

    r_min: float
    n_rows: int
    row_width: float = 0.5

    def __post_init__(self):
        if self.n_rows < 1 or self.n_rows % 2 == 0:
            raise ValueError(
                f"n_rows must be odd (2m - 1 rows for m magnitude outputs), got {self.n_rows}"
            )

    @property
    def n_outputs(self) -> int:
        """``m``, the number of magnitude outputs (and of redshift heads)."""
        return (self.n_rows + 1) // 2

    @property
    def edges(self) -> np.ndarray:
        return self.r_min + self.row_width * np.arange(self.n_rows + 1)

    def row_index(self, r: np.ndarray) -> np.ndarray:
        """Row of each magnitude; galaxies outside the grid go to the first/last row."""
        r = np.asarray(r, dtype=np.float64)
        idx = np.floor((r - self.r_min) / self.row_width).astype(np.int64)
        return np.clip(idx, 0, self.n_rows - 1)


def activated_outputs(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The magnitude outputs a row activates (Fig. 3): ``(k, k)`` for row ``2k``,
    ``(k, k + 1)`` for row ``2k + 1``.  Returns the two index arrays ``(lo, hi)``."""
    rows = np.asarray(rows, dtype=np.int64)
    lo = rows // 2
    hi = (rows + 1) // 2
    return lo, hi


def output_rows(k: int, n_rows: int) -> list[int]:
    """Rows covered by magnitude output ``k``: ``max(0, 2k - 1) .. min(2k + 1, n_rows - 1)``."""
    return list(range(max(0, 2 * k - 1), min(2 * k + 1, n_rows - 1) + 1))


def magnitude_labels(rows: np.ndarray, n_outputs: int) -> np.ndarray:
    """Magnitude-output labels: one-hot for even rows, (1/2, 1/2) for odd rows."""
    lo, hi = activated_outputs(rows)
    y = np.zeros((len(lo), n_outputs), dtype=np.float32)
    np.add.at(y, (np.arange(len(lo)), lo), 0.5)
    np.add.at(y, (np.arange(len(hi)), hi), 0.5)
    return y
