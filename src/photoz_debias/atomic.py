"""Atomic file writes: nothing half-written ever sits under a final name.

Every writer in the package (HDF5, Parquet, checkpoints, figures, raw survey files) writes to
a temporary file in the destination folder and renames it onto the final name only when the
write finished; a crash, a kill or an exception leaves the old file (or none) and removes the
temporary one.  Snakemake then sees the job as incomplete and reruns it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; move it onto ``path`` only on success.

    The temporary file is unique (``tempfile.mkstemp`` in the same folder, so two writers
    never collide and the final ``os.replace`` is atomic) and already exists, empty; writers
    open it in write mode.  It gets the usual permissions (``0o666`` less the umask, not
    mkstemp's 0600) before the rename.  On any exception it is removed and the exception
    propagates.  After a successful rename, the temporary files that earlier writers of the
    same path left behind (a process killed with SIGKILL cannot remove its own) are removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
        remove_stale_temporaries(path)
    finally:
        if tmp.exists():
            tmp.unlink()


def remove_stale_temporaries(path) -> list[Path]:
    """Remove the temporary files :func:`atomic_path` made for ``path`` that are still there.

    Called once ``path`` has been written, when no writer of it can be running (a workflow
    output has one job); returns the removed files.
    """
    path = Path(path)
    stale = [p for p in path.parent.glob(f".{path.name}.*.tmp") if p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale
