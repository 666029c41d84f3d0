"""Stamp readers of the raw inputs: ``.npy`` files and ``.npz`` members read row by row
without loading the array, FITS cubes, and the axis order and crop/pad to the network's
stamp size."""

from __future__ import annotations

import os
import zipfile

import numpy as np

from photoz_debias.errors import InputError


NETWORK_SIZE = 64  # stamp side the networks take (pixels)


# Galaxies per cache-resident block: array passes over ~1 MB run about twice as fast as
# passes over a whole 80 MB chunk.
CACHE_BLOCK = 16


class _RowReader:
    """Galaxies ``[i0, i1)`` of a C-ordered array stored at a byte offset in a file, with
    the galaxy axis first in the returned block whatever its place in the file.

    Reads with ``readinto`` rather than a memory map so that pages already processed are not
    held as resident memory: the peak RSS stays at one chunk whatever the cube size.  When the
    galaxy axis is not the file's first (a band-first ``CNHW`` cube), a chunk is one
    contiguous run per index of the axes before it.
    """

    def __init__(self, path, offset, dtype, shape, member=None, n_axis=0):
        self.path, self.offset, self.dtype, self.shape = path, offset, np.dtype(dtype), shape
        self.n_axis = n_axis
        self.n = int(shape[n_axis])
        # bytes of one galaxy within one run, and the number of runs (axes before N)
        self.row_bytes = int(np.prod(shape[n_axis + 1:])) * self.dtype.itemsize
        self.n_runs = int(np.prod(shape[:n_axis]))
        if member is not None and n_axis != 0:
            raise InputError(
                f"a compressed (np.savez_compressed) cube whose galaxy axis is axis {n_axis}",
                file=path, field="images",
                expected="the galaxy axis N first, or the cube saved uncompressed (np.savez or "
                         "np.save), which can be read galaxy by galaxy in any axis order")
        self.member = member  # deflated npz member: streamed sequentially
        self._stream = None
        self._pos = 0

    def read(self, i0: int, i1: int) -> np.ndarray:
        if self.n_axis:
            runs = self.shape[:self.n_axis]
            out = np.empty(tuple(runs) + (i1 - i0,) + tuple(self.shape[self.n_axis + 1:]),
                           self.dtype)
            flat = out.reshape(self.n_runs, -1)
            with open(self.path, "rb") as f:
                for j in range(self.n_runs):
                    f.seek(self.offset + (j * self.n + i0) * self.row_bytes)
                    got = f.readinto(memoryview(flat[j].view(np.uint8)))
                    if got != flat[j].nbytes:
                        self._truncated(i0 + got // self.row_bytes, i1)
            return np.moveaxis(out, self.n_axis, 0)
        out = np.empty((i1 - i0,) + tuple(self.shape[1:]), self.dtype)
        buf = memoryview(out.reshape(-1).view(np.uint8))
        if self.member is None:
            with open(self.path, "rb") as f:
                f.seek(self.offset + i0 * self.row_bytes)
                got = f.readinto(buf)
        else:
            if self._stream is None or i0 < self._pos:
                self._open_member()
            self._skip((i0 - self._pos) * self.row_bytes)
            got = 0
            while got < len(buf):
                n = self._stream.readinto(buf[got:])
                if not n:
                    break
                got += n
            self._pos = i0 + got // self.row_bytes
        if got != len(buf):
            self._truncated(i0 + got // self.row_bytes, i1)
        return out

    def _truncated(self, row, i1):
        raise InputError(f"file is truncated: galaxy rows {row}..{i1 - 1} missing",
                         file=self.path, row=row, field="images",
                         expected=f"{self.n} complete stamps")

    def _open_member(self):
        if self._stream is not None:
            self._stream.close()
            self._zip.close()
        self._zip = zipfile.ZipFile(self.path)
        self._stream = self._zip.open(self.member)
        _npy_header(self._stream, self.path, "images")
        self._pos = 0

    def _skip(self, nbytes):
        while nbytes > 0:
            step = min(nbytes, 1 << 24)
            got = len(self._stream.read(step))
            if got == 0:
                break
            nbytes -= got


def _npy_header(f, file, field):
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f, max_header_size=1 << 20)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f, max_header_size=1 << 20)
    except Exception as exc:
        raise InputError(f"not a readable .npy array ({exc})", file=file, field=field,
                         expected="a .npy array") from exc
    return shape, fortran, dtype


def open_npy(path: str, n_axis: int = 0) -> tuple[_RowReader, tuple]:
    """A row reader of the ``.npy`` cube at ``path`` whose galaxy axis is ``n_axis``, and the
    cube's shape in file order."""
    if not os.path.exists(path):
        raise InputError("file not found", file=path, field="images", expected="a stamp cube")
    with open(path, "rb") as f:
        shape, fortran, dtype = _npy_header(f, path, "images")
        offset = f.tell()
    size = os.path.getsize(path)
    if fortran:
        raise InputError("Fortran-ordered array", file=path, field="images",
                         expected="a C-ordered cube (np.save of a C-contiguous array)")
    _check_dims(path, shape, n_axis, "images")
    _check_complete(path, shape, np.dtype(dtype).itemsize, size - offset, "images", n_axis)
    return _RowReader(path, offset, dtype, shape, n_axis=n_axis), shape


def _check_dims(path, shape, n_axis, field):
    if len(shape) != 4:
        raise InputError(f"cube of shape {shape}", file=path, field=field,
                         expected="a 4-D cube (galaxies, bands, height, width in any order)")


def _check_complete(path, shape, itemsize, have, field, n_axis=0):
    """Refuse a cube shorter than its header declares, naming the first incomplete galaxy."""
    n = shape[n_axis] if shape else 0
    row_bytes = int(np.prod(shape[n_axis + 1:])) * itemsize
    n_runs = int(np.prod(shape[:n_axis]))
    if have >= n * row_bytes * n_runs:
        return
    if n_runs == 1:
        row = have // row_bytes
        raise InputError(f"file is truncated: it holds {row} complete stamps of the {n} its "
                         f"header declares; galaxy rows {row}..{n - 1} missing",
                         file=path, row=int(row), field=field, expected=f"{n} complete stamps")
    run, row = divmod(have // row_bytes, n)
    if run < n_runs - 1:
        # a later run (a band, the galaxy axis coming after it) is missing for every galaxy
        row = 0
    raise InputError(f"file is truncated: it holds {have} of the {n * row_bytes * n_runs} "
                     f"data bytes its header declares; galaxy rows {row}..{n - 1} incomplete",
                     file=path, row=int(row), field=field, expected=f"{n} complete stamps")


def open_npz_member(path: str, key: str, n_axis: int = 0) -> tuple[_RowReader, tuple]:
    """A row reader of the member ``key`` of an ``.npz`` archive (galaxy axis ``n_axis``)
    and the member's shape in file order."""
    member = key + ".npy"
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise InputError("file not found", file=path, field=key, expected="an .npz archive")
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"corrupt or truncated .npz ({exc}); no galaxy can be read", file=path,
                         field=key, expected="a complete .npz archive (np.savez)") from exc
    with zf:
        if member not in zf.namelist():
            raise InputError(f"no member {member!r} (members: {zf.namelist()})", file=path,
                             field=key, expected=f"an array saved as {key}=...")
        info = zf.getinfo(member)
        with zf.open(member) as m:
            shape, fortran, dtype = _npy_header(m, path, key)
            header_len = m.tell()
    if fortran:
        raise InputError("Fortran-ordered array", file=path, field=key,
                         expected="a C-ordered cube")
    _check_dims(path, shape, n_axis, key)
    itemsize = np.dtype(dtype).itemsize
    _check_complete(path, shape, itemsize, info.file_size - header_len, key, n_axis)
    if info.compress_type == zipfile.ZIP_STORED:
        # The local header's extra field can differ from the central directory's (zip64), so
        # the data offset is read from the local header itself.
        with open(path, "rb") as f:
            f.seek(info.header_offset)
            local = f.read(30)
            if len(local) < 30 or local[:4] != b"PK\x03\x04":
                raise InputError("corrupt .npz member header", file=path, field=key,
                                 expected="a complete .npz archive")
            n_name = int.from_bytes(local[26:28], "little")
            n_extra = int.from_bytes(local[28:30], "little")
        offset = info.header_offset + 30 + n_name + n_extra + header_len
        _check_complete(path, shape, itemsize, os.path.getsize(path) - offset, key, n_axis)
        return _RowReader(path, offset, dtype, shape, n_axis=n_axis), shape
    return _RowReader(path, None, dtype, shape, member=member, n_axis=n_axis), shape


class FitsReader:
    """Galaxies ``[i0, i1)`` of a FITS cube, galaxy axis first (``n_axis``: its place in the
    cube's numpy shape, which is the reverse of the FITS NAXIS order)."""

    def __init__(self, path, hdu, n_axis=0):
        from astropy.io import fits

        if not os.path.exists(path):
            raise InputError("file not found", file=path, field="images",
                             expected="a FITS stamp cube")
        try:
            self.hdul = fits.open(path, memmap=True)
            if hdu is None:
                hdu = next(i for i, h in enumerate(self.hdul)
                           if h.header.get("NAXIS", 0) == 4)
            self.hdu = self.hdul[hdu]
            self.shape = tuple(self.hdu.shape)
        except StopIteration:
            raise InputError("no 4-D image HDU", file=path, field="images",
                             expected="a 4-D cube (galaxies, bands, height, width)") from None
        except Exception as exc:
            raise InputError(f"cannot read FITS ({type(exc).__name__}: {exc})", file=path,
                             field="images", expected="a readable FITS cube") from exc
        self.path, self.n_axis = path, n_axis
        _check_dims(path, self.shape, n_axis, "images")

    def read(self, i0, i1):
        sel = [slice(None)] * len(self.shape)
        sel[self.n_axis] = slice(i0, i1)
        try:
            # .section reads only these rows from disk, unlike .data[i0:i1] on a scaled HDU.
            block = np.asarray(self.hdu.section[tuple(sel)], dtype=np.float32)
        except Exception as exc:
            raise InputError(f"cannot read stamps ({type(exc).__name__}: {exc})",
                             file=self.path, row=i0, field="images",
                             expected="a complete FITS cube") from exc
        return np.moveaxis(block, self.n_axis, 0)


def check_axis_order(order, letters: str, file, field: str = "axis_order") -> str:
    """``order`` as a string, refused unless it is a permutation of ``letters`` (``NCHW``
    for a cube: galaxies, bands, height, width; ``CHW`` for one stamp)."""
    s = order if isinstance(order, str) else ""
    if sorted(s) != sorted(letters):
        raise InputError(f"axis_order {order!r}", file=file, field=field,
                         expected=f"the letters {', '.join(letters)} in the file's axis order, "
                                  f"each once (e.g. {letters}, "
                                  f"{letters.replace('C', '')}C or C{letters.replace('C', '')})")
    return s


def to_nchw(stamps: np.ndarray, axis_order: str) -> np.ndarray:
    """Stamps in the networks' order (N, C, H, W), or (C, H, W) for one stamp.

    ``axis_order`` names the axes of ``stamps``: a permutation of ``NCHW`` (or ``CHW``)."""
    target = "NCHW" if "N" in axis_order else "CHW"
    return np.transpose(stamps, [axis_order.index(a) for a in target])


def padding_fraction(size: int, network_size: int = NETWORK_SIZE) -> float:
    """Fraction of a network input that is zero padding around a ``size``-pixel square
    stamp (0 when the stamp is cropped or already the network's size)."""
    inner = min(int(size), network_size)
    return 1.0 - (inner / network_size) ** 2


def crop_pad(images: np.ndarray, size: int = NETWORK_SIZE) -> np.ndarray:
    """Centre crop or zero-pad the last two axes to ``size`` pixels."""
    h, w = images.shape[-2:]
    if (h, w) == (size, size):
        return images
    out = np.zeros(images.shape[:-2] + (size, size), images.dtype)
    # Crop and pad offsets so that the stamp centre stays at pixel (size // 2, size // 2).
    sy, dy = max(0, (h - size) // 2), max(0, (size - h) // 2)
    sx, dx = max(0, (w - size) // 2), max(0, (size - w) // 2)
    ny, nx = min(h, size), min(w, size)
    out[..., dy:dy + ny, dx:dx + nx] = images[..., sy:sy + ny, sx:sx + nx]
    return out
