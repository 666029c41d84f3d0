"""Appendix C of Lin et al. 2022: the residuals that Eq. 8's Gaussian scattering model
expects of a balanced subset (Eq. C.1), which Fig. C.1 and ``diagnose scattering`` hold
against Step 2's actual residuals.

The expected residual of a galaxy is ``(z_bar - z0) / (1 + z0)``, where ``z_bar`` is the mean
of its skewed scattering profile as in Eq. 8: ``N(z0, k sigma2^2(z0|r_o))`` times the
subset's z_spec density of magnitude output ``r_o`` (zero outside the original range).
Appendix C replaces Eq. 7's variance by the quadratic error curve ``sigma2^2`` of Eq. 6
alone and rescales it by factors ``k``.  A galaxy in an odd row feeds two outputs; its
expected residual is the mean of the two.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from photoz_debias.errors import InputError
from photoz_debias.errors import require_columns
from photoz_debias.grid import RedshiftGrid, activated_outputs


def output_density(z_spec: np.ndarray, mag_row: np.ndarray, k: int, grid: RedshiftGrid) -> np.ndarray:
    """Normalised z_spec histogram (sum 1) over ``grid`` of the galaxies feeding output ``k``."""
    lo, hi = activated_outputs(mag_row)
    sel = (lo == k) | (hi == k)
    h = np.bincount(grid.bin_index(z_spec[sel]), minlength=grid.n_bins).astype(float)
    return h / h.sum() if h.sum() > 0 else h



def expected_residuals(
    z0: np.ndarray,
    mag_row: np.ndarray,
    error_curves: pd.DataFrame,
    grid: RedshiftGrid,
    n_extend: tuple[int, int],
    k: float = 1.0,
    density_z: np.ndarray | None = None,
    density_rows: np.ndarray | None = None,
    chunk: int = 2048,
) -> np.ndarray:
    """Expected residual ``(z_bar - z0) / (1 + z0)`` per galaxy (Eq. C.1 with Eq. 8's z_bar).

    Parameters
    ----------
    z0 : (N,) spectroscopic redshifts of the galaxies (continuous values).
    mag_row : (N,) magnitude rows; row ``r`` feeds outputs ``r // 2`` and ``(r + 1) // 2``.
    error_curves : ``output``, ``z_centre``, ``sigma2_sq`` (Eq. 6, redshift^2), one row per
        (output, z bin) on the original grid; interpolated linearly at ``z0``.
    grid, n_extend : original redshift grid and Step 3 extension (bins left, right).
    k : rescaling factor of ``sigma2^2`` (Appendix C).
    density_z, density_rows : the sample whose z_spec density per output shapes the
        profile; default the galaxies themselves.
    chunk : galaxies per vectorised block (memory ~ chunk x extended bins x 8 bytes).

    Returns
    -------
    (N,) float array of expected dz (NaN where the profile has no support).
    """
    require_columns(error_curves, ["output", "z_centre", "sigma2_sq"], "error curves")
    if k <= 0:
        raise ValueError(f"rescaling factor k must be positive, got {k}")
    z0 = np.asarray(z0, float)
    rows = np.asarray(mag_row).astype(np.int64)
    dz_src = z0 if density_z is None else np.asarray(density_z, float)
    dr_src = rows if density_rows is None else np.asarray(density_rows).astype(np.int64)
    ext = grid.extend(*n_extend)
    zc = ext.centres
    lo, hi = activated_outputs(rows)
    out = np.zeros_like(z0)
    for o in np.unique(np.concatenate([lo, hi])):
        ec = error_curves[error_curves["output"] == o].sort_values("z_centre")
        if ec.empty:
            raise InputError(f"no error curve for magnitude output {o}", field="output",
                             expected="one error curve per output that the galaxies activate")
        dens = np.zeros(ext.n_bins)
        dens[n_extend[0]:n_extend[0] + grid.n_bins] = output_density(dz_src, dr_src, int(o), grid)
        for arr in (lo, hi):
            idx = np.flatnonzero(arr == o)
            var = k * np.interp(z0[idx], ec["z_centre"].to_numpy(float), ec["sigma2_sq"].to_numpy(float))
            var = np.maximum(var, (0.05 * ext.width) ** 2)  # a zero error curve means a delta profile
            for s in range(0, idx.size, chunk):
                sl = slice(s, s + chunk)
                w = np.exp(-0.5 * (zc[None, :] - z0[idx][sl, None]) ** 2 / var[sl, None]) * dens[None, :]
                norm = w.sum(axis=1)
                with np.errstate(invalid="ignore", divide="ignore"):
                    zbar = (w @ zc) / norm
                out[idx[sl]] += 0.5 * (zbar - z0[idx][sl]) / (1.0 + z0[idx][sl])
    return out
