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
    """Rows ``[i0, i1)`` of a C-ordered array stored at a byte offset in a file.

    Reads with ``readinto`` rather than a memory map so that pages already processed are not
    held as resident memory: the peak RSS stays at one chunk whatever the cube size.
    """

    def __init__(self, path, offset, dtype, shape, member=None):
        self.path, self.offset, self.dtype, self.shape = path, offset, np.dtype(dtype), shape
        self.row_bytes = int(np.prod(shape[1:])) * self.dtype.itemsize
        self.member = member  # deflated npz member: streamed sequentially
        self._stream = None
        self._pos = 0

    def read(self, i0: int, i1: int) -> np.ndarray:
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
            row = i0 + got // self.row_bytes
            raise InputError(f"file is truncated: galaxy rows {row}..{i1 - 1} missing",
                             file=self.path, row=row, field="images",
                             expected=f"{self.shape[0]} complete stamps")
        return out

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
        raise InputError(f"not a readable .npy array ({exc})", file=file, row=0, field=field,
                         expected="a .npy array") from exc
    return shape, fortran, dtype


def open_npy(path: str) -> tuple[_RowReader, tuple]:
    if not os.path.exists(path):
        raise InputError("file not found", file=path, field="images", expected="a stamp cube")
    with open(path, "rb") as f:
        shape, fortran, dtype = _npy_header(f, path, "images")
        offset = f.tell()
    size = os.path.getsize(path)
    reader = _RowReader(path, offset, dtype, shape)
    _check_complete(path, shape, reader.row_bytes, size - offset, "images")
    if fortran:
        raise InputError("Fortran-ordered array", file=path, row=0, field="images",
                         expected="a C-ordered cube (np.save of a C-contiguous array)")
    return reader, shape


def _check_complete(path, shape, row_bytes, have, field):
    n = shape[0] if shape else 0
    if have < n * row_bytes:
        row = have // row_bytes
        raise InputError(f"file is truncated: it holds {row} complete stamps of the {n} its "
                         f"header declares; galaxy rows {row}..{n - 1} missing",
                         file=path, row=int(row), field=field, expected=f"{n} complete stamps")


def open_npz_member(path: str, key: str) -> tuple[_RowReader, tuple]:
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
        raise InputError("Fortran-ordered array", file=path, row=0, field=key,
                         expected="a C-ordered cube")
    row_bytes = int(np.prod(shape[1:])) * np.dtype(dtype).itemsize
    _check_complete(path, shape, row_bytes, info.file_size - header_len, key)
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
        if os.path.getsize(path) < offset + shape[0] * row_bytes:
            _check_complete(path, shape, row_bytes, os.path.getsize(path) - offset, key)
        return _RowReader(path, offset, dtype, shape), shape
    return _RowReader(path, None, dtype, shape, member=member), shape


class FitsReader:
    def __init__(self, path, hdu):
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
                             expected="a (N, C, H, W) or (N, H, W, C) cube") from None
        except Exception as exc:
            raise InputError(f"cannot read FITS ({type(exc).__name__}: {exc})", file=path,
                             field="images", expected="a readable FITS cube") from exc
        self.path = path

    def read(self, i0, i1):
        try:
            # .section reads only these rows from disk, unlike .data[i0:i1] on a scaled HDU.
            return np.asarray(self.hdu.section[i0:i1], dtype=np.float32)
        except Exception as exc:
            raise InputError(f"cannot read stamps ({type(exc).__name__}: {exc})",
                             file=self.path, row=i0, field="images",
                             expected="a complete FITS cube") from exc


def to_nchw(stamps: np.ndarray, axis_order: str) -> np.ndarray:
    if axis_order in ("NHWC", "HWC"):
        return np.moveaxis(stamps, -1, -3)
    return stamps


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
