"""Densities as qp ensembles, the PDF format of LSST DESC's RAIL.

Every densities file (``densities.h5``: one group per method with its bin probabilities ``p``
and bin ``edges``) is also written as one qp file per method: a ``hist`` ensemble on our bin
edges, with the galaxy ``id`` and the point estimates ``zmode``, ``zmean`` and ``zmedian``
(Appendix B, :func:`photoz_debias.debias.estimates.point_estimates`) as ancillary columns.
RAIL's evaluation stages then read our PDFs as they are (``qp.read``).  qp stores a ``hist``
PDF as a density per unit redshift: ``p_j / (sum_k p_k) / width_j``.
"""

from __future__ import annotations

import os

import h5py
import numpy as np

from photoz_debias.atomic import atomic_path
from photoz_debias.debias.estimates import point_estimates
from photoz_debias.errors import InputError
from photoz_debias.io import read_ids

#: the ancillary columns of an exported ensemble besides ``id``
ANCILLARY_ESTIMATES = ("zmode", "zmean", "zmedian")


def densities_ensemble(p, edges, ids):
    """A qp ``hist`` ensemble of binned densities, with ``id`` and the point estimates.

    Parameters
    ----------
    p : (N, n) non-negative bin probabilities (any normalisation).
    edges : (n + 1,) increasing bin edges (redshift).
    ids : (N,) galaxy identifiers (integers, or text stored as UTF-8 bytes).

    Returns
    -------
    qp.Ensemble
    """
    import qp

    p = np.asarray(p)
    e = np.asarray(edges, dtype=np.float64)
    ids = np.asarray(ids)
    if p.ndim != 2 or e.shape != (p.shape[1] + 1,) or not np.all(np.diff(e) > 0):
        raise InputError(
            f"densities of shape {p.shape} with edges of shape {e.shape}",
            field="edges",
            expected="(N, n) densities and (n + 1,) increasing edges",
        )
    if ids.shape != (p.shape[0],):
        raise InputError(
            f"shape {ids.shape}", field="id", expected=f"({p.shape[0]},) galaxy identifiers"
        )
    if ids.dtype.kind in "OU":
        # text ids as fixed-width UTF-8 bytes: qp's HDF5 writer (tables_io) drops a column of
        # Python strings with a warning; qp.read gives them back as text
        ids = np.char.encode(ids.astype(str), "utf-8")
    est = point_estimates(p, 0.5 * (e[1:] + e[:-1]))
    ancil = {"id": ids, **{k: est[k] for k in ANCILLARY_ESTIMATES}}
    return qp.Ensemble(qp.hist, data=dict(bins=e, pdfs=p.astype(np.float64)), ancil=ancil)


def write_qp(ensemble, path) -> None:
    """Write a qp ensemble to ``path`` (``.hdf5``) atomically.

    qp picks the format by the file's suffix, so it writes to the temporary name with the
    suffix appended, which is then moved onto the final name.
    """
    suffix = os.path.splitext(os.fspath(path))[1]
    with atomic_path(path) as tmp:
        named = f"{tmp}{suffix}"
        try:
            ensemble.write_to(named)
            os.replace(named, tmp)
        finally:
            if os.path.exists(named):
                os.unlink(named)


def export_densities(densities_h5, paths) -> None:
    """Write each method group of a ``densities.h5`` as a qp file.

    Parameters
    ----------
    densities_h5 : the ensemble rule's densities file (``id``; per method ``p`` and ``edges``).
    paths : method -> destination ``.hdf5``; each method must be a group of the file.
    """
    with h5py.File(densities_h5, "r") as f:
        missing = [m for m in paths if m not in f]
        if missing:
            raise InputError(
                f"methods {missing} not in the file", file=os.fspath(densities_h5),
                field="method", expected=f"groups among {sorted(k for k in f if k != 'id')}",
            )
        ids = read_ids(f["id"])
        for m, path in paths.items():
            write_qp(densities_ensemble(f[m]["p"][:], f[m]["edges"][:], ids), path)
